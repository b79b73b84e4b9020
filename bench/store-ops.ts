/**
 * Store operations measured in-process, where the protocol would hide them: a reaper pass over a
 * million live sessions, forking a huge session beside an empty one, and listing past many archived
 * sessions. Each runs against a SessionStore the caller opens, so every backend gets the same figures.
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
