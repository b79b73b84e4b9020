import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, rpc, until } from "../helpers/sidecar.js";

const MiB = 1024 * 1024;
/** What the sidecar may grow by while its client is not reading, besides the one answer in progress. */
const ALLOWED_GROWTH = 64 * MiB;
const MESSAGES = 8;
const CONTENT = "x".repeat(MiB);
/** The id of the one get read whole, to learn an answer's length: seven digits. */
const REFERENCE_ID = 1_000_000;
const ANSWER_START = Buffer.from('{"jsonrpc":"2.0","id":');

const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;

/**
 * Samples a process's resident memory until it has stayed within 1 MiB for a second and a half;
 * resolves to the highest sample seen.
 */
async function peakOnceFlat(pid: number): Promise<number> {
  const samples: number[] = [];
  const window = 30;
  const deadline = Date.now() + 60_000;
  for (;;) {
    samples.push(rss(pid));
    const recent = samples.slice(-window);
    if (recent.length === window && Math.max(...recent) - Math.min(...recent) < MiB) return Math.max(...samples);
    if (Date.now() > deadline) throw new Error("resident memory did not settle within 60 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Bytes kept of the start of each line: a short line whole, enough of a long one to say what it is. */
const HEAD_BYTES = 512;

/**
 * Reads the sidecar's output without keeping it (one batch answer here is 1.6 GB): where each line
 * ends, where each answer starts and its id, and the head of each line.
 */
class OutputScan {
  bytes = 0;
  readonly lineEnds: number[] = [];
  readonly answers: { id: number; at: number }[] = [];
  readonly heads: string[] = [];
  private tail = Buffer.alloc(0);
  private head = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.findAnswers(chunk);
    let from = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
      this.lineEnds.push(this.bytes + nl);
      this.keepHead(chunk.subarray(from, nl));
      this.heads.push(this.head.toString());
      this.head = Buffer.alloc(0);
      from = nl + 1;
    }
    this.keepHead(chunk.subarray(from));
    this.bytes += chunk.length;
  }

  /** The byte length of line `index` (without its newline). */
  lineLength(index: number): number {
    return this.lineEnds[index]! - (index === 0 ? 0 : this.lineEnds[index - 1]! + 1);
  }

  private keepHead(part: Buffer): void {
    if (this.head.length < HEAD_BYTES) this.head = Buffer.concat([this.head, part.subarray(0, HEAD_BYTES - this.head.length)]);
  }

  private findAnswers(chunk: Buffer): void {
    const buf = Buffer.concat([this.tail, chunk]);
    const base = this.bytes - this.tail.length;
    let from = 0;
    for (;;) {
      const at = buf.indexOf(ANSWER_START, from);
      if (at === -1) break;
      const comma = buf.indexOf(44, at + ANSWER_START.length);
      if (comma === -1) {
        this.tail = buf.subarray(at);
        return;
      }
      this.answers.push({ id: Number(buf.subarray(at + ANSWER_START.length, comma).toString()), at: base + at });
      from = comma;
    }
    this.tail = buf.subarray(Math.max(from, buf.length - ANSWER_START.length + 1));
  }
}

/**
 * A sidecar holding one session of `updates` × 8 messages of 1 MiB (ids m0, m1, …), and the length
 * of one get's answer to it (with a seven-digit id), read whole.
 */
async function sidecarWithLargeSession(updates = 1) {
  const child = spawn(process.execPath, [BIN, "--max-content-bytes", String(2 * MiB)], { env: process.env });
  children.push(child);
  const out = new OutputScan();
  child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.on("error", () => {});
  const lines = (n: number, ms?: number) => until(() => out.lineEnds.length >= n, `${n} lines of output`, ms);

  child.stdin.write(rpc(1, "session/new", { cwd: "/tmp" }));
  await lines(1);
  const sessionId: string = JSON.parse(out.heads[0]!).result.sessionId;
  for (let u = 0; u < updates; u++) {
    const messages = Array.from({ length: MESSAGES }, (_, i) => ({
      messageId: `m${u * MESSAGES + i}`,
      role: i % 2 ? "assistant" : "user",
      content: CONTENT,
    }));
    child.stdin.write(rpc(`u${u}`, "session/update", { sessionId, messages }));
    await lines(2 + u);
    expect(JSON.parse(out.heads[1 + u]!).result.appended).toBe(MESSAGES);
  }
  child.stdin.write(rpc(REFERENCE_ID, "session/get", { sessionId, limit: MESSAGES }));
  await lines(2 + updates);
  const answerBytes = out.lineLength(1 + updates);
  expect(answerBytes).toBeGreaterThan(MESSAGES * MiB);
  /** An answer's length for `id`: the reference answer's, with the id's digits in place of its seven. */
  const expectedLength = (id: number) => answerBytes - 7 + String(id).length;
  return { child, out, sessionId, answerBytes, expectedLength, lines, stderr: () => stderr };
}

describe("a client that stops reading large answers", () => {
  it("a batch of 200 gets: memory stays within 64 MiB and one answer; the whole array arrives in order once read", async () => {
    const s = await sidecarWithLargeSession();
    const baseline = await peakOnceFlat(s.child.pid!);
    s.child.stdout.pause();
    const count = 200;
    const batch = Array.from({ length: count }, (_, id) => ({
      jsonrpc: "2.0",
      id,
      method: "session/get",
      params: { sessionId: s.sessionId },
    }));
    s.child.stdin.write(JSON.stringify(batch) + "\n");
    const peak = await peakOnceFlat(s.child.pid!);
    expect(peak - baseline).toBeLessThan(ALLOWED_GROWTH + s.answerBytes);

    const answersBefore = s.out.answers.length;
    s.child.stdout.resume();
    await s.lines(4, 120_000);
    const answers = s.out.answers.slice(answersBefore);
    expect(answers.map((a) => a.id)).toEqual(batch.map((b) => b.id));
    // One array line: '[' + answers joined by ',' + ']', each answer whole.
    const lineStart = s.out.lineEnds[2]! + 1;
    const lineEnd = s.out.lineEnds[3]!;
    expect(answers[0]!.at).toBe(lineStart + 1);
    answers.forEach((a, i) => {
      const end = i + 1 < answers.length ? answers[i + 1]!.at - 1 : lineEnd - 1;
      expect(end - a.at, `the answer to ${a.id}`).toBe(s.expectedLength(a.id));
    });
    expect(s.out.lineEnds).toHaveLength(4);
    s.child.stdin.end();
    expect(s.stderr()).toBe("");
  }, 300_000);

  it("100 get lines in one write: memory stays within 64 MiB and one answer; every answer arrives in order once read", async () => {
    const s = await sidecarWithLargeSession();
    const baseline = await peakOnceFlat(s.child.pid!);
    s.child.stdout.pause();
    const count = 100;
    const ids = Array.from({ length: count }, (_, id) => id);
    s.child.stdin.write(ids.map((id) => rpc(id, "session/get", { sessionId: s.sessionId })).join(""));
    const peak = await peakOnceFlat(s.child.pid!);
    expect(peak - baseline).toBeLessThan(ALLOWED_GROWTH + s.answerBytes);

    const answersBefore = s.out.answers.length;
    s.child.stdout.resume();
    await s.lines(3 + count, 120_000);
    expect(s.out.answers.slice(answersBefore).map((a) => a.id)).toEqual(ids);
    for (const id of ids) expect(s.out.lineLength(3 + id), `the answer to ${id}`).toBe(s.expectedLength(id));
    expect(s.out.lineEnds).toHaveLength(3 + count);
    s.child.stdin.end();
    expect(s.stderr()).toBe("");
  }, 300_000);

  it("a session/load of 128 messages of 1 MiB: memory stays within 64 MiB and one message; every chunk arrives in order, then the answer", async () => {
    const updates = 16;
    const s = await sidecarWithLargeSession(updates);
    const count = updates * MESSAGES;
    const baseline = await peakOnceFlat(s.child.pid!);
    s.child.stdout.pause();
    s.child.stdin.write(rpc("load", "session/load", { sessionId: s.sessionId, cwd: "/tmp", mcpServers: [] }));
    const peak = await peakOnceFlat(s.child.pid!);
    expect(peak - baseline).toBeLessThan(ALLOWED_GROWTH + MiB);

    const before = s.out.lineEnds.length;
    s.child.stdout.resume();
    await s.lines(before + count + 1, 120_000);
    const heads = s.out.heads.slice(before);
    heads.slice(0, count).forEach((head, i) => {
      expect(head, `chunk ${i}`).toContain('"method":"session/update"');
      expect(head, `chunk ${i}`).toContain(`"messageId":"m${i}"`);
    });
    expect(JSON.parse(heads[count]!)).toEqual({ jsonrpc: "2.0", id: "load", result: {} });
    s.child.stdin.end();
    expect(s.stderr()).toBe("");
  }, 300_000);
});
