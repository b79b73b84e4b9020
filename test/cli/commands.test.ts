import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Ajv2020 from "ajv/dist/2020.js";
import { afterAll, describe, expect, it } from "vitest";
import { formatMessage, formatSessionTable, relativeTime } from "../../src/cli-commands.js";

const BIN = fileURLToPath(new URL("../../bin/acp-sessions.js", import.meta.url));
const README = fileURLToPath(new URL("../../README.md", import.meta.url));
const run = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe("acp-sessions call", () => {
  it("prints the result as pretty JSON, or one line with --json", async () => {
    const pretty = await run("call", "session/new", '{"cwd":"/tmp"}');
    expect(pretty.code).toBe(0);
    expect(JSON.parse(pretty.stdout).sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(pretty.stdout).toContain('\n  "sessionId"');
    const line = await run("call", "--json", "initialize", '{"protocolVersion":1}');
    expect(line.stdout.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(line.stdout).protocolVersion).toBe(1);
  });

  it("exits non-zero with the error message on a JSON-RPC error, 2 on params that are not JSON", async () => {
    const missing = await run("call", "session/get", '{"sessionId":"nope"}');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("Session not found (-32002)");
    const bad = await run("call", "session/list", "{oops");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("params are not JSON");
  });

  it("passes the options before the command to the sidecar it spawns", async () => {
    const limited = await run("--max-sessions", "1", "call", "session/list", "{}");
    expect(limited.code).toBe(0);
    const bad = await run("--max-session-age", "soon", "call", "session/list");
    expect(bad.code).toBe(2);
  });
});

describe("ls, show and rm over a shared store", () => {
  const dir = mkdtempSync(join(tmpdir(), "acp-cli-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const store = `sqlite:${join(dir, "sessions.db")}`;

  it("lists, shows and removes sessions across invocations", async () => {
    const created = await run("--store", store, "call", "session/new", '{"cwd":"/proj","title":"cli test"}');
    if (created.code !== 0 && /sqlite/.test(created.stderr)) {
      console.log(`skipped: the sqlite store is unavailable here (${created.stderr.trim()})`);
      return;
    }
    const { sessionId } = JSON.parse(created.stdout);
    const update = {
      sessionId,
      messages: [
        { role: "user", content: "hello there" },
        { role: "assistant", content: [{ type: "text", text: "hi" }] },
      ],
    };
    expect((await run("--store", store, "call", "session/update", JSON.stringify(update))).code).toBe(0);
    const ls = await run("--store", store, "ls");
    expect(ls.stdout).toMatch(new RegExp(`${sessionId}\\s+/proj\\s+cli test\\s+2\\s+just now`));
    const show = await run("--store", store, "show", sessionId);
    expect(show.stdout).toContain("user: hello there");
    expect(show.stdout).toContain("assistant: hi");
    expect((await run("--store", store, "rm", sessionId)).stdout.trim()).toBe(`removed ${sessionId}`);
    const again = await run("--store", store, "rm", sessionId);
    expect(again.code).toBe(1);
    expect((await run("--store", store, "ls")).stdout.trim()).toBe("no sessions");
  });
});

describe("formatting", () => {
  it("writes a table with relative times", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    const table = formatSessionTable(
      [
        {
          sessionId: "a",
          cwd: "/x",
          title: "one",
          createdAt: "",
          updatedAt: "2026-01-01T11:55:00Z",
          messageCount: 3,
          revision: 1,
          additionalDirectories: [],
          archived: false,
          parentSessionId: null,
        },
        {
          sessionId: "bb",
          cwd: "/yy",
          title: null,
          createdAt: "",
          updatedAt: "2025-12-30T12:00:00Z",
          messageCount: 12,
          revision: 1,
          additionalDirectories: [],
          archived: true,
          parentSessionId: null,
        },
      ],
      now,
    );
    expect(table.split("\n")).toEqual([
      "ID  CWD  TITLE       MESSAGES  LAST ACCESS",
      "a   /x   one                3  5m ago",
      "bb  /yy  (archived)        12  2d ago",
    ]);
    expect([0, 4000, 30_000, 7_200_000].map((d) => relativeTime(now - d, now))).toEqual(["just now", "just now", "30s ago", "2h ago"]);
  });

  it("summarises content blocks in a conversation", () => {
    const line = formatMessage({
      messageId: "m",
      role: "user",
      timestamp: "2026-01-01T00:00:00.000Z",
      content: [
        { type: "text", text: "look" },
        { type: "image", data: "…", mimeType: "image/png" },
        { type: "resource_link", name: "a.ts", uri: "file:///a.ts" },
      ],
    });
    expect(line).toBe("[2026-01-01T00:00:00.000Z] user: look\n  [image image/png]\n  [link a.ts file:///a.ts]");
  });
});

describe("acp-sessions schema", () => {
  it("prints a valid draft 2020-12 schema that the README's example requests satisfy", async () => {
    const { stdout, code } = await run("schema");
    expect(code).toBe(0);
    const schema = JSON.parse(stdout);
    const ajv = new Ajv2020.default({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    const examples = [...readFileSync(README, "utf8").matchAll(/^\s*'(\{"jsonrpc":"2\.0","id".*\})'/gm)].map((m) => JSON.parse(m[1]!));
    expect(examples.length).toBeGreaterThanOrEqual(3);
    for (const example of examples) expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ jsonrpc: "2.0", id: 1, method: "session/get", params: { sessionId: 5 } })).toBe(false);
    expect(
      validate({
        jsonrpc: "2.0",
        id: 1,
        method: "session/update",
        params: { sessionId: "s", messages: [{ role: "robot", content: "x" }] },
      }),
    ).toBe(false);
    expect(Object.keys(schema.$defs)).toEqual(
      expect.arrayContaining(["SessionGetResult", "SessionExpiredNotification", "SessionForkParams"]),
    );
    // Results validate too: a real session/get answer against SessionGetResult.
    const checkResult = ajv.compile({ $ref: "#/$defs/SessionGetResult", $defs: schema.$defs });
    expect(checkResult({ session: { sessionId: "s" } })).toBe(false);
  });
});
