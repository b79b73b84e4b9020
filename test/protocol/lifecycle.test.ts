import { afterEach, describe, expect, it } from "vitest";
import { inProcess } from "../helpers/in-process.js";

type Harness = Awaited<ReturnType<typeof inProcess>>;
let h: Harness;
afterEach(async () => h?.close());

const msg = (messageId: string, role = "user", content: unknown = messageId) => ({ messageId, role, content });

describe("fork, archive and retention over the protocol", () => {
  it("advertises fork and archive", async () => {
    h = await inProcess();
    const init = await h.ok("initialize", { protocolVersion: 1 });
    expect(init.agentCapabilities.sessionCapabilities).toMatchObject({
      fork: {},
      archive: {},
      list: {},
      delete: {},
      resume: {},
      close: {},
    });
  });

  it("forks at a message, records lineage, and keeps both sides apart", async () => {
    h = await inProcess();
    const { sessionId: parent } = await h.ok("session/new", {
      title: "parent",
      mcpServers: [{ name: "a", command: "x", args: [], env: [] }],
    });
    await h.ok("session/update", { sessionId: parent, messages: [msg("m1"), msg("m2", "assistant"), msg("m3")] });
    const { sessionId: fork } = await h.ok("session/fork", { sessionId: parent, cwd: "/elsewhere", atMessageId: "m2" });
    const got = (await h.ok("session/get", { sessionId: fork })).session;
    expect(got).toMatchObject({
      cwd: "/elsewhere",
      title: "parent",
      mcpServers: [],
      parentSessionId: parent,
      forkedAtMessageId: "m2",
      messageCount: 2,
      revision: 1,
      retention: { maxIdleMs: 3_600_000, pinned: false },
    });
    expect(got.context.map((m: any) => m.messageId)).toEqual(["m1", "m2"]);
    await h.ok("session/update", { sessionId: fork, messages: [msg("f1")] });
    await h.ok("session/remove", { sessionId: parent });
    const after = (await h.ok("session/get", { sessionId: fork })).session;
    expect(after.context.map((m: any) => m.messageId)).toEqual(["m1", "m2", "f1"]);
    expect(after.parentSessionId).toBe(parent);
    const bad = await h.call("session/fork", { sessionId: fork, cwd: "/x", atMessageId: "nope" });
    expect(bad.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["atMessageId"] }] } });
    expect((await h.call("session/fork", { sessionId: parent, cwd: "/x" })).error?.code).toBe(-32002);
  });

  it("archives: hidden from list unless asked, archived in SessionInfo, unarchive restores", async () => {
    h = await inProcess();
    const { sessionId } = await h.ok("session/new", {});
    expect(await h.ok("session/archive", { sessionId })).toEqual({});
    expect((await h.ok("session/list", {})).sessions).toEqual([]);
    const only = await h.ok("session/list", { archived: "only" });
    expect(only.sessions).toMatchObject([{ sessionId, archived: true }]);
    expect((await h.call("session/list", { archived: "sometimes" })).error).toMatchObject({
      code: -32602,
      data: { issues: [{ path: ["archived"] }] },
    });
    expect(await h.ok("session/unarchive", { sessionId })).toEqual({});
    expect((await h.ok("session/list", {})).sessions).toMatchObject([{ sessionId, archived: false }]);
    expect((await h.call("session/archive", { sessionId: "nope" })).error?.code).toBe(-32002);
  });

  it("retention: per-session idle age and pinning are returned and reset with null", async () => {
    h = await inProcess();
    const { sessionId } = await h.ok("session/new", { retention: { maxIdle: "5m" } });
    expect((await h.ok("session/get", { sessionId })).session.retention).toEqual({ maxIdleMs: 300_000, pinned: false });
    await h.ok("session/update", { sessionId, retention: { pinned: true, maxIdle: 1500 } });
    expect((await h.ok("session/get", { sessionId })).session.retention).toEqual({ maxIdleMs: 1500, pinned: true });
    await h.ok("session/update", { sessionId, retention: null });
    expect((await h.ok("session/get", { sessionId })).session.retention).toEqual({ maxIdleMs: 3_600_000, pinned: false });
    expect((await h.call("session/update", { sessionId, retention: { maxIdle: "soon" } })).error).toMatchObject({
      code: -32602,
      data: { issues: [{ path: ["retention", "maxIdle"] }] },
    });
  });

  it("trims whole turns with --on-context-full trim and reports how many", async () => {
    h = await inProcess({ maxContextMessages: 4, onContextFull: "trim" });
    const { sessionId } = await h.ok("session/new", {});
    await h.ok("session/update", { sessionId, messages: [msg("u1"), msg("a1", "assistant"), msg("u2"), msg("a2", "assistant")] });
    const r = await h.ok("session/update", { sessionId, messages: [msg("u3"), msg("a3", "assistant")] });
    expect(r).toMatchObject({ appended: 2, trimmed: 2, messageCount: 4 });
  });
});

describe("limits", () => {
  it("refuses with -32011 naming the limit and its value, and changes nothing", async () => {
    h = await inProcess({ maxSessions: 1, maxContextMessages: 2, maxContentBytes: 200 });
    const { sessionId } = await h.ok("session/new", {});
    expect((await h.call("session/new", {})).error).toMatchObject({ code: -32011, data: { limit: "maxSessions", value: 1 } });
    const big = await h.call("session/update", { sessionId, title: "changed", messages: [msg("x", "user", "y".repeat(500))] });
    expect(big.error).toMatchObject({ code: -32011, data: { limit: "maxContentBytes", value: 200 } });
    const many = await h.call("session/update", { sessionId, messages: [msg("1"), msg("2"), msg("3")] });
    expect(many.error).toMatchObject({ code: -32011, data: { limit: "maxContextMessages", value: 2 } });
    expect((await h.ok("session/get", { sessionId })).session).toMatchObject({ title: null, messageCount: 0, revision: 1 });
  });
});

describe("hostile keys", () => {
  it("stores __proto__, constructor and prototype keys as plain data", async () => {
    h = await inProcess();
    const raw =
      '{"jsonrpc":"2.0","id":"p","method":"session/new","params":{"title":"__proto__","_meta":{"__proto__":{"polluted":true}},"clientCapabilities":{"__proto__":{"x":1},"constructor":{"prototype":{"y":2}}}}}\n';
    h.stdin.write(raw);
    const created = await h.waitFor(() => h.messages.find((m) => m.id === "p"));
    const sessionId = created.result.sessionId;
    const content = JSON.parse('[{"type":"text","text":"hi","__proto__":{"polluted":true},"constructor":{"prototype":{"z":1}}}]');
    await h.ok("session/update", { sessionId, messages: [{ messageId: "constructor", role: "user", content }] });
    const session = (await h.ok("session/get", { sessionId })).session;
    expect(session.title).toBe("__proto__");
    expect(JSON.stringify(session.clientCapabilities)).toBe('{"__proto__":{"x":1},"constructor":{"prototype":{"y":2}}}');
    expect(JSON.stringify(session.context[0].content)).toBe(
      '[{"type":"text","text":"hi","__proto__":{"polluted":true},"constructor":{"prototype":{"z":1}}}]',
    );
    expect(({} as any).polluted).toBeUndefined();
    expect(
      (await h.ok("session/update", { sessionId, messages: [{ messageId: "constructor", role: "user", content: "again" }] })).appended,
    ).toBe(0);
  });
});
