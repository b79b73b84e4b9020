import { spawn } from "node:child_process";
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { storedMessage } from "../../src/protocol/encode-session.js";
import { openSqliteStore } from "../../src/store/sqlite/store.js";
import { NOT_AN_ACCESS } from "../../src/store/types.js";
import { EXPORT_HEADER } from "../../src/transfer/format.js";
import { BIN } from "../helpers/sidecar.js";
import { newSession } from "../store/contract.js";

// A 100,000-message session of about 100 MB goes out and back in a page or a batch at a time.
const MESSAGES = 100_000;
const MiB = 1024 * 1024;
const LIMIT = 200 * MiB;
const dir = mkdtempSync(join(tmpdir(), "acp-export-memory-"));
const source = join(dir, "source.db");
const target = join(dir, "target.db");
const file = join(dir, "export.jsonl");
const backend = { log: silentLogger, redisPrefix: "", redisBuckets: 1, storeWaitMs: 0 };
const options = { maxIdleMs: 3_600_000, maxContextMessages: MESSAGES };
const text = (i: number) => `message ${i} `.padEnd(1000, "abcdefghij ");
let sessionId = "";

beforeAll(async () => {
  const store = await openSqliteStore(source, options, backend);
  const now = Date.now();
  sessionId = (await store.create(newSession(), now)).sessionId;
  for (let from = 0; from < MESSAGES; from += 1000) {
    const batch = Array.from({ length: 1000 }, (_, j) =>
      storedMessage({ role: (from + j) % 2 ? "assistant" : "user", content: text(from + j) }, `m${from + j}`, now),
    );
    await store.update({ sessionId, messages: batch, changes: {} }, now);
  }
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const peakRss = (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;

/** The processes a process has started (its sidecar). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) children.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}

/**
 * Runs the bin with `args`, sampling the peak resident memory (VmHWM) of it and of every process it
 * starts until it exits: the last samples taken are each one's peak, but for its last few milliseconds.
 */
async function runMeasured(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; peaks: Map<number, number> }> {
  const child = spawn(process.execPath, [BIN, ...args]);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const peaks = new Map<number, number>();
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => ((exited = true), resolve(code))));
  while (!exited) {
    for (const pid of [child.pid!, ...childrenOf(child.pid!)]) {
      try {
        peaks.set(pid, Math.max(peaks.get(pid) ?? 0, peakRss(pid)));
      } catch {
        // Exited between the listing and the read.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { code: await exit, stdout, stderr, peaks };
}

it("exports a 100,000-message session of about 100 MB, and imports it, each process well under 200 MiB", async () => {
  const exported = await runMeasured(["--store", `sqlite:${source}`, "--max-context-messages", String(MESSAGES), "export", "--out", file]);
  expect(exported).toMatchObject({ code: 0, stderr: "", stdout: `exported 1 session to ${file}\n` });
  expect(exported.peaks.size).toBe(2);
  console.log(
    `export of ${(statSync(file).size / MiB).toFixed(0)} MiB, peak RSS (MiB):`,
    [...exported.peaks.values()].map((b) => (b / MiB).toFixed(0)),
  );
  for (const peak of exported.peaks.values()) expect(peak).toBeLessThan(LIMIT);
  expect(statSync(file).size).toBeGreaterThan(100 * 1000 * 1000);

  // The file, read a line at a time: the header, then the session with every message in order.
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  const read: string[] = [];
  for await (const line of lines) read.push(line.length > 1000 ? "" : line);
  expect(read).toEqual([EXPORT_HEADER, ""]);

  const imported = await runMeasured(["--store", `sqlite:${target}`, "--max-context-messages", String(MESSAGES), "import", file]);
  expect(imported).toMatchObject({ code: 0, stderr: "", stdout: "imported 1 session: 1 new, 0 with messages added, 0 unchanged\n" });
  console.log(
    "import peak RSS (MiB):",
    [...imported.peaks.values()].map((b) => (b / MiB).toFixed(0)),
  );
  for (const peak of imported.peaks.values()) expect(peak).toBeLessThan(LIMIT);

  const [from, to] = [await openSqliteStore(source, options, backend), await openSqliteStore(target, options, backend)];
  try {
    for (const window of [{ limit: 3 }, { offset: 49_999, limit: 2 }, { offset: MESSAGES - 3 }]) {
      const [a, b] = [await from.get(sessionId, window, NOT_AN_ACCESS), await to.get(sessionId, window, NOT_AN_ACCESS)];
      expect(b.messages.map(String)).toEqual(a.messages.map(String));
      expect({ ...b.session, revision: 0 }).toEqual({ ...a.session, revision: 0 });
    }
  } finally {
    from.close();
    to.close();
  }
});
