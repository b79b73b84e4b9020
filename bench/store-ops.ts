/**
 * Store operations measured in-process, where the protocol would hide them: a reaper pass over a
 * million live sessions, forking a huge session beside an empty one, listing past many archived
 * sessions, and truncating the last message of a huge session beside a short one. Each runs against a SessionStore the caller opens, so every backend gets the same figures.
 */
import { performance } from "node:perf_hooks";
import { DEFAULT_RETENTION, type SessionStore, type StoredMessage } from "../src/store/types.js";

export type Row = { name: string; value: string };

const NOW = Date.UTC(2026, 0, 1);
let ids = 0;
const newId = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, "0")}`;
const session = () => ({
  sessionId: newId(),
  cwd: "/bench",
  title: null,
  clientCapabilities: null,
  mcpServers: [],
  additionalDirectories: [],
  retention: DEFAULT_RETENTION,
});
const message = (i: number): StoredMessage => {
  const messageId = `m${i}`;
  const json = JSON.stringify({ messageId, role: "user", content: `message ${i}`, timestamp: new Date(NOW).toISOString() });
  return { messageId, role: "user", json };
};

/** Average time of `runs` calls, in microseconds. */
async function timeEach(runs: number, f: (i: number) => unknown): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < runs; i++) await f(i);
  return ((performance.now() - start) * 1000) / runs;
}

const heapMiB = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

export async function reaperPass(store: SessionStore, sessions: number): Promise<Row[]> {
  for (let i = 0; i < sessions; i += 1000) {
    const batch: Promise<unknown>[] = [];
    for (let k = 0; k < 1000 && i + k < sessions; k++) batch.push(Promise.resolve(store.create(session(), NOW)));
    await Promise.all(batch);
  }
  const perPass = await timeEach(1000, () => store.expireDue(NOW + 1000, 1000));
  return [{ name: `reaper pass, ${sessions.toLocaleString("en")} live sessions, none due`, value: `${perPass.toFixed(2)} µs` }];
}

export async function forkCost(store: SessionStore, messages: number, forks: number): Promise<Row[]> {
  const big = (await store.create(session(), NOW)).sessionId;
  for (let i = 0; i < messages; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, messages - i) }, (_, k) => message(i + k));
    await store.update({ sessionId: big, messages: batch, changes: {} }, NOW);
  }
  const empty = (await store.create(session(), NOW)).sessionId;
  const fork = (parent: string) =>
    store.fork({ parentSessionId: parent, sessionId: newId(), cwd: "/bench", mcpServers: [], title: undefined }, NOW);
  for (let i = 0; i < 20; i++) await Promise.all([fork(big), fork(empty)]); // warm up both paths alike
  const footprintBefore = await store.footprint();
  // Taken in turn, best of three, so warm-up and collector noise fall on both alike.
  let bigTime = Infinity;
  let emptyTime = Infinity;
  let heapBig = 0;
  let heapEmpty = 0;
  for (let round = 0; round < 3; round++) {
    const start = heapMiB();
    bigTime = Math.min(bigTime, await timeEach(forks, () => fork(big)));
    const middle = heapMiB();
    emptyTime = Math.min(emptyTime, await timeEach(forks, () => fork(empty)));
    heapBig += middle - start;
    heapEmpty += heapMiB() - middle;
  }
  const footprintAfter = await store.footprint();
  const grown = Object.entries(footprintAfter)
    .map(([kind, n]) => `${kind} +${n - (footprintBefore[kind] ?? 0)}`)
    .join(", ");
  return [
    { name: `fork of a ${messages.toLocaleString("en")}-message session`, value: `${bigTime.toFixed(1)} µs` },
    { name: "fork of an empty session", value: `${emptyTime.toFixed(1)} µs` },
    { name: `heap added by ${forks} forks of the big session`, value: `${(heapBig / 3).toFixed(2)} MiB` },
    { name: `heap added by ${forks} forks of the empty one`, value: `${(heapEmpty / 3).toFixed(2)} MiB` },
    { name: `what the store holds more after ${forks * 6} forks`, value: grown },
  ];
}

export async function listPastArchived(store: SessionStore, archived: number): Promise<Row[]> {
  for (let i = 0; i < archived; i += 1000) {
    const batch = [];
    for (let k = 0; k < 1000 && i + k < archived; k++) {
      batch.push(Promise.resolve(store.create(session(), NOW)).then((s) => store.setArchived(s.sessionId, true, NOW)));
    }
    await Promise.all(batch);
  }
  for (let i = 0; i < 100; i++) await store.create(session(), NOW);
  // The active sessions are the newest here; also list from below all of them, where only archived ones lie.
  const newest = await timeEach(1000, () => store.list({ limit: 100 }));
  const all = await timeEach(100, () => store.list({ limit: 100, archived: "include" }));
  return [
    { name: `session/list (100 active) with ${archived.toLocaleString("en")} archived present`, value: `${newest.toFixed(1)} µs` },
    { name: `session/list archived=include, first 100 of ${(archived + 100).toLocaleString("en")}`, value: `${all.toFixed(1)} µs` },
  ];
}

/**
 * Truncating the last message of a long session and of a short one. Each step appends one message (not
 * timed) and truncates from it (timed), so both sessions keep their length. The median step of a round,
 * since collections the untimed appends start may land in any timed step; the two sessions are taken in
 * turn, best of three rounds, so that noise falls on both alike.
 */
export async function truncateCost(store: SessionStore, long: number, short: number, steps: number): Promise<Row[]> {
  const build = async (messages: number) => {
    const { sessionId } = await store.create(session(), NOW);
    for (let i = 0; i < messages; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, messages - i) }, (_, k) => message(i + k));
      await store.update({ sessionId, messages: batch, changes: {} }, NOW);
    }
    return sessionId;
  };
  const big = await build(long);
  const small = await build(short);
  // The dropped id is forgotten, so the same one is appended again at every step.
  const last = { messageId: "last", role: "user" as const, json: JSON.stringify({ messageId: "last", role: "user", content: "x" }) };
  const truncateLast = async (sessionId: string, count: number): Promise<number> => {
    const micros = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      await store.update({ sessionId, messages: [last], changes: {} }, NOW);
      const start = performance.now();
      const { removed } = await store.truncate({ sessionId, fromMessageId: "last" }, NOW);
      micros[i] = (performance.now() - start) * 1000;
      if (removed !== 1) throw new Error(`truncate removed ${removed} messages, not 1`);
    }
    return micros.sort()[count >> 1]!;
  };
  await truncateLast(big, 50);
  await truncateLast(small, 50);
  let bigTime = Infinity;
  let smallTime = Infinity;
  for (let round = 0; round < 3; round++) {
    bigTime = Math.min(bigTime, await truncateLast(big, steps));
    smallTime = Math.min(smallTime, await truncateLast(small, steps));
  }
  const count = (await store.get(big, { limit: 0 }, NOW)).session.messageCount;
  if (count !== long) throw new Error(`the long session holds ${count} messages, not ${long}`);
  return [
    { name: `truncate the last message of a ${long.toLocaleString("en")}-message session (median)`, value: `${bigTime.toFixed(2)} µs` },
    { name: `truncate the last message of a ${short.toLocaleString("en")}-message session (median)`, value: `${smallTime.toFixed(2)} µs` },
    { name: "  the long one against the short one", value: `${(bigTime / smallTime).toFixed(2)}×` },
  ];
}
