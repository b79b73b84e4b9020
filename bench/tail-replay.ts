/**
 * Tail replay over pipes to the built bin, on each store: session/load with `_meta.replayTail: 100` of a
 * 100,000-message session, against a full load of a 100-message session in the same sidecar. Both send
 * the same 100 messages, so the ratio is what the 99,900 messages not replayed cost. Loads of the two
 * alternate, and each side's median is taken. Prints nothing itself.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RedisServer } from "../test/helpers/redis-server.js";
import { Sidecar, num, rpc, type Row } from "./store-workload.js";

const LONG = 100_000;
const TAIL = 100;
const LOADS = 200;
const WARM_UP = 20;

/** The messages of a session, `count` short ones, appended 1,000 per update (setup, not timed). */
function appends(sessionId: string, count: number): string {
  let text = "";
  for (let from = 0; from < count; from += 1000) {
    const messages = Array.from({ length: Math.min(1000, count - from) }, (_, i) => {
      const n = from + i;
      return { messageId: `m${n}`, role: n % 2 ? "assistant" : "user", content: `message ${n}: a short line of conversation` };
    });
    text += rpc(`u${from}`, "session/update", { sessionId, messages });
  }
  return text;
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Median seconds of a tail load of the long session and of a full load of the short one, in one sidecar. */
async function measure(storeArgs: string[]): Promise<{ tail: number; full: number }> {
  const sidecar = new Sidecar([...storeArgs, "--max-context-messages", String(LONG)]);
  try {
    const [long, short] = await sidecar.ask(rpc("l", "session/new", { cwd: "/bench" }) + rpc("s", "session/new", { cwd: "/bench" }));
    const longId = long.result.sessionId as string;
    const shortId = short.result.sessionId as string;
    await sidecar.ask(appends(longId, LONG) + appends(shortId, TAIL));
    const tailLoad = Buffer.from(rpc("t", "session/load", { sessionId: longId, cwd: "/bench", _meta: { replayTail: TAIL } }));
    const fullLoad = Buffer.from(rpc("f", "session/load", { sessionId: shortId, cwd: "/bench" }));
    const answers = await sidecar.ask(tailLoad.toString(), TAIL + 1);
    const result = answers.find((a) => a.id === "t")?.result;
    if (answers.length !== TAIL + 1 || result?._meta?.replayedFrom !== LONG - TAIL) {
      throw new Error(`unexpected tail load: ${answers.length} lines, ${JSON.stringify(result)}`);
    }
    const tail: number[] = [];
    const full: number[] = [];
    for (let i = 0; i < WARM_UP + LOADS; i++) {
      const t = await sidecar.seconds(tailLoad, TAIL + 1);
      const f = await sidecar.seconds(fullLoad, TAIL + 1);
      if (i < WARM_UP) continue;
      tail.push(t);
      full.push(f);
    }
    return { tail: median(tail), full: median(full) };
  } finally {
    await sidecar.close();
  }
}

function rows(store: string, { tail, full }: { tail: number; full: number }): Row[] {
  const ms = (s: number) => `${(s * 1000).toFixed(2)} ms`;
  return [
    { name: `${store}: session/load, replayTail ${TAIL} of ${num(LONG)} messages (median)`, value: ms(tail) },
    { name: `${store}: session/load of a ${TAIL}-message session (median)`, value: ms(full) },
    { name: `${store}: tail replay against the full load of ${TAIL} (target about 1)`, value: `${(tail / full).toFixed(2)}×` },
  ];
}

export async function benchTailReplay(): Promise<Row[]> {
  const out = rows("memory", await measure(["--store", "memory"]));
  const dir = mkdtempSync(join(tmpdir(), "acp-bench-tail-"));
  try {
    out.push(...rows("sqlite", await measure(["--store", `sqlite:${join(dir, "sessions.db")}`])));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (spawnSync("redis-server", ["--version"]).status !== 0) {
    out.push({ name: "redis", value: "not measured: no redis-server on PATH" });
    return out;
  }
  const server = await RedisServer.start();
  try {
    out.push(...rows("redis", await measure(["--store", server.url, "--redis-prefix", "bench-tail:"])));
  } finally {
    await server.stop();
  }
  return out;
}
