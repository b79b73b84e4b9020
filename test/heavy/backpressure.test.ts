import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, until } from "../helpers/sidecar.js";

// Clients that stop reading: the built bin stops reading too, keeps its memory bounded, and answers
// everything once the client reads again.
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

function start(args: string[] = []) {
  const child = spawn(process.execPath, [BIN, ...args]);
  children.push(child);
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exit };
}

const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
const line = (id: number | string, method: string, params: unknown) => JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n";

describe("backpressure", () => {
  it("backpressure: 200,000 requests to a client that is not reading keep memory bounded; all answered once reading resumes", async () => {
    const s = start();
    const create = line("new", "session/new", {});
    s.child.stdin.write(create);
    // Read until the session id arrives, then stop reading.
    let head = "";
    const onData = (c: Buffer) => (head += c.toString());
    s.child.stdout.on("data", onData);
    await until(() => head.includes("\n"), "session/new");
    s.child.stdout.off("data", onData);
    s.child.stdout.pause();
    const sessionId = JSON.parse(head.split("\n")[0]!).result.sessionId;
    await new Promise<void>((resolve) =>
      s.child.stdin.write(
        line("u", "session/update", {
          sessionId,
          messages: Array.from({ length: 10 }, (_, i) => ({ role: "user", content: `message ${i}` })),
        }),
        () => resolve(),
      ),
    );
    const baseline = rss(s.child.pid!);
    const request = line(0, "session/get", { sessionId });
    const total = 200_000;
    let written = 0;
    // Write without waiting for the sidecar: the pipe and its kernel buffer fill, then stdin stops being read.
    const pump = () => {
      while (written < total) {
        written++;
        if (!s.child.stdin.write(request)) return void s.child.stdin.once("drain", pump);
      }
    };
    pump();
    await new Promise((r) => setTimeout(r, 1500));
    const stalled = rss(s.child.pid!);
    expect(written).toBeLessThan(total); // the sidecar stopped reading: our writes are blocked
    expect(stalled - baseline).toBeLessThan(64 * 1024 * 1024);
    let count = 0;
    s.child.stdout.on("data", (c: Buffer) => {
      for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) count++;
    });
    s.child.stdout.resume();
    await until(() => count >= total + 1, "every response", 120_000);
    s.child.stdin.end();
    expect(await s.exit).toBe(0);
    expect(count).toBe(total + 1);
  }, 180_000);

  it("a replay to a client that is not reading waits for it: memory stays bounded, every chunk arrives once reading resumes", async () => {
    const total = 50_000;
    const s = start(["--max-context-messages", String(total)]);
    let head = "";
    const collect = (c: Buffer) => (head += c.toString());
    s.child.stdout.on("data", collect);
    s.child.stdin.write(line("new", "session/new", {}));
    await until(() => head.includes("\n"), "session/new");
    const sessionId = JSON.parse(head.split("\n")[0]!).result.sessionId;
    let updates = "";
    for (let u = 0; u < total / 1000; u++) {
      const messages = Array.from({ length: 1000 }, (_, i) => ({
        role: i % 2 ? "assistant" : "user",
        content: `message ${u * 1000 + i}: ${"x".repeat(1000)}`,
      }));
      updates += line(`u${u}`, "session/update", { sessionId, messages });
    }
    s.child.stdin.write(updates);
    await until(() => head.split("\n").length > total / 1000 + 1, "the updates");
    s.child.stdout.off("data", collect);
    s.child.stdout.pause();
    const baseline = rss(s.child.pid!);
    s.child.stdin.write(
      line("load", "session/load", { sessionId, cwd: process.cwd(), mcpServers: [] }) + line("after", "session/list", {}),
    );
    await new Promise((r) => setTimeout(r, 1500));
    // Over 50 MB of replay would sit in memory if it were built whole; it waits in slices instead.
    expect(rss(s.child.pid!) - baseline).toBeLessThan(24 * 1024 * 1024);
    let rest = "";
    const ids: unknown[] = [];
    let chunks = 0;
    s.child.stdout.on("data", (c: Buffer) => {
      const parts = (rest + c.toString()).split("\n");
      rest = parts.pop()!;
      for (const p of parts) {
        const m = JSON.parse(p);
        if (m.method === "session/update") chunks++;
        else ids.push(m.id);
      }
    });
    s.child.stdout.resume();
    await until(() => ids.includes("after"), "the request after the load");
    expect(chunks).toBe(total);
    expect(ids).toEqual(["load", "after"]);
    s.child.stdin.end();
    expect(await s.exit).toBe(0);
  });
});
