import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcess, type Harness } from "../helpers/in-process.js";

// session/export through the whole server, on a clock that moves only when a test moves it.
const T0 = Date.UTC(2026, 0, 1);
let clock = T0;
let s: Harness;
beforeAll(async () => {
  s = await inProcess({ maxSessionAgeMs: 10_000, cleanupIntervalMs: 50 }, { now: () => clock });
});
afterAll(() => s.close());

const msg = (messageId: string, role = "user") => ({ messageId, role, content: [{ type: "text", text: `text of ${messageId}` }] });
const ids = (session: { context: { messageId: string }[] }) => session.context.map((m) => m.messageId);

async function sessionWith(count: number): Promise<string> {
  const { sessionId } = await s.ok("session/new", { cwd: "/work", title: "exported", mcpServers: [{ name: "fs", command: "x" }] });
  const messages = Array.from({ length: count }, (_, i) => msg(`m${i}`, i % 2 ? "assistant" : "user"));
  if (count > 0) await s.ok("session/update", { sessionId, messages, retention: { maxIdle: "1h" } });
  return sessionId;
}

describe("session/export", () => {
  it("answers the session as session/get does, every field and message, without an access", async () => {
    const sessionId = await sessionWith(3);
    clock += 1000;
    const { sessionId: fork } = await s.ok("session/fork", { sessionId, cwd: "/work/fork", atMessageId: "m1" });
    await s.ok("session/archive", { sessionId: fork });
    clock += 1000;

    for (const id of [sessionId, fork]) {
      const exported = (await s.ok("session/export", { sessionId: id })).session;
      const listed = (await s.ok("session/list", { archived: "include" })).sessions.find((x: any) => x.sessionId === id);
      expect(exported.lastAccessed).toBe(listed.updatedAt);
      const got = (await s.ok("session/get", { sessionId: id })).session;
      expect(got.lastAccessed).toBe(new Date(clock).toISOString());
      expect(exported).toEqual({ ...got, lastAccessed: exported.lastAccessed });
      expect(exported.lastAccessed).not.toBe(got.lastAccessed);
    }
    const forked = (await s.ok("session/export", { sessionId: fork })).session;
    expect(forked).toMatchObject({ archived: true, parentSessionId: sessionId, forkedAtMessageId: "m1", messageCount: 2 });
    expect(ids(forked)).toEqual(["m0", "m1"]);
    expect((await s.ok("session/export", { sessionId })).session.retention).toEqual({ maxIdleMs: 3_600_000, pinned: false });
  });

  it("pages with offset, limit and afterMessageId as session/get does", async () => {
    const sessionId = await sessionWith(5);
    expect(ids((await s.ok("session/export", { sessionId, limit: 2 })).session)).toEqual(["m0", "m1"]);
    expect(ids((await s.ok("session/export", { sessionId, offset: 3 })).session)).toEqual(["m3", "m4"]);
    const page = (await s.ok("session/export", { sessionId, afterMessageId: "m1", limit: 2 })).session;
    expect(ids(page)).toEqual(["m2", "m3"]);
    expect(page.messageCount).toBe(5);
    expect(ids((await s.ok("session/export", { sessionId, limit: 0 })).session)).toEqual([]);
  });

  it("reads from the end with tail and beforeMessageId as session/get does, still without an access", async () => {
    const sessionId = await sessionWith(5);
    const before = (await s.ok("session/export", { sessionId, limit: 0 })).session.lastAccessed;
    clock += 1000;
    const tail = (await s.ok("session/export", { sessionId, tail: 2 })).session;
    expect(ids(tail)).toEqual(["m3", "m4"]);
    expect(tail).toMatchObject({ contextStart: 3, messageCount: 5, lastAccessed: before });
    const earlier = (await s.ok("session/export", { sessionId, beforeMessageId: "m3", limit: 2 })).session;
    expect(ids(earlier)).toEqual(["m1", "m2"]);
    expect(earlier.contextStart).toBe(1);
    const first = (await s.ok("session/export", { sessionId, beforeMessageId: "m1", limit: 2 })).session;
    expect(ids(first)).toEqual(["m0"]);
    expect(first.contextStart).toBe(0);
    expect((await s.ok("session/export", { sessionId, tail: 9 })).session.contextStart).toBe(0);
    expect((await s.ok("session/get", { sessionId, tail: 2 })).session).toEqual({ ...tail, lastAccessed: new Date(clock).toISOString() });

    const mixed = await s.call("session/export", { sessionId, tail: 2, offset: 1 });
    expect(mixed.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["tail"] }] } });
    const both = await s.call("session/export", { sessionId, beforeMessageId: "m3", afterMessageId: "m1" });
    expect(both.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["beforeMessageId"] }] } });
    const absent = await s.call("session/export", { sessionId, beforeMessageId: "zz" });
    expect(absent.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["beforeMessageId"] }] } });
  });

  it("does not keep an idle session from expiring", async () => {
    const { sessionId } = await s.ok("session/new", { cwd: "/work" });
    clock += 9_000;
    await s.ok("session/export", { sessionId });
    clock += 1_000;
    await s.waitFor(() => s.notifications("session/expired").some((e) => e.sessionId === sessionId), "the expiry");
    expect((await s.call("session/export", { sessionId })).error).toMatchObject({ code: -32002 });
  });

  it("answers -32002 for an unknown session and -32602 naming the field for bad params", async () => {
    expect((await s.call("session/export", { sessionId: "nope" })).error).toMatchObject({ code: -32002, data: { sessionId: "nope" } });
    const sessionId = await sessionWith(1);
    const both = await s.call("session/export", { sessionId, offset: 0, afterMessageId: "m0" });
    expect(both.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["afterMessageId"] }] } });
    const absent = await s.call("session/export", { sessionId, afterMessageId: "zz" });
    expect(absent.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["afterMessageId"] }] } });
    const negative = await s.call("session/export", { sessionId, limit: -1 });
    expect(negative.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["limit"] }] } });
    expect((await s.call("session/export", {})).error).toMatchObject({ code: -32602, data: { issues: [{ path: ["sessionId"] }] } });
  });
});
