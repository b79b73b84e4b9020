import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
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
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
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

const line = (id: number | string, method: string, params: unknown) => JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n";

// The built bin fed broken input, cut off and faulted: it answers what it can and exits 0.
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
});
