import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcess, type Harness } from "../helpers/in-process.js";

// session/update through the whole server: order, message identity, idempotent retries, all-or-nothing, revisions.
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msg = (messageId: string, role = "user", content: unknown = `text of ${messageId}`) => ({ messageId, role, content });

let s: Harness;
beforeAll(async () => {
  s = await inProcess();
});
afterAll(() => s.close());

const newSession = async (params: object = {}): Promise<string> => (await s.ok("session/new", { cwd: "/w", ...params })).sessionId;
const get = async (sessionId: string) => (await s.ok("session/get", { sessionId })).session;
/** What session/get returns, without lastAccessed (the one field an access changes). */
const state = async (sessionId: string) => {
  const { lastAccessed: _, ...rest } = await get(sessionId);
  return rest;
};

describe("session/update", () => {
  it("appends in order across updates, with the result counting what was appended", async () => {
    const sessionId = await newSession();
    const first = await s.ok("session/update", { sessionId, messages: [msg("a"), msg("b", "assistant")] });
    expect(first).toMatchObject({ sessionId, messageCount: 2, revision: 2, appended: 2 });
    expect(first.lastAccessed).toMatch(/\.\d{3}Z$/);
    const second = await s.ok("session/update", { sessionId, messages: [msg("c", "system"), msg("d")] });
    expect(second).toMatchObject({ messageCount: 4, revision: 3, appended: 2 });
    const session = await get(sessionId);
    expect(session.context.map((m: any) => [m.messageId, m.role])).toEqual([
      ["a", "user"],
      ["b", "assistant"],
      ["c", "system"],
      ["d", "user"],
    ]);
  });

  it("assigns a UUID v4 messageId when absent and keeps the client's own", async () => {
    const sessionId = await newSession();
    await s.ok("session/update", {
      sessionId,
      messages: [
        { role: "user", content: "no id" },
        { messageId: "client-id-1", role: "assistant", content: [{ type: "text", text: "with id" }] },
        { role: "user", content: "no id either" },
      ],
    });
    const [a, b, c] = (await get(sessionId)).context;
    expect(a.messageId).toMatch(UUID_V4);
    expect(b.messageId).toBe("client-id-1");
    expect(c.messageId).toMatch(UUID_V4);
    expect(a.messageId).not.toBe(c.messageId);
    expect(b.content).toEqual([{ type: "text", text: "with id" }]);
  });

  it("keeps a given timestamp and defaults it to now", async () => {
    const sessionId = await newSession();
    await s.ok("session/update", {
      sessionId,
      messages: [{ ...msg("t1"), timestamp: "2024-01-02T03:04:05.678Z" }, msg("t2")],
    });
    const [t1, t2] = (await get(sessionId)).context;
    expect(t1.timestamp).toBe("2024-01-02T03:04:05.678Z");
    expect(Date.parse(t2.timestamp)).toBeGreaterThan(Date.parse("2024-01-03T00:00:00Z"));
  });

  it("a retry with the same messageIds appends nothing and answers the same messageCount and revision", async () => {
    const sessionId = await newSession();
    const update = { sessionId, messages: [msg("r1"), msg("r2", "assistant")] };
    const applied = await s.ok("session/update", update);
    const before = await state(sessionId);
    const retried = await s.ok("session/update", update);
    expect(retried).toMatchObject({ appended: 0, messageCount: applied.messageCount, revision: applied.revision });
    expect(await state(sessionId)).toEqual(before);
  });

  it("a partial retry appends only the messages not yet stored", async () => {
    const sessionId = await newSession();
    await s.ok("session/update", { sessionId, messages: [msg("p1"), msg("p2")] });
    const r = await s.ok("session/update", { sessionId, messages: [msg("p1"), msg("p2"), msg("p3", "assistant")] });
    expect(r).toMatchObject({ appended: 1, messageCount: 3, revision: 3 });
    expect((await get(sessionId)).context.map((m: any) => m.messageId)).toEqual(["p1", "p2", "p3"]);
  });

  it("all or nothing: an invalid message anywhere changes nothing, not even the title", async () => {
    const sessionId = await newSession({ title: "before" });
    await s.ok("session/update", { sessionId, messages: [msg("ok1")] });
    const before = await state(sessionId);
    const bad = await s.call("session/update", {
      sessionId,
      title: "after",
      messages: [msg("ok2"), { messageId: "bad", role: "robot", content: "x" }, msg("ok3")],
    });
    expect(bad.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["messages", 1, "role"] }] } });
    expect(bad.error!.message).toContain("messages[1].role");
    const badBlock = await s.call("session/update", { sessionId, messages: [msg("ok4", "user", [{ type: "text" }])] });
    expect(badBlock.error?.code).toBe(-32602);
    const duplicate = await s.call("session/update", { sessionId, messages: [msg("dup"), msg("dup")] });
    expect(duplicate.error?.code).toBe(-32602);
    expect(await state(sessionId)).toEqual(before);
  });

  it("title and mcpServers changes bump the revision; identical values do not", async () => {
    const sessionId = await newSession({ title: "one", mcpServers: [{ name: "a", command: "a", args: [], env: [] }] });
    expect((await get(sessionId)).revision).toBe(1);
    expect((await s.ok("session/update", { sessionId, title: "two" })).revision).toBe(2);
    expect((await s.ok("session/update", { sessionId, title: "two" })).revision).toBe(2);
    const servers = [{ name: "b", type: "http", url: "https://b.example", headers: [] }];
    expect((await s.ok("session/update", { sessionId, mcpServers: servers })).revision).toBe(3);
    expect((await s.ok("session/update", { sessionId, mcpServers: servers, title: "two" })).revision).toBe(3);
    expect((await s.ok("session/update", { sessionId })).revision).toBe(3);
    const session = await get(sessionId);
    expect(session).toMatchObject({ title: "two", mcpServers: ["b"], revision: 3 });
  });

  it("an expectedRevision that differs is -32010 with {sessionId, expectedRevision, revision}, and nothing changes", async () => {
    const sessionId = await newSession();
    await s.ok("session/update", { sessionId, messages: [msg("e1")] }); // revision 2
    const before = await state(sessionId);
    const r = await s.call("session/update", { sessionId, expectedRevision: 1, title: "lost update", messages: [msg("e2")] });
    expect(r.error).toMatchObject({ code: -32010, data: { sessionId, expectedRevision: 1, revision: 2 } });
    expect(await state(sessionId)).toEqual(before);
    // With the right revision it applies.
    expect(await s.ok("session/update", { sessionId, expectedRevision: 2, messages: [msg("e2")] })).toMatchObject({
      revision: 3,
      appended: 1,
    });
  });

  it("a no-op retry succeeds whatever its expectedRevision", async () => {
    const sessionId = await newSession({ title: "t" });
    await s.ok("session/update", { sessionId, expectedRevision: 1, messages: [msg("n1")] });
    await s.ok("session/update", { sessionId, messages: [msg("n2")] }); // revision 3
    for (const expectedRevision of [1, 2, 3, 99]) {
      const r = await s.ok("session/update", { sessionId, expectedRevision, title: "t", messages: [msg("n1")] });
      expect(r).toMatchObject({ appended: 0, messageCount: 2, revision: 3 });
    }
  });

  it("two writers with the same expectedRevision: exactly one wins", async () => {
    const sessionId = await newSession();
    const [a, b] = await Promise.all([
      s.call("session/update", { sessionId, expectedRevision: 1, messages: [msg("writer-a")] }),
      s.call("session/update", { sessionId, expectedRevision: 1, messages: [msg("writer-b")] }),
    ]);
    expect([a, b].filter((r) => r.result).length).toBe(1);
    expect([a, b].filter((r) => r.error?.code === -32010).length).toBe(1);
    expect((await get(sessionId)).messageCount).toBe(1);
  });

  it("an unknown session is -32002", async () => {
    expect((await s.call("session/update", { sessionId: "no-such-session", messages: [msg("x")] })).error).toMatchObject({
      code: -32002,
      data: { sessionId: "no-such-session" },
    });
  });
});
