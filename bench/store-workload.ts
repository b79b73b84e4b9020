/**
 * The pipelined workload a store backend is measured with, over pipes to the built bin, beside the
 * memory store in the same run: session/get of a 10-message session, and one-message session/update
 * round-robin over 200 sessions. Shared by the SQLite and Redis figures.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

export type Row = { name: string; value: string };

const BIN = fileURLToPath(new URL("../../bin/acp-sessions.js", import.meta.url));
const ROUNDS = 3;
const UPDATE_SESSIONS = 200;

export const rpc = (id: number | string, method: string, params: unknown) => JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n";
export const num = (n: number) => Math.round(n).toLocaleString("en-US");

function countLines(data: Buffer): number {
  let n = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n++;
  return n;
}

/** A spawned sidecar whose answer lines are counted; their text is read only during setup. */
export class Sidecar {
  private readonly child: ChildProcessWithoutNullStreams;
  private lines = 0;
  private text: Buffer[] | undefined;
  private waiter: { count: number; resolve: () => void } | undefined;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [BIN, ...args, "--log-level", "error"]);
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

  /** Setup only: sends requests and returns their answers (and `lines` in all, notifications too), parsed. */
  async ask(text: string, lines = countLines(Buffer.from(text))): Promise<any[]> {
    this.text = [];
    const target = this.lines + lines;
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

  /** Seconds until `lines` more lines (answers and notifications) have come back for `requests`. */
  async seconds(requests: Buffer, lines: number): Promise<number> {
    const start = performance.now();
    await Promise.all([this.write(requests), this.until(this.lines + lines)]);
    return (performance.now() - start) / 1000;
  }

  async close(): Promise<void> {
    const exited = once(this.child, "exit");
    this.child.stdin.end();
    await exited;
  }
}

class Workload {
  private constructor(
    readonly sidecar: Sidecar,
    private readonly getTarget: string,
    private readonly updateTargets: string[],
    private readonly requests: number,
  ) {}

  static async start(args: string[], requests: number): Promise<Workload> {
    const sidecar = new Sidecar(args);
    const [created] = await sidecar.ask(rpc("s", "session/new", { cwd: "/bench" }));
    const getTarget = created.result.sessionId as string;
    const messages = Array.from({ length: 10 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `short message ${i}` }));
    await sidecar.ask(rpc("u", "session/update", { sessionId: getTarget, messages }));
    let creates = "";
    for (let i = 0; i < UPDATE_SESSIONS; i++) creates += rpc(i, "session/new", { cwd: "/bench" });
    const updateTargets = (await sidecar.ask(creates)).map((answer) => answer.result.sessionId as string);
    return new Workload(sidecar, getTarget, updateTargets, requests);
  }

  getLines(): Buffer {
    let text = "";
    for (let i = 0; i < this.requests; i++) text += rpc(i, "session/get", { sessionId: this.getTarget });
    return Buffer.from(text);
  }

  updateLines(round: number): Buffer {
    let text = "";
    for (let i = 0; i < this.requests; i++) {
      const message = { messageId: `r${round}-${i}`, role: "user", content: `update ${i}` };
      text += rpc(i, "session/update", { sessionId: this.updateTargets[i % this.updateTargets.length], messages: [message] });
    }
    return Buffer.from(text);
  }

  /** Every timed update must have been applied, and a get must answer the whole session. */
  async check(rounds: number): Promise<void> {
    const [updated, read] = await this.sidecar.ask(
      rpc("c", "session/get", { sessionId: this.updateTargets[0], limit: 0 }) + rpc("g", "session/get", { sessionId: this.getTarget }),
    );
    const expected = (rounds * this.requests) / UPDATE_SESSIONS;
    if (updated.result?.session?.messageCount !== expected) throw new Error(`updates not applied: ${JSON.stringify(updated)}`);
    if (read.result?.session?.context?.length !== 10) throw new Error(`unexpected session/get answer: ${JSON.stringify(read)}`);
  }
}

export interface Rates {
  get: number;
  memoryGet: number;
  update: number;
  memoryUpdate: number;
  /** Every request sent to the store under test, for size figures. */
  updates: number;
}

/** Best of three rounds, taken in turn with the memory store so noise falls on both alike. */
export async function againstMemory(storeArgs: string[], requests: number): Promise<Rates> {
  const store = await Workload.start(storeArgs, requests);
  const memory = await Workload.start(["--store", "memory"], requests);
  const best = { get: 0, memoryGet: 0, update: 0, memoryUpdate: 0 };
  await store.sidecar.rate(store.getLines());
  await memory.sidecar.rate(memory.getLines());
  for (let round = 0; round < ROUNDS; round++) {
    best.get = Math.max(best.get, await store.sidecar.rate(store.getLines()));
    best.memoryGet = Math.max(best.memoryGet, await memory.sidecar.rate(memory.getLines()));
    best.update = Math.max(best.update, await store.sidecar.rate(store.updateLines(round)));
    best.memoryUpdate = Math.max(best.memoryUpdate, await memory.sidecar.rate(memory.updateLines(round)));
  }
  await Promise.all([store.check(ROUNDS), memory.check(ROUNDS)]);
  await Promise.all([store.sidecar.close(), memory.sidecar.close()]);
  return { ...best, updates: ROUNDS * requests };
}
