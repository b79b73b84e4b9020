import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { killAll, rpc, spawnSidecar, until, VERSION } from "../helpers/sidecar.js";

// The process as a client sees it: exit codes, signals, a closed stdout, stdout hygiene, the CLI, the reaper.
afterEach(killAll);

const isJsonRpc = (m: any) =>
  (Array.isArray(m) ? m : [m]).every(
    (x) =>
      x !== null &&
      typeof x === "object" &&
      x.jsonrpc === "2.0" &&
      (("id" in x && "result" in x !== "error" in x) || (!("id" in x) && typeof x.method === "string")),
  );

describe("process lifecycle", () => {
  it("stdin EOF: every request already sent is answered, then exit 0", async () => {
    const s = spawnSidecar();
    let lines = "";
    for (let i = 0; i < 500; i++) lines += rpc(i, i % 2 ? "session/list" : "session/new", i % 2 ? { limit: 1 } : { cwd: "/w" });
    s.write(lines);
    expect(await s.end()).toBe(0);
    expect(s.messages.map((m) => m.id)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(s.stderr()).toBe("");
  });

  it("SIGTERM: exit 0 once everything received is answered, each response whole and in order", async () => {
    const s = spawnSidecar();
    let lines = "";
    for (let i = 0; i < 2000; i++) lines += rpc(i, "session/new", { cwd: "/w" });
    s.write(lines);
    await until(() => s.messages.length > 0, "the first response");
    s.child.kill("SIGTERM");
    const { code } = await s.exit;
    expect(code).toBe(0);
    expect(s.messages.length).toBeGreaterThan(0);
    expect(s.messages.map((m) => m.id)).toEqual(s.messages.map((_, i) => i));
    expect(s.messages.every((m) => typeof m.result?.sessionId === "string")).toBe(true);
    expect(s.stderr()).toBe("");
  });

  it("SIGINT with nothing in flight: exit 0", async () => {
    const s = spawnSidecar();
    await s.ok("session/list", {});
    s.child.kill("SIGINT");
    expect((await s.exit).code).toBe(0);
  });

  it("stdout closed by the client (EPIPE): exit 0 quietly, no stack trace on stderr", async () => {
    const s = spawnSidecar();
    await s.ok("session/new", { cwd: "/w" });
    s.child.stdout.destroy();
    let lines = "";
    for (let i = 0; i < 5000; i++) lines += rpc(i, "session/list", {});
    s.write(lines);
    s.child.stdin.end();
    const { code, signal } = await s.exit;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(s.stderr()).not.toMatch(/Error|EPIPE|\n\s+at /);
  });

  it("stdout carries nothing but JSON-RPC, even with debug logging (which goes to stderr)", async () => {
    const s = spawnSidecar(["--log-level", "debug", "--max-message-bytes", "4096"]);
    const { sessionId } = await s.ok("session/new", { cwd: "/w", title: "hygiene" });
    s.write(
      "not json\n" +
        "[]\n" +
        '{"jsonrpc":"2.0","id":{},"method":"x"}\n' +
        rpc("big", "session/new", { title: "x".repeat(10_000) }) +
        rpc("u", "session/update", { sessionId, messages: [{ role: "user", content: "hi" }] }) +
        rpc("l", "session/load", { sessionId, cwd: "/w", mcpServers: [] }) +
        rpc("bad", "session/get", { sessionId: 7 }) +
        rpc("gone", "session/get", { sessionId: "gone" }) +
        JSON.stringify([{ jsonrpc: "2.0", id: "b", method: "session/list" }]) +
        "\n",
    );
    expect(await s.end()).toBe(0);
    expect(s.messages.length).toBe(11);
    expect(s.messages.filter((m) => !isJsonRpc(m))).toEqual([]);
    expect(s.stderr()).toMatch(/^acp-sessions debug: /m);
    expect(
      s
        .stderr()
        .split("\n")
        .filter(Boolean)
        .every((l) => l.startsWith("acp-sessions ")),
    ).toBe(true);
  });

  it("a session created without a cwd gets the directory the bin was started in", async () => {
    const cwd = realpathSync(mkdtempSync(join(tmpdir(), "acp-cwd-")));
    try {
      const s = spawnSidecar([], { cwd });
      const { sessionId } = await s.ok("session/new", {});
      expect((await s.ok("session/get", { sessionId })).session.cwd).toBe(cwd);
      expect(await s.end()).toBe(0);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe("the reaper", () => {
  it("ACP_SESSIONS_MAX_SESSION_AGE and ACP_SESSIONS_CLEANUP_INTERVAL configure it from the environment", async () => {
    const s = spawnSidecar([], { env: { ACP_SESSIONS_MAX_SESSION_AGE: "300ms", ACP_SESSIONS_CLEANUP_INTERVAL: "100ms" } });
    const { sessionId } = await s.ok("session/new", { cwd: "/w" });
    const { session } = await s.ok("session/get", { sessionId });
    expect(session.retention.maxIdleMs).toBe(300);
    await until(() => s.notifications("session/expired").find((n) => n.sessionId === sessionId), "session/expired", 60_000);
    expect((await s.call("session/get", { sessionId })).error?.code).toBe(-32002);
  });

  it("the reaper's timer does not keep the process alive: EOF exits at once with a long interval", async () => {
    const s = spawnSidecar(["--cleanup-interval", "1d"]);
    await s.ok("session/new", { cwd: "/w" });
    expect(await s.end()).toBe(0);
  });
});

describe("the CLI", () => {
  it("a bad duration is exit code 2 with a message on stderr naming the option", async () => {
    const s = spawnSidecar(["--max-session-age", "soon"]);
    s.child.stdin.end();
    expect((await s.exit).code).toBe(2);
    expect(s.stderr()).toMatch(/max-session-age/);
    expect(s.stderr()).toMatch(/duration/);
    expect(s.lines).toEqual([]);
  });

  it("a bad duration from the environment is exit code 2 as well", async () => {
    const s = spawnSidecar([], { env: { ACP_SESSIONS_CLEANUP_INTERVAL: "often" } });
    s.child.stdin.end();
    expect((await s.exit).code).toBe(2);
    expect(s.stderr()).toMatch(/cleanup-interval|CLEANUP_INTERVAL/);
  });

  it("an unknown option is exit code 2", async () => {
    const s = spawnSidecar(["--no-such-option"]);
    s.child.stdin.end();
    expect((await s.exit).code).toBe(2);
    expect(s.stderr()).toMatch(/unknown option/);
  });

  it("--version prints the package version and exits 0", async () => {
    const s = spawnSidecar(["--version"]);
    expect((await s.exit).code).toBe(0);
    expect(s.lines).toEqual([VERSION]);
  });

  it("initialize reports the package version in agentInfo", async () => {
    const s = spawnSidecar();
    expect((await s.ok("initialize", { protocolVersion: 1 })).agentInfo).toEqual({ name: "acp-sessions", version: VERSION });
    expect(await s.end()).toBe(0);
  });

  it("--help documents the options and their environment variables", async () => {
    const s = spawnSidecar(["--help"]);
    expect((await s.exit).code).toBe(0);
    const help = s.lines.join("\n");
    for (const text of ["--max-session-age", "--cleanup-interval", "--max-message-bytes", "--log-level", "ACP_SESSIONS_MAX_SESSION_AGE"]) {
      expect(help).toContain(text);
    }
  });
});
