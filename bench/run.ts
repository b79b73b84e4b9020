/**
 * The benchmark: `npm run bench` (tsc, then node dist/bench/run.js). Everything goes over real
 * pipes to spawned processes, as a client sees it:
 *
 * - pipelined session/get (a session of 10 short messages) and session/update (one message each)
 *   throughput, beside a bare NDJSON echo loop fed the same lines in the same run;
 * - resident memory per idle session, with 100,000 sessions;
 * - session/load replay of a 100,000-message session: messages/s and the sidecar's peak RSS;
 * - session/load of that session's last 100 messages against a full load of 100, each store (tail-replay.ts).
 * - live observers across sidecars (observers.ts).
 *
 * The client pre-encodes every request and only counts response lines (it never parses them in the
 * timed part), so it is not the bottleneck. Throughput is the best of a few rounds, taken in turn.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { MemoryStore } from "../src/store/memory/store.js";
import { benchObservers } from "./observers.js";
import { benchRedis } from "./redis.js";
import { benchSqlite } from "./sqlite.js";
import { forkCost, listPastArchived, reaperPass, truncateCost } from "./store-ops.js";
import { benchTailReplay } from "./tail-replay.js";

const BIN = fileURLToPath(new URL("../../bin/acp-sessions.js", import.meta.url));
const REQUESTS = 200_000;
const ROUNDS = 3;
const IDLE_SESSIONS = 100_000;
const REPLAY_MESSAGES = 100_000;
const UPDATE_SESSIONS = 200;

/** The baseline: split lines, JSON.parse each request, answer `{}`, one write per input chunk. */
const ECHO_LOOP = `
let rest = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  const lines = (rest + chunk).split("\\n");
  rest = lines.pop();
  let out = "";
  for (const line of lines) {
    if (line.length === 0) continue;
    const request = JSON.parse(line);
    out += '{"jsonrpc":"2.0","id":' + JSON.stringify(request.id) + ',"result":{}}\\n';
  }
  if (out.length > 0) process.stdout.write(out);
});
`;

/**
 * The same loop answering a pre-encoded result of the sidecar's own answer size (RESULT): the
 * transport's ceiling for that many bytes per answer, answers assembled as bytes.
 */
const SIZED_LOOP = `
const result = Buffer.from(process.env.RESULT);
const head = Buffer.from('{"jsonrpc":"2.0","id":');
const mid = Buffer.from(',"result":');
const tail = Buffer.from("}\\n");
let rest = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  const lines = (rest + chunk).split("\\n");
  rest = lines.pop();
  const out = [];
  for (const line of lines) {
    if (line.length === 0) continue;
    const request = JSON.parse(line);
    out.push(head, Buffer.from(JSON.stringify(request.id)), mid, result, tail);
  }
  if (out.length > 0) process.stdout.write(Buffer.concat(out));
});
`;

const peers = new Set<ChildProcessWithoutNullStreams>();
// Never leave a sidecar behind, and never hang: a stuck run fails after 10 minutes.
process.on("exit", () => peers.forEach((child) => child.kill("SIGKILL")));
setTimeout(() => {
  console.error("bench: timed out");
  process.exit(1);
}, 600_000).unref();

/** A spawned peer whose stdout lines are counted (text is looked at only during setup). */
class Peer {
  readonly child: ChildProcessWithoutNullStreams;
  lines = 0;
  private waiter: { count: number; resolve: () => void } | undefined;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, args, { env: { ...process.env, ...env } });
    peers.add(this.child);
    this.child.on("exit", () => peers.delete(this.child));
    this.child.stderr.pipe(process.stderr);
    this.child.stdout.on("data", (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) this.lines++;
      if (this.waiter && this.lines >= this.waiter.count) {
        const { resolve } = this.waiter;
        this.waiter = undefined;
        resolve();
      }
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Writes in 64 KiB slices, waiting for 'drain' when the pipe is full. */
  async write(data: Buffer): Promise<void> {
    for (let offset = 0; offset < data.length; offset += 65536) {
      if (!this.child.stdin.write(data.subarray(offset, offset + 65536))) await once(this.child.stdin, "drain");
    }
  }

  untilLines(count: number): Promise<void> {
    if (this.lines >= count) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { count, resolve }));
  }

  /** Setup only (not timed): sends requests and returns every line that comes back for them. */
  async collect(text: string, count = countLines(Buffer.from(text))): Promise<string[]> {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    this.child.stdout.on("data", onData);
    const target = this.lines + count;
    await this.write(Buffer.from(text));
    await this.untilLines(target);
    this.child.stdout.off("data", onData);
    return Buffer.concat(chunks).toString("utf8").split("\n").filter(Boolean);
  }

  /** Setup only: sends one request and returns its parsed response. */
  async ask(line: string): Promise<any> {
    return JSON.parse((await this.collect(line, 1))[0]!);
  }

  /** Sends pre-encoded requests and times until `count` more lines have come back. */
  async timed(requests: Buffer, count: number): Promise<number> {
    return (await this.measure(requests, count)).seconds;
  }

  /** timed(), with the CPU this peer and the client used meanwhile, as fractions of the wall time. */
  async measure(requests: Buffer, count: number): Promise<{ seconds: number; peerCpu: number; clientCpu: number }> {
    const target = this.lines + count;
    const peerBefore = cpuSeconds(this.pid);
    const clientBefore = process.cpuUsage();
    const start = performance.now();
    await Promise.all([this.write(requests), this.untilLines(target)]);
    const seconds = (performance.now() - start) / 1000;
    const client = process.cpuUsage(clientBefore);
    return {
      seconds,
      peerCpu: (cpuSeconds(this.pid) - peerBefore) / seconds,
      clientCpu: (client.user + client.system) / 1e6 / seconds,
    };
  }

  async close(): Promise<void> {
    const exited = once(this.child, "exit");
    this.child.stdin.end();
    await exited;
  }
}

const rpc = (id: number | string, method: string, params: unknown) => JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n";

function status(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(text)![1]) * 1024;
  return { rss: kib("VmRSS"), hwm: kib("VmHWM") };
}

/** Resets the peak RSS (VmHWM) to the current RSS; false when the kernel does not allow it. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** User + system CPU seconds a process has used (clock ticks are 1/100 s on Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const num = (n: number) => Math.round(n).toLocaleString("en-US");

async function throughput(): Promise<string[][]> {
  const sidecar = new Peer([BIN, "--log-level", "error"]);
  const bare = new Peer(["-e", ECHO_LOOP]);

  // A session of 10 short messages to read, and sessions to append to (each stays under the default message cap).
  const { result: getTarget } = await sidecar.ask(rpc("s", "session/new", { cwd: "/bench" }));
  const messages = Array.from({ length: 10 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `short message ${i}` }));
  await sidecar.ask(rpc("u", "session/update", { sessionId: getTarget.sessionId, messages }));
  const sample = await sidecar.ask(rpc("g", "session/get", { sessionId: getTarget.sessionId }));
  if (sample.result?.session?.context?.length !== 10) throw new Error(`unexpected session/get answer: ${JSON.stringify(sample)}`);
  const sized = new Peer(["-e", SIZED_LOOP], { RESULT: JSON.stringify(sample.result) });
  // The size of one update's answer, from a session of its own.
  const { result: probe } = await sidecar.ask(rpc("p", "session/new", { cwd: "/bench" }));
  const probeMessage = { messageId: "r0-100000", role: "user", content: "update 100000" };
  const updateSample = await sidecar.ask(rpc(100000, "session/update", { sessionId: probe.sessionId, messages: [probeMessage] }));
  const updateBytes = Buffer.byteLength(JSON.stringify(updateSample)) + 1;
  const targets: string[] = [];
  let creates = "";
  for (let i = 0; i < UPDATE_SESSIONS; i++) creates += rpc(i, "session/new", { cwd: "/bench" });
  for (const line of await sidecar.collect(creates)) targets.push(JSON.parse(line).result.sessionId);

  let round = 0;
  const getLines = (): Buffer => {
    let text = "";
    for (let i = 0; i < REQUESTS; i++) text += rpc(i, "session/get", { sessionId: getTarget.sessionId });
    return Buffer.from(text);
  };
  const updateLines = (): Buffer => {
    let text = "";
    for (let i = 0; i < REQUESTS; i++) {
      const message = { messageId: `r${round}-${i}`, role: "user", content: `update ${i}` };
      text += rpc(i, "session/update", { sessionId: targets[i % targets.length], messages: [message] });
    }
    round++;
    return Buffer.from(text);
  };

  type Best = { rate: number; peerCpu: number; clientCpu: number };
  const best: Record<"bareGet" | "sizedGet" | "get" | "bareUpdate" | "update", Best> = {
    bareGet: { rate: 0, peerCpu: 0, clientCpu: 0 },
    sizedGet: { rate: 0, peerCpu: 0, clientCpu: 0 },
    get: { rate: 0, peerCpu: 0, clientCpu: 0 },
    bareUpdate: { rate: 0, peerCpu: 0, clientCpu: 0 },
    update: { rate: 0, peerCpu: 0, clientCpu: 0 },
  };
  const run = async (key: keyof typeof best, peer: Peer, requests: Buffer) => {
    const m = await peer.measure(requests, REQUESTS);
    const rate = REQUESTS / m.seconds;
    if (rate > best[key].rate) best[key] = { rate, peerCpu: m.peerCpu, clientCpu: m.clientCpu };
  };
  // Warm-up: a smaller run of each, then the rounds, taken in turn so noise falls on all alike.
  const all = getLines();
  const warm = all.subarray(0, all.lastIndexOf(10, 4 << 20) + 1);
  await bare.timed(warm, countLines(warm));
  await sidecar.timed(warm, countLines(warm));
  await sized.timed(warm, countLines(warm));
  for (let r = 0; r < ROUNDS; r++) {
    const gets = getLines();
    await run("bareGet", bare, gets);
    await run("sizedGet", sized, gets);
    await run("get", sidecar, gets);
    const updates = updateLines();
    await run("bareUpdate", bare, updates);
    await run("update", sidecar, updates);
  }
  // Every timed update must have been applied, not answered with an error.
  const check = await sidecar.ask(rpc("c", "session/get", { sessionId: targets[0], limit: 0 }));
  const expected = (ROUNDS * REQUESTS) / UPDATE_SESSIONS;
  if (check.result?.session?.messageCount !== expected) throw new Error(`updates not applied: ${JSON.stringify(check)}`);
  await Promise.all([sidecar.close(), bare.close(), sized.close()]);
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const row = (name: string, b: Best, base: Best, bytes: number) => [
    name,
    num(b.rate),
    (b.rate / base.rate).toFixed(2),
    pct(b.peerCpu),
    pct(b.clientCpu),
    num(bytes),
  ];
  const echoBytes = Buffer.byteLength('{"jsonrpc":"2.0","id":100000,"result":{}}\n');
  const getBytes = Buffer.byteLength(JSON.stringify({ ...sample, id: 100000 })) + 1;
  return [
    row("bare NDJSON echo loop (get lines)", best.bareGet, best.bareGet, echoBytes),
    row("session/get, 10 short messages", best.get, best.bareGet, getBytes),
    row(`bare loop answering the same ${num(getBytes)} bytes`, best.sizedGet, best.bareGet, getBytes),
    row("session/get against that loop", best.get, best.sizedGet, getBytes),
    row("bare NDJSON echo loop (update lines)", best.bareUpdate, best.bareUpdate, echoBytes),
    row("session/update, 1 message", best.update, best.bareUpdate, updateBytes),
  ];
}

function countLines(data: Buffer): number {
  let n = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n++;
  return n;
}

async function idleMemory(): Promise<string[][]> {
  const sidecar = new Peer([BIN, "--log-level", "error", "--max-sessions", String(IDLE_SESSIONS * 2)]);
  // Warm the process up with a few requests first, so the baseline is a running sidecar.
  let warm = "";
  for (let i = 0; i < 1000; i++) warm += rpc(i, "session/list", { limit: 1 });
  await sidecar.timed(Buffer.from(warm), 1000);
  const before = status(sidecar.pid).rss;
  let creates = "";
  for (let i = 0; i < IDLE_SESSIONS; i++) creates += rpc(i, "session/new", { cwd: "/bench/project" });
  const seconds = await sidecar.timed(Buffer.from(creates), IDLE_SESSIONS);
  const after = status(sidecar.pid).rss;
  await sidecar.close();
  return [
    [`${num(IDLE_SESSIONS)} idle sessions: RSS before`, mib(before)],
    ["RSS after", mib(after)],
    ["per idle session", `${num((after - before) / IDLE_SESSIONS)} bytes`],
    ["session/new, pipelined", `${num(IDLE_SESSIONS / seconds)} req/s`],
  ];
}

async function replay(): Promise<string[][]> {
  const sidecar = new Peer([BIN, "--log-level", "error", "--max-context-messages", String(REPLAY_MESSAGES)]);
  const { result } = await sidecar.ask(rpc("s", "session/new", { cwd: "/bench" }));
  const sessionId = result.sessionId as string;
  const perUpdate = 1000;
  let updates = "";
  for (let u = 0; u < REPLAY_MESSAGES / perUpdate; u++) {
    const messages = Array.from({ length: perUpdate }, (_, i) => {
      const n = u * perUpdate + i;
      return { messageId: `m${n}`, role: n % 2 ? "assistant" : "user", content: `message ${n}: a short line of conversation` };
    });
    updates += rpc(u, "session/update", { sessionId, messages });
  }
  await sidecar.timed(Buffer.from(updates), REPLAY_MESSAGES / perUpdate);
  const check = await sidecar.ask(rpc("c", "session/get", { sessionId, limit: 0 }));
  if (check.result?.session?.messageCount !== REPLAY_MESSAGES) throw new Error(`session not built: ${JSON.stringify(check)}`);
  const reset = resetPeak(sidecar.pid);
  const before = status(sidecar.pid);
  const seconds = await sidecar.timed(
    Buffer.from(rpc("load", "session/load", { sessionId, cwd: "/bench", mcpServers: [] })),
    REPLAY_MESSAGES + 1,
  );
  const after = status(sidecar.pid);
  await sidecar.close();
  return [
    [`session/load of ${num(REPLAY_MESSAGES)} messages`, `${seconds.toFixed(2)} s`],
    ["replayed", `${num(REPLAY_MESSAGES / seconds)} messages/s`],
    ["RSS before the load", mib(before.rss)],
    [reset ? "peak RSS during the load (VmHWM)" : "peak RSS since start (VmHWM; reset not allowed)", mib(after.hwm)],
  ];
}

function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("   ");
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("   "));
  for (const row of rows) console.log(line(row));
}

const started = performance.now();
console.log(
  `acp-sessions bench: node ${process.version}, ${availableParallelism()} CPU(s) (${cpus()[0]?.model ?? "unknown"}), ${process.platform}`,
);
table(
  `Throughput over pipes: ${num(REQUESTS)} pipelined requests, best of ${ROUNDS} rounds`,
  ["workload", "req/s", "x bare", "server CPU", "client CPU", "bytes/answer"],
  await throughput(),
);
table("Memory per idle session", ["measure", "value"], await idleMemory());
table("Replay (session/load)", ["measure", "value"], await replay());
table(
  "Tail replay (session/load _meta.replayTail)",
  ["measure", "value"],
  (await benchTailReplay()).map((r) => [r.name, r.value]),
);
const memory = () => new MemoryStore({ maxIdleMs: 3_600_000 });
table(
  "Store operations, in-process (memory)",
  ["measure", "value"],
  [
    ...(await reaperPass(memory(), 1_000_000)),
    ...(await forkCost(memory(), 100_000, 200)),
    ...(await listPastArchived(memory(), 100_000)),
    ...(await truncateCost(memory(), 100_000, 100, 20_000)),
  ].map((r) => [r.name, r.value]),
);
table(
  "SQLite store (sqlite:<file>)",
  ["measure", "value"],
  (await benchSqlite()).map((r) => [r.name, r.value]),
);
table(
  "Redis store (a local redis-server)",
  ["measure", "value"],
  (await benchRedis()).map((r) => [r.name, r.value]),
);
table(
  "Live observers (session/subscribe): SQLite and a local redis-server",
  ["measure", "value"],
  (await benchObservers()).map((r) => [r.name, r.value]),
);
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
