/**
 * Live observers (session/subscribe) over pipes to the built bin, on SQLite and on a local Redis:
 *
 * - cross-sidecar latency: one sidecar appends, one message at a time; another has subscribed; the
 *   time from the append's answer to the other's session/changed (p50, p95, max);
 * - update throughput with no subscription anywhere, paired round by round with a build without
 *   subscriptions when ACP_SESSIONS_BASELINE_BIN names its bin (bin/acp-sessions.js of that build);
 * - one sidecar with 1,000 subscriptions while two others append to those sessions: every change
 *   heard, how fast, and how far behind the last one came.
 *
 * Prints nothing itself.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RedisServer } from "../test/helpers/redis-server.js";
import { num, rpc, type Row } from "./store-workload.js";

const BIN = fileURLToPath(new URL("../../bin/acp-sessions.js", import.meta.url));
const LATENCY_SAMPLES = 300;
const UPDATE_REQUESTS = 50_000;
const ROUNDS = 3;
const SUBSCRIPTIONS = 1000;
const SCALE_ROUNDS = 5;

/** A sidecar whose answers and notifications are parsed as they arrive, each stamped with the time it did. */
class Peer {
  private readonly child: ChildProcessWithoutNullStreams;
  private rest = "";
  private nextId = 1;
  private readonly pending = new Map<number, (result: any) => void>();
  /** Told of each session/changed with its arrival time. */
  onChanged: (params: any, at: number) => void = () => {};
  answered = 0;

  constructor(args: string[], bin = BIN) {
    this.child = spawn(process.execPath, [bin, ...args, "--log-level", "error"]);
    this.child.stderr.pipe(process.stderr);
    this.child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      const at = performance.now();
      const lines = (this.rest + chunk).split("\n");
      this.rest = lines.pop()!;
      for (const line of lines) {
        const message = JSON.parse(line);
        if (message.method === "session/changed") this.onChanged(message.params, at);
        else if ("id" in message) this.answer(message, at);
      }
    });
  }

  private answer(message: any, at: number): void {
    this.answered++;
    const resolve = this.pending.get(message.id);
    if (!resolve) return;
    this.pending.delete(message.id);
    if (message.error) throw new Error(`bench: ${JSON.stringify(message.error)}`);
    resolve({ result: message.result, at });
  }

  /** One request; resolves with its result and when its answer arrived. */
  ask(method: string, params: unknown): Promise<{ result: any; at: number }> {
    const id = this.nextId++;
    const done = new Promise<{ result: any; at: number }>((resolve) => this.pending.set(id, resolve));
    this.child.stdin.write(rpc(id, method, params));
    return done;
  }

  /** Many requests written at once; resolves once each is answered, with each result and when it arrived. */
  async pipeline(requests: [string, unknown][]): Promise<{ result: any; at: number }[]> {
    const answers: Promise<{ result: any; at: number }>[] = [];
    let text = "";
    for (const [method, params] of requests) {
      const id = this.nextId++;
      answers.push(new Promise((resolve) => this.pending.set(id, resolve)));
      text += rpc(id, method, params);
    }
    if (!this.child.stdin.write(text)) await once(this.child.stdin, "drain");
    return Promise.all(answers);
  }

  async close(): Promise<void> {
    const exited = once(this.child, "exit");
    this.child.stdin.end();
    await exited;
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;
const message = (messageId: string) => ({ messageId, role: "user", content: `${messageId}: a short line` });

/** From an append's answer on one sidecar to the other's notification of it, one append at a time. */
async function latency(store: string, args: string[]): Promise<Row[]> {
  const writer = new Peer(args);
  const subscriber = new Peer(args);
  const { result } = await writer.ask("session/new", { cwd: "/bench" });
  const sessionId = result.sessionId as string;
  await subscriber.ask("session/subscribe", { sessionId });
  const heard = new Map<string, number>();
  subscriber.onChanged = (params, at) => {
    for (const m of params.change.messages ?? []) heard.set(m.messageId as string, at);
  };
  const samples: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const id = `l${i}`;
    const { at } = await writer.ask("session/update", { sessionId, messages: [message(id)] });
    while (!heard.has(id)) await new Promise((resolve) => setTimeout(resolve, 1));
    samples.push(Math.max(0, heard.get(id)! - at));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all([writer.close(), subscriber.close()]);
  samples.sort((a, b) => a - b);
  return [
    {
      name: `${store}: append on one sidecar → session/changed on another (${LATENCY_SAMPLES} appends)`,
      value: `p50 ${ms(percentile(samples, 50))}, p95 ${ms(percentile(samples, 95))}, max ${ms(samples.at(-1)!)}`,
    },
  ];
}

/** Pipelined one-message updates over 200 sessions, best of ROUNDS, paired round by round with the baseline build. */
async function unsubscribedThroughput(store: string, args: () => string[]): Promise<Row[]> {
  const baseline = process.env.ACP_SESSIONS_BASELINE_BIN;
  const rate = async (peer: Peer, targets: string[], round: number) => {
    const requests: [string, unknown][] = [];
    for (let i = 0; i < UPDATE_REQUESTS; i++) {
      requests.push(["session/update", { sessionId: targets[i % targets.length], messages: [message(`r${round}-${i}`)] }]);
    }
    const start = performance.now();
    await peer.pipeline(requests);
    return UPDATE_REQUESTS / ((performance.now() - start) / 1000);
  };
  const start = async (bin: string) => {
    const peer = new Peer(args(), bin);
    const created = await peer.pipeline(Array.from({ length: 200 }, () => ["session/new", { cwd: "/bench" }]));
    return { peer, targets: created.map((a) => a.result.sessionId as string) };
  };
  const feature = await start(BIN);
  const base = baseline ? await start(baseline) : undefined;
  let best = 0;
  let bestBase = 0;
  for (let round = 0; round < ROUNDS; round++) {
    best = Math.max(best, await rate(feature.peer, feature.targets, round));
    if (base) bestBase = Math.max(bestBase, await rate(base.peer, base.targets, round));
  }
  await Promise.all([feature.peer.close(), base?.peer.close()]);
  const rows = [{ name: `${store}: session/update, 1 message, pipelined, no subscription anywhere`, value: `${num(best)} msg/s` }];
  rows.push(
    base
      ? {
          name: `${store}: the same, build without subscriptions, same run`,
          value: `${num(bestBase)} msg/s (${(best / bestBase).toFixed(2)}×)`,
        }
      : { name: `${store}: build without subscriptions`, value: "not measured: set ACP_SESSIONS_BASELINE_BIN" },
  );
  return rows;
}

/** One sidecar subscribed to 1,000 sessions while two others append to each of them, round after round. */
async function manySubscriptions(store: string, args: string[]): Promise<Row[]> {
  const writers = [new Peer(args), new Peer(args)];
  const subscriber = new Peer(args);
  const created = await Promise.all(
    Array.from({ length: SUBSCRIPTIONS }, () =>
      writers[0]!.ask("session/new", { cwd: "/bench" }).then((r) => r.result.sessionId as string),
    ),
  );
  const subscribed = performance.now();
  await subscriber.pipeline(created.map((sessionId) => ["session/subscribe", { sessionId }]));
  const subscribeMs = performance.now() - subscribed;
  const heardAt = new Map<string, number>();
  subscriber.onChanged = (params, at) => {
    for (const m of params.change.messages ?? []) heardAt.set(m.messageId as string, at);
  };
  const answeredAt = new Map<string, number>();
  const started = performance.now();
  await Promise.all(
    writers.map(async (writer, w) => {
      for (let round = 0; round < SCALE_ROUNDS; round++) {
        const ids = created.map((_, i) => `w${w}-r${round}-${i}`);
        const answers = await writer.pipeline(
          created.map((sessionId, i) => ["session/update", { sessionId, messages: [message(ids[i]!)] }]),
        );
        ids.forEach((id, i) => answeredAt.set(id, answers[i]!.at));
      }
    }),
  );
  const written = performance.now();
  const expected = writers.length * SCALE_ROUNDS * SUBSCRIPTIONS;
  const deadline = Date.now() + 120_000;
  while (heardAt.size < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  const lastHeard = Math.max(...heardAt.values());
  const delays = [...answeredAt].map(([id, at]) => Math.max(0, (heardAt.get(id) ?? Infinity) - at)).sort((a, b) => a - b);
  await Promise.all([...writers, subscriber].map((p) => p.close()));
  return [
    { name: `${store}: ${num(SUBSCRIPTIONS)} subscriptions made, pipelined`, value: ms(subscribeMs) },
    {
      name: `${store}: ${num(expected)} appends by 2 sidecars, pipelined, to those sessions`,
      value: `${num(expected / ((written - started) / 1000))} msg/s written`,
    },
    { name: `${store}: changes heard by the subscribed sidecar`, value: `${num(heardAt.size)} of ${num(expected)}` },
    {
      name: `${store}: append answered → heard, per append`,
      value: `p50 ${ms(percentile(delays, 50))}, p95 ${ms(percentile(delays, 95))}`,
    },
    { name: `${store}: last change heard after the last answer`, value: ms(Math.max(0, lastHeard - written)) },
  ];
}

export async function benchObservers(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "acp-bench-observers-"));
  let files = 0;
  const sqlite = () => ["--store", `sqlite:${join(dir, `o${++files}.db`)}`];
  const rows: Row[] = [];
  try {
    rows.push(...(await latency("sqlite", sqlite())));
    rows.push(...(await unsubscribedThroughput("sqlite", sqlite)));
    rows.push(...(await manySubscriptions("sqlite", sqlite())));
    if (spawnSync("redis-server", ["--version"]).status !== 0) {
      rows.push({ name: "redis", value: "not measured: no redis-server on PATH" });
      return rows;
    }
    const server = await RedisServer.start();
    let prefixes = 0;
    const redis = () => ["--store", server.url, "--redis-prefix", `bench-observers-${++prefixes}:`];
    try {
      rows.push(...(await latency("redis", redis())));
      rows.push(...(await unsubscribedThroughput("redis", redis)));
      rows.push(...(await manySubscriptions("redis", redis())));
    } finally {
      await server.stop();
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
