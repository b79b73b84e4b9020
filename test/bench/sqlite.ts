/**
 * The SQLite store's figures: pipelined session/update appends (durable: each answer leaves only after
 * its commit) and session/get over pipes to the built bin, beside the memory store in the same run;
 * then the store operations of store-ops.ts against an SQLite file in-process. Prints nothing itself.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { silentLogger } from "../../src/log.js";
import { openSqliteStore } from "../../src/store/sqlite.js";
import { forkCost, listPastArchived, reaperPass } from "./store-ops.js";

export type Row = { name: string; value: string };

const BIN = fileURLToPath(new URL("../../../bin/acp-sessions.js", import.meta.url));
const REQUESTS = 100_000;
const ROUNDS = 3;
const UPDATE_SESSIONS = 200;

const rpc = (id: number | string, method: string, params: unknown) => JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n";
const num = (n: number) => Math.round(n).toLocaleString("en-US");

function countLines(data: Buffer): number {
  let n = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n++;
  return n;
}

/** A spawned sidecar whose answer lines are counted; their text is read only during setup. */
class Sidecar {
  private readonly child: ChildProcessWithoutNullStreams;
  private lines = 0;
  private text: Buffer[] | undefined;
  private waiter: { count: number; resolve: () => void } | undefined;

  constructor(store: string) {
    this.child = spawn(process.execPath, [BIN, "--store", store, "--log-level", "error"]);
    this.child.stderr.pipe(process.stderr);
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.text?.push(chunk);
      this.lines += countLines(chunk);
      if (this.waiter && this.lines >= this.waiter.count) {
        const { resolve } = this.waiter;
        this.waiter = undefined;
        resolve();
      }
    });
  }

  private async write(data: Buffer): Promise<void> {
    for (let offset = 0; offset < data.length; offset += 65536) {
      if (!this.child.stdin.write(data.subarray(offset, offset + 65536))) await once(this.child.stdin, "drain");
    }
  }

  private until(count: number): Promise<void> {
    if (this.lines >= count) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { count, resolve }));
  }

  /** Setup only: sends requests and returns their answers, parsed. */
  async ask(text: string): Promise<any[]> {
    this.text = [];
    const target = this.lines + countLines(Buffer.from(text));
    await Promise.all([this.write(Buffer.from(text)), this.until(target)]);
    const answers = Buffer.concat(this.text).toString("utf8").split("\n").filter(Boolean);
    this.text = undefined;
    return answers.map((line) => JSON.parse(line));
  }

  /** Requests per second until every one is answered. */
  async rate(requests: Buffer): Promise<number> {
    const count = countLines(requests);
    const start = performance.now();
    await Promise.all([this.write(requests), this.until(this.lines + count)]);
    return count / ((performance.now() - start) / 1000);
  }

  async close(): Promise<void> {
    const exited = once(this.child, "exit");
    this.child.stdin.end();
    await exited;
  }
}

interface Workload {
  sidecar: Sidecar;
  getTarget: string;
  updateTargets: string[];
}

async function prepare(sidecar: Sidecar): Promise<Workload> {
  const [created] = await sidecar.ask(rpc("s", "session/new", { cwd: "/bench" }));
  const getTarget = created.result.sessionId as string;
  const messages = Array.from({ length: 10 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `short message ${i}` }));
  await sidecar.ask(rpc("u", "session/update", { sessionId: getTarget, messages }));
  let creates = "";
  for (let i = 0; i < UPDATE_SESSIONS; i++) creates += rpc(i, "session/new", { cwd: "/bench" });
  const updateTargets = (await sidecar.ask(creates)).map((answer) => answer.result.sessionId as string);
  return { sidecar, getTarget, updateTargets };
}

const getLines = (w: Workload): Buffer => {
  let text = "";
  for (let i = 0; i < REQUESTS; i++) text += rpc(i, "session/get", { sessionId: w.getTarget });
  return Buffer.from(text);
};

const updateLines = (w: Workload, round: number): Buffer => {
  let text = "";
  for (let i = 0; i < REQUESTS; i++) {
    const message = { messageId: `r${round}-${i}`, role: "user", content: `update ${i}` };
    text += rpc(i, "session/update", { sessionId: w.updateTargets[i % w.updateTargets.length], messages: [message] });
  }
  return Buffer.from(text);
};

/** Every timed update must have been applied, and a get must answer the whole session. */
async function check(w: Workload, rounds: number): Promise<void> {
  const [updated, read] = await w.sidecar.ask(
    rpc("c", "session/get", { sessionId: w.updateTargets[0], limit: 0 }) + rpc("g", "session/get", { sessionId: w.getTarget }),
  );
  const expected = (rounds * REQUESTS) / UPDATE_SESSIONS;
  if (updated.result?.session?.messageCount !== expected) throw new Error(`updates not applied: ${JSON.stringify(updated)}`);
  if (read.result?.session?.context?.length !== 10) throw new Error(`unexpected session/get answer: ${JSON.stringify(read)}`);
}

async function overPipes(file: string): Promise<Row[]> {
  const sqlite = await prepare(new Sidecar(`sqlite:${file}`));
  const memory = await prepare(new Sidecar("memory"));
  const best = { sqliteGet: 0, memoryGet: 0, sqliteUpdate: 0, memoryUpdate: 0 };
  // Warm-up, then the rounds taken in turn so noise falls on both stores alike.
  await sqlite.sidecar.rate(getLines(sqlite));
  await memory.sidecar.rate(getLines(memory));
  for (let round = 0; round < ROUNDS; round++) {
    best.sqliteGet = Math.max(best.sqliteGet, await sqlite.sidecar.rate(getLines(sqlite)));
    best.memoryGet = Math.max(best.memoryGet, await memory.sidecar.rate(getLines(memory)));
    best.sqliteUpdate = Math.max(best.sqliteUpdate, await sqlite.sidecar.rate(updateLines(sqlite, round)));
    best.memoryUpdate = Math.max(best.memoryUpdate, await memory.sidecar.rate(updateLines(memory, round)));
  }
  await Promise.all([check(sqlite, ROUNDS), check(memory, ROUNDS)]);
  await Promise.all([sqlite.sidecar.close(), memory.sidecar.close()]);
  return [
    { name: "sqlite: session/update, 1 message, pipelined (durable)", value: `${num(best.sqliteUpdate)} msg/s` },
    { name: "memory: the same updates, same run", value: `${num(best.memoryUpdate)} msg/s` },
    { name: "sqlite: session/get, 10 short messages, pipelined", value: `${num(best.sqliteGet)} req/s` },
    { name: "memory: the same gets, same run", value: `${num(best.memoryGet)} req/s` },
    { name: "sqlite session/get against memory", value: `${(best.memoryGet / best.sqliteGet).toFixed(2)}x slower` },
    { name: `sqlite file after ${num(ROUNDS * REQUESTS)} appends`, value: `${(statSync(file).size / 2 ** 20).toFixed(1)} MiB` },
  ];
}

/** The in-process store operations (store-ops.ts) against a SQLite file of their own. */
async function storeOperations(dir: string): Promise<Row[]> {
  const rows: Row[] = [];
  let n = 0;
  for (const measure of [
    (store: Awaited<ReturnType<typeof openSqliteStore>>) => reaperPass(store, 100_000),
    (store: Awaited<ReturnType<typeof openSqliteStore>>) => forkCost(store, 100_000, 200),
    (store: Awaited<ReturnType<typeof openSqliteStore>>) => listPastArchived(store, 100_000),
  ]) {
    const backend = { log: silentLogger, redisPrefix: "", redisBuckets: 1, storeWaitMs: 0 };
    const store = await openSqliteStore(join(dir, `ops-${++n}.db`), { maxIdleMs: 3_600_000 }, backend);
    rows.push(...(await measure(store)).map((r) => ({ name: `sqlite: ${r.name}`, value: r.value })));
    store.close();
  }
  return rows;
}

export async function benchSqlite(): Promise<Row[]> {
  const dir = mkdtempSync(join(tmpdir(), "acp-bench-sqlite-"));
  try {
    return [...(await overPipes(join(dir, "sessions.db"))), ...(await storeOperations(dir))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
