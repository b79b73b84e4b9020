import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcess, SERVER_VERSION, type Harness } from "../helpers/in-process.js";

// The session methods through the whole server. One server serves the file; each test makes its own sessions.
const SERVER_CWD = "/home/me/server-cwd";
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msg = (messageId: string, role = "user", content: unknown = `text of ${messageId}`) => ({ messageId, role, content });

let s: Harness;
beforeAll(async () => {
  s = await inProcess({}, { cwd: SERVER_CWD });
});
afterAll(() => s.close());

async function newSession(params: object = {}): Promise<string> {
  return (await s.ok("session/new", { cwd: "/work/project", ...params })).sessionId;
}
async function withMessages(count: number): Promise<string> {
  const sessionId = await newSession();
  await s.ok("session/update", {
    sessionId,
    messages: Array.from({ length: count }, (_, i) => msg(`m${i}`, i % 2 ? "assistant" : "user")),
  });
  return sessionId;
}
const ids = (session: any) => session.context.map((m: any) => m.messageId);

describe("initialize", () => {
  it("advertises protocol version 1, loadSession, every session capability, agentInfo and no auth", async () => {
    const result = await s.ok("initialize", {
      protocolVersion: 1,
      clientCapabilities: { fs: { readTextFile: true, writeTextFile: false }, terminal: true },
      clientInfo: { name: "e2e", version: "1.0.0" },
    });
    expect(result).toEqual({
      protocolVersion: 1,
      agentCapabilities: {
        loadSession: true,
        sessionCapabilities: { list: {}, delete: {}, resume: {}, close: {}, fork: {}, archive: {}, status: {}, title: {} },
      },
      agentInfo: { name: "acp-sessions", version: SERVER_VERSION },
      authMethods: [],
    });
  });

  it("initialize's clientCapabilities are recorded on sessions created afterwards; session/new's own override them", async () => {
    const own = await inProcess();
    await own.ok("initialize", { protocolVersion: 1, clientCapabilities: { fs: { readTextFile: true }, terminal: false } });
    const a = (await own.ok("session/new", { cwd: "/w" })).sessionId;
    const b = (await own.ok("session/new", { cwd: "/w", clientCapabilities: { terminal: true } })).sessionId;
    expect((await own.ok("session/get", { sessionId: a })).session.clientCapabilities).toEqual({
      fs: { readTextFile: true },
      terminal: false,
    });
    expect((await own.ok("session/get", { sessionId: b })).session.clientCapabilities).toEqual({ terminal: true });
    await own.close();
  });
});

describe("session/new", () => {
  it("returns a UUID v4 and defaults cwd to the server's working directory", async () => {
    const { sessionId } = await s.ok("session/new", {});
    expect(sessionId).toMatch(UUID_V4);
    const { session } = await s.ok("session/get", { sessionId });
    expect(session).toMatchObject({ sessionId, cwd: SERVER_CWD, title: null, messageCount: 0, revision: 1, context: [] });
    expect(Number.isNaN(Date.parse(session.createdAt))).toBe(false);
    expect(session.createdAt).toMatch(/\.\d{3}Z$/);
  });

  it("rejects a relative cwd with -32602 naming cwd", async () => {
    const r = await s.call("session/new", { cwd: "relative/dir" });
    expect(r.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["cwd"] }] } });
    expect(r.error!.message).toContain("cwd");
  });

  it("stores only MCP server names: env values, commands and headers never come back", async () => {
    const secret = "s3cr3t-token-value-e2e";
    const sessionId = await newSession({
      mcpServers: [
        { name: "files", command: "/usr/bin/mcp-files", args: ["--root", "/"], env: [{ name: "API_TOKEN", value: secret }] },
        { type: "http", name: "web", url: "https://mcp.example", headers: [{ name: "Authorization", value: `Bearer ${secret}` }] },
      ],
    });
    const { session } = await s.ok("session/get", { sessionId });
    expect(session.mcpServers).toEqual(["files", "web"]);
    await s.ok("session/list", {});
    // Nothing the server ever wrote holds the secret or the command.
    expect(
      s
        .output()
        .split("\n")
        .filter((l) => l.includes(secret) || l.includes("mcp-files")),
    ).toEqual([]);
  });
});

describe("session/get windows", () => {
  it("offset and limit select a window; messageCount is the whole session", async () => {
    const sessionId = await withMessages(10);
    const { session } = await s.ok("session/get", { sessionId, offset: 3, limit: 4 });
    expect(ids(session)).toEqual(["m3", "m4", "m5", "m6"]);
    expect(session.messageCount).toBe(10);
    expect(ids((await s.ok("session/get", { sessionId, offset: 8 })).session)).toEqual(["m8", "m9"]);
    expect(ids((await s.ok("session/get", { sessionId, offset: 20 })).session)).toEqual([]);
    expect(ids((await s.ok("session/get", { sessionId, limit: 2 })).session)).toEqual(["m0", "m1"]);
    const all = (await s.ok("session/get", { sessionId })).session.context;
    expect(all[1]).toEqual({ messageId: "m1", role: "assistant", content: "text of m1", timestamp: expect.stringMatching(/Z$/) });
  });

  it("afterMessageId with limit pages through a growing session without skipping or repeating", async () => {
    const sessionId = await withMessages(5);
    const seen: string[] = [];
    let after: string | undefined;
    for (let round = 0; round < 10; round++) {
      const { session } = await s.ok("session/get", { sessionId, limit: 2, ...(after ? { afterMessageId: after } : {}) });
      seen.push(...ids(session));
      if (session.context.length > 0) after = seen[seen.length - 1];
      // The session keeps growing while the client pages.
      if (round < 3) await s.ok("session/update", { sessionId, messages: [msg(`late${round}`)] });
    }
    expect(seen).toEqual(["m0", "m1", "m2", "m3", "m4", "late0", "late1", "late2"]);
  });

  it("an afterMessageId not in the session is -32602 naming afterMessageId", async () => {
    const sessionId = await withMessages(2);
    const r = await s.call("session/get", { sessionId, afterMessageId: "nope" });
    expect(r.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["afterMessageId"] }] } });
    expect(r.error!.message).toContain("afterMessageId");
  });

  it("offset together with afterMessageId is -32602", async () => {
    const sessionId = await withMessages(2);
    const r = await s.call("session/get", { sessionId, offset: 0, afterMessageId: "m0" });
    expect(r.error?.code).toBe(-32602);
    expect(r.error!.message).toMatch(/offset|afterMessageId/);
  });

  it("an unknown session is -32002 with data {sessionId}", async () => {
    const r = await s.call("session/get", { sessionId: "no-such-session" });
    expect(r.error).toEqual({ code: -32002, message: "Session not found", data: { sessionId: "no-such-session" } });
  });
});

describe("accesses", () => {
  it("get, update, resume and load are accesses; list and close are not", async () => {
    const sessionId = await newSession();
    let last = Date.parse((await s.ok("session/get", { sessionId, limit: 0 })).session.lastAccessed);
    const check = async (method: string, params: object, isAccess: boolean) => {
      await s.waitFor(() => Date.now() > last + 1, "the clock to move on");
      await s.ok(method, { sessionId, ...params });
      const listed = (await s.ok("session/list", { cwd: "/work/project", limit: 1000 })).sessions.find(
        (x: any) => x.sessionId === sessionId,
      );
      const now = Date.parse(listed.updatedAt);
      if (isAccess) expect(now, method).toBeGreaterThan(last);
      else expect(now, method).toBe(last);
      last = now;
    };
    await check("session/get", { limit: 0 }, true);
    await check("session/update", { messages: [msg("x")] }, true);
    await check("session/list", { cwd: "/work/project" }, false);
    await check("session/close", {}, false);
    await check("session/resume", { cwd: "/work/project" }, true);
    await check("session/load", { cwd: "/work/project", mcpServers: [] }, true);
  });
});

describe("session/remove, session/delete, session/close", () => {
  it("remove answers {removed} true then false", async () => {
    const sessionId = await newSession();
    expect(await s.ok("session/remove", { sessionId })).toEqual({ removed: true });
    expect(await s.ok("session/remove", { sessionId })).toEqual({ removed: false });
    expect((await s.call("session/get", { sessionId })).error?.code).toBe(-32002);
  });

  it("delete answers {} for a stored session, again after it is gone, and for an id never seen", async () => {
    const sessionId = await newSession();
    expect(await s.ok("session/delete", { sessionId })).toEqual({});
    expect((await s.call("session/get", { sessionId })).error?.code).toBe(-32002);
    expect(await s.ok("session/delete", { sessionId })).toEqual({});
    expect(await s.ok("session/delete", { sessionId: "never-existed" })).toEqual({});
  });

  it("close answers {}, and the session stays listable and loadable", async () => {
    const sessionId = await withMessages(2);
    expect(await s.ok("session/close", { sessionId })).toEqual({});
    const listed = (await s.ok("session/list", { cwd: "/work/project", limit: 1000 })).sessions.map((x: any) => x.sessionId);
    expect(listed).toContain(sessionId);
    expect(await s.ok("session/load", { sessionId, cwd: "/work/project", mcpServers: [] })).toEqual({});
    const replayed = s.notifications("session/update").filter((n) => n.sessionId === sessionId);
    expect(replayed.map((n) => n.update.messageId)).toEqual(["m0", "m1"]);
  });

  it("close of an unknown session is -32002", async () => {
    expect((await s.call("session/close", { sessionId: "no-such-session" })).error).toMatchObject({
      code: -32002,
      data: { sessionId: "no-such-session" },
    });
  });
});

describe("session/resume", () => {
  it("answers {} without replaying anything, and is an access", async () => {
    const sessionId = await withMessages(3);
    const before = (await s.ok("session/get", { sessionId })).session;
    const notificationsBefore = s.notifications("session/update").length;
    expect(await s.ok("session/resume", { sessionId, cwd: "/work/project" })).toEqual({});
    expect(s.notifications("session/update").length).toBe(notificationsBefore);
    const after = (await s.ok("session/get", { sessionId, limit: 0 })).session;
    expect(Date.parse(after.lastAccessed)).toBeGreaterThanOrEqual(Date.parse(before.lastAccessed));
    expect(after.revision).toBe(before.revision);
  });

  it("mcpServers and additionalDirectories given on resume replace the stored ones", async () => {
    const sessionId = await newSession({ mcpServers: [{ name: "old", command: "x", args: [], env: [] }] });
    await s.ok("session/resume", {
      sessionId,
      cwd: "/work/project",
      additionalDirectories: ["/work/lib"],
      mcpServers: [{ name: "new", command: "y", args: [], env: [] }],
    });
    const { session } = await s.ok("session/get", { sessionId });
    expect(session).toMatchObject({ mcpServers: ["new"], additionalDirectories: ["/work/lib"], revision: 2 });
  });

  it("an unknown session is -32002", async () => {
    expect((await s.call("session/resume", { sessionId: "no-such-session", cwd: "/work/project" })).error?.code).toBe(-32002);
  });

  it("a cwd other than the session's is -32602 naming cwd, and changes nothing", async () => {
    const sessionId = await newSession();
    const r = await s.call("session/resume", {
      sessionId,
      cwd: "/somewhere/else",
      mcpServers: [{ name: "x", command: "x", args: [], env: [] }],
    });
    expect(r.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["cwd"] }] } });
    expect(r.error!.message).toContain("cwd");
    expect((await s.ok("session/get", { sessionId })).session).toMatchObject({ mcpServers: [], revision: 1 });
  });
});

describe("session/list", () => {
  it("filters by cwd and reports SessionInfo with revision and messageCount", async () => {
    const cwd = "/work/list-filter";
    const a = await newSession({ cwd, title: "a" });
    const b = await newSession({ cwd, title: "b" });
    await newSession({ cwd: "/work/list-other" });
    await s.ok("session/update", { sessionId: b, messages: [msg("x")] });
    const { sessions, nextCursor } = await s.ok("session/list", { cwd });
    expect(nextCursor).toBeUndefined();
    // Newest first.
    expect(sessions).toMatchObject([
      { sessionId: b, cwd, title: "b", messageCount: 1, revision: 2 },
      { sessionId: a, cwd, title: "a", messageCount: 0, revision: 1 },
    ]);
    expect(sessions[0].updatedAt).toMatch(/\.\d{3}Z$/);
  });

  it("an invalid cursor is -32602 naming cursor", async () => {
    const r = await s.call("session/list", { cursor: "definitely not a cursor" });
    expect(r.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["cursor"] }] } });
  });

  it("paging with limit and nextCursor returns every session exactly once while sessions come and go", async () => {
    // A server of its own, so the listing holds only this test's sessions.
    const own = await inProcess();
    const create = async () => (await own.ok("session/new", {})).sessionId as string;
    const original: string[] = [];
    for (let i = 0; i < 23; i++) original.push(await create());
    const removed = new Set<string>();
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await own.ok("session/list", { limit: 4, ...(cursor ? { cursor } : {}) });
      expect(page.sessions.length).toBeGreaterThan(0);
      expect(page.sessions.length).toBeLessThanOrEqual(4);
      seen.push(...page.sessions.map((x: any) => x.sessionId));
      cursor = page.nextCursor;
      pages++;
      // Between pages: new sessions arrive, and one not yet listed (the oldest left) and one already listed go.
      await create();
      await create();
      const unlisted = original.find((id) => !seen.includes(id) && !removed.has(id));
      if (unlisted && pages % 2 === 0) {
        await own.ok("session/remove", { sessionId: unlisted });
        removed.add(unlisted);
      }
      const listed = seen.find((id) => !removed.has(id));
      if (listed) {
        await own.ok("session/delete", { sessionId: listed });
        removed.add(listed);
      }
    } while (cursor !== undefined && pages < 100);
    expect(cursor).toBeUndefined();
    expect(new Set(seen).size).toBe(seen.length);
    const throughout = original.filter((id) => !removed.has(id));
    for (const id of throughout) expect(seen).toContain(id);
    await own.close();
  });

  it("limit out of range is -32602", async () => {
    expect((await s.call("session/list", { limit: 0 })).error?.code).toBe(-32602);
    expect((await s.call("session/list", { limit: 1001 })).error?.code).toBe(-32602);
  });
});
