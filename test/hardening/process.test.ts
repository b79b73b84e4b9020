import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../../bin/acp-sessions.js", import.meta.url));
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

function start(args: string[] = [], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
  children.push(child);
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exit, stderr: () => stderr };
}

/** Reads stdout as lines, counting them and keeping the ones a test asks to keep. */
function lines(child: ChildProcessWithoutNullStreams, keep: (line: string) => boolean = () => true) {
  const state = { count: 0, kept: [] as string[] };
  let rest = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop()!;
    state.count += parts.length;
    for (const p of parts) if (keep(p)) state.kept.push(p);
  });
  return state;
}

async function until(condition: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
const line = (id: number | string, method: string, params: unknown) => JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n";

describe("the built bin under hostile conditions", () => {
  it("stdin closed mid-line: the partial line is answered, then exit 0 with a clean stderr", async () => {
    const s = start();
    const out = lines(s.child);
    s.child.stdin.write(line(1, "session/list", {}) + '{"jsonrpc":"2.0","id":2,"meth');
    s.child.stdin.end();
    expect(await s.exit).toBe(0);
    expect(out.kept.map((l) => JSON.parse(l).id)).toEqual([1, null]);
    expect(s.stderr()).toBe("");
  });

  it("stdout closed by the client (EPIPE): exits 0 quietly", async () => {
    const s = start();
    s.child.stdout.destroy();
    for (let i = 0; i < 2000; i++) s.child.stdin.write(line(i, "session/list", {}));
    s.child.stdin.end();
    expect(await s.exit).toBe(0);
    expect(s.stderr()).not.toMatch(/Error|at .*\.js/);
  });

  it("SIGTERM with 10,000 requests in flight: every received request answered, exit 0", async () => {
    const s = start();
    const out = lines(s.child);
    const batch = Array.from({ length: 10_000 }, (_, i) => line(i, "session/new", { cwd: "/tmp" })).join("");
    s.child.stdin.write(batch);
    await until(() => out.count > 0, "the first response");
    s.child.kill("SIGTERM");
    expect(await s.exit).toBe(0);
    // What was answered is exactly the requests received before the signal, in order, each whole.
    const ids = out.kept.map((l) => JSON.parse(l).id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).toEqual(ids.map((_, i) => i));
    expect(s.stderr()).not.toMatch(/Error|Unhandled/);
  });

  it("a fault inside one handler answers -32603, logs its stack, and the next request is served", async () => {
    const s = start([], { ACP_SESSIONS_FAULT_INJECTION: "1" });
    const out = lines(s.child);
    s.child.stdin.write(line(1, "_acp_sessions/fault", {}) + line(2, "session/new", {}));
    s.child.stdin.end();
    expect(await s.exit).toBe(0);
    const [fault, next] = out.kept.map((l) => JSON.parse(l));
    expect(fault).toEqual({ jsonrpc: "2.0", id: 1, error: { code: -32603, message: "Internal error" } });
    expect(next.result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.stderr()).toContain("injected fault");
    expect(s.stderr()).toMatch(/at .*handle/);
  });

  it("backpressure: 200,000 requests to a client that is not reading keep memory bounded; all answered once reading resumes", async () => {
    const s = start();
    const create = line("new", "session/new", {});
    s.child.stdin.write(create);
    // Read until the session id arrives, then stop reading.
    let head = "";
    const onData = (c: Buffer) => (head += c);
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
    const collect = (c: Buffer) => (head += c);
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
