import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { protocolJsonSchema } from "../../src/protocol/json-schema.js";
import { VERSION } from "../helpers/sidecar.js";

// These run the built bin: `npm run build` first.
const BIN = fileURLToPath(new URL("../../bin/acp-sessions.js", import.meta.url));
beforeAll(() => {
  if (!existsSync(new URL("../../dist/src/cli/index.js", import.meta.url))) throw new Error("build first: npm run build");
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
const run = (...args: string[]): Promise<Run> =>
  new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });

describe("acp-sessions call", () => {
  it("prints the result as pretty JSON, or on one line with --json", async () => {
    const pretty = await run("call", "session/new", '{"cwd":"/tmp"}');
    expect(pretty).toMatchObject({ code: 0, stderr: "" });
    expect(pretty.stdout).toMatch(/^\{\n {2}"sessionId": "[0-9a-f-]{36}"\n\}\n$/);

    const line = await run("call", "--json", "initialize", '{"protocolVersion":1}');
    expect(line.code).toBe(0);
    expect(line.stdout.endsWith("\n")).toBe(true);
    expect(line.stdout.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(line.stdout)).toMatchObject({ protocolVersion: 1, agentInfo: { name: "acp-sessions" } });

    const noParams = await run("call", "session/list");
    expect(JSON.parse(noParams.stdout)).toEqual({ sessions: [] });
  });

  it("exits 1 with the error message, code and data on a JSON-RPC error", async () => {
    const missing = await run("call", "session/get", '{"sessionId":"nope"}');
    expect(missing).toMatchObject({ code: 1, stdout: "" });
    expect(missing.stderr).toBe('acp-sessions: Session not found (-32002) {"sessionId":"nope"}\n');

    const unknown = await run("call", "session/nothing");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("(-32601)");

    const invalid = await run("call", "session/new", '{"cwd":"relative/path"}');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain("(-32602)");
    expect(invalid.stderr).toContain("cwd");
  });

  it("exits 2 on params that are not JSON and on usage errors", async () => {
    const bad = await run("call", "session/list", "{oops");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^acp-sessions: params are not JSON: /);
    expect((await run("call")).code).toBe(2);
    expect((await run("show")).code).toBe(2);
    expect((await run("--max-session-age", "soon", "call", "session/list")).code).toBe(2);
    expect((await run("ls", "--max-sessions", "0")).code).toBe(2);
  });

  it("configures the sidecar from the options, before or after the command", async () => {
    const params = JSON.stringify({ title: "x".repeat(300) });
    for (const args of [
      ["--max-message-bytes", "200", "call", "session/new", params],
      ["call", "session/new", params, "--max-message-bytes", "200"],
    ]) {
      const refused = await run(...args);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("(-32600)");
    }
    expect((await run("call", "session/new", params)).code).toBe(0);
  });

  it("exits 1 when the sidecar cannot start, after the sidecar's own explanation", async () => {
    const failed = await run("--store", "nonsense:", "ls");
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/unknown store[\s\S]*acp-sessions: the sidecar exited with code 1\n$/);
  });
});

describe("ls, show and rm", () => {
  it("with a memory store: nothing to list, show or remove", async () => {
    expect(await run("ls")).toMatchObject({ code: 0, stdout: "no sessions\n" });
    const show = await run("show", "nope");
    expect(show.code).toBe(1);
    expect(show.stderr).toContain("Session not found (-32002)");
    expect(await run("rm", "nope")).toMatchObject({ code: 1, stderr: "acp-sessions: no session nope\n" });
  });

  describe("across invocations over a SQLite store", () => {
    const dir = mkdtempSync(join(tmpdir(), "acp-cli-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const store = `sqlite:${join(dir, "sessions.db")}`;
    let sqlite = false;
    beforeAll(async () => {
      const probe = await run("--store", store, "call", "session/list");
      sqlite = probe.code === 0;
      if (!sqlite) console.warn(`SQLite store unavailable, cross-invocation test skipped: ${probe.stderr.trim()}`);
    });

    it("lists, shows and removes sessions", async (ctx) => {
      if (!sqlite) return ctx.skip();
      const created = await run("--store", store, "call", "session/new", '{"cwd":"/proj","title":"cli test"}');
      const { sessionId } = JSON.parse(created.stdout);
      const update = {
        sessionId,
        messages: [
          { role: "user", content: "hello there", timestamp: "2026-01-01T10:00:00.000Z" },
          {
            role: "assistant",
            content: [
              { type: "text", text: "hi" },
              { type: "image", data: "AAAA", mimeType: "image/png" },
            ],
            timestamp: "2026-01-01T10:00:01.000Z",
          },
        ],
      };
      expect((await run("--store", store, "call", "session/update", JSON.stringify(update))).code).toBe(0);

      // Options work before the command and after it.
      for (const ls of [await run("--store", store, "ls"), await run("ls", "--store", store)]) {
        expect(ls.code).toBe(0);
        expect(ls.stdout.split("\n")[0]).toMatch(/^ID\s+CWD\s+TITLE\s+MESSAGES\s+LAST ACCESS$/);
        expect(ls.stdout).toMatch(new RegExp(`^${sessionId}  /proj  cli test\\s+2  (just now|\\d+s ago)$`, "m"));
      }

      const show = await run("--store", store, "show", sessionId);
      expect(show.code).toBe(0);
      expect(show.stdout).toContain(`session ${sessionId} — cli test\ncwd /proj · 2 messages · revision 2`);
      expect(show.stdout).toContain(
        "[2026-01-01T10:00:00.000Z] user: hello there\n[2026-01-01T10:00:01.000Z] assistant: hi\n  [image image/png]\n",
      );

      expect(await run("--store", store, "rm", sessionId)).toMatchObject({ code: 0, stdout: `removed ${sessionId}\n` });
      expect((await run("--store", store, "rm", sessionId)).code).toBe(1);
      expect((await run("--store", store, "ls")).stdout).toBe("no sessions\n");
    });

    it("show --tail prints only the last messages and says which", async (ctx) => {
      if (!sqlite) return ctx.skip();
      const { sessionId } = JSON.parse((await run("--store", store, "call", "session/new", '{"cwd":"/proj"}')).stdout);
      const messages = ["one", "two", "three"].map((content) => ({ role: "user", content, timestamp: "2026-01-01T10:00:00.000Z" }));
      expect((await run("--store", store, "call", "session/update", JSON.stringify({ sessionId, messages }))).code).toBe(0);
      const show = await run("--store", store, "show", sessionId, "--tail", "2");
      expect(show.code).toBe(0);
      expect(show.stdout).toContain(
        "showing messages 2–3 of 3\n\n[2026-01-01T10:00:00.000Z] user: two\n[2026-01-01T10:00:00.000Z] user: three\n",
      );
      expect(show.stdout).not.toContain("user: one");
      expect((await run("--store", store, "show", sessionId, "--tail", "-1")).code).toBe(2);
      expect((await run("--store", store, "show", sessionId, "--tail", "x")).code).toBe(2);
    });
  });
});

describe("schema", () => {
  it("prints the protocol's JSON Schema, titled with the package version", async () => {
    const printed = await run("schema");
    expect(printed).toMatchObject({ code: 0, stderr: "" });
    expect(JSON.parse(printed.stdout)).toEqual(protocolJsonSchema(VERSION));
  });
});
