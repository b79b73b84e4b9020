import { afterAll, afterEach, describe, expect, it } from "vitest";
import { sessionMethods } from "../../src/protocol/handlers.js";
import type { RequestContext } from "../../src/rpc/connection.js";
import { MemoryStore } from "../../src/store/memory/store.js";
import type { SessionStore } from "../../src/store/types.js";
import { message, newSession } from "../store/contract.js";
import { inProcess } from "../helpers/in-process.js";
import { availableStores, stopStores } from "../helpers/stores.js";

type Harness = Awaited<ReturnType<typeof inProcess>>;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(stopStores);

const T0 = Date.UTC(2026, 0, 1);
const ids = (session: { context: { messageId: string }[] }) => session.context.map((m) => m.messageId);

/** A session of messages m1…m<count>, alternating user and assistant. */
async function sessionOf(harness: Harness, count: number): Promise<string> {
  const { sessionId } = await harness.ok("session/new", { cwd: "/w" });
  const messages = Array.from({ length: count }, (_, i) => ({
    messageId: `m${i + 1}`,
    role: i % 2 ? "assistant" : "user",
    content: `${i + 1}`,
  }));
  if (count > 0) await harness.ok("session/update", { sessionId, messages });
  return sessionId;
}

/** The invalid-params error's first issue path, or the error code when it is another error. */
async function refusal(harness: Harness, method: string, params: unknown) {
  const { error } = await harness.call(method, params);
  return error?.code === -32602 ? { code: error.code, path: error.data.issues[0].path } : { code: error?.code };
}

describe("session/get: tail and beforeMessageId", () => {
  it("refuses the combinations that name two starts, and bad counts, naming the field", async () => {
    h = await inProcess();
    const sessionId = await sessionOf(h, 3);
    const refused = { code: -32602 };
    expect(await refusal(h, "session/get", { sessionId, tail: 1, offset: 0 })).toEqual({ ...refused, path: ["tail"] });
    expect(await refusal(h, "session/get", { sessionId, tail: 1, afterMessageId: "m1" })).toEqual({ ...refused, path: ["tail"] });
    expect(await refusal(h, "session/get", { sessionId, tail: 1, beforeMessageId: "m2" })).toEqual({ ...refused, path: ["tail"] });
    expect(await refusal(h, "session/get", { sessionId, beforeMessageId: "m2", offset: 1 })).toEqual({
      ...refused,
      path: ["beforeMessageId"],
    });
    expect(await refusal(h, "session/get", { sessionId, beforeMessageId: "m2", afterMessageId: "m1" })).toEqual({
      ...refused,
      path: ["beforeMessageId"],
    });
    expect(await refusal(h, "session/get", { sessionId, tail: -1 })).toEqual({ ...refused, path: ["tail"] });
    expect(await refusal(h, "session/get", { sessionId, tail: 1.5 })).toEqual({ ...refused, path: ["tail"] });
    expect(await refusal(h, "session/get", { sessionId, tail: "2" })).toEqual({ ...refused, path: ["tail"] });
    expect(await refusal(h, "session/get", { sessionId, beforeMessageId: "" })).toEqual({ ...refused, path: ["beforeMessageId"] });
    // Allowed: tail with a limit, beforeMessageId with or without one.
    expect(ids((await h.ok("session/get", { sessionId, tail: 2, limit: 1 })).session)).toEqual(["m3"]);
    expect(ids((await h.ok("session/get", { sessionId, beforeMessageId: "m3" })).session)).toEqual(["m1", "m2"]);
  });

  it("an unknown beforeMessageId is -32602 naming it; an unknown session -32002", async () => {
    h = await inProcess();
    const sessionId = await sessionOf(h, 2);
    const { error } = await h.call("session/get", { sessionId, beforeMessageId: "nope", limit: 1 });
    expect(error).toMatchObject({ code: -32602, data: { issues: [{ path: ["beforeMessageId"] }] } });
    expect(error!.message).toContain("nope");
    expect(await refusal(h, "session/get", { sessionId: "nope", tail: 1 })).toEqual({ code: -32002 });
  });
});

describe.each(availableStores())("windows over the protocol ($name)", ({ config }) => {
  it("every session/get says where its context starts, whatever was read before at the same revision", async () => {
    h = await inProcess(await config());
    const sessionId = await sessionOf(h, 10);
    const get = async (params: object) => {
      const { session } = await h!.ok("session/get", { sessionId, ...params });
      return { start: session.contextStart, ids: ids(session), count: session.messageCount };
    };
    expect(await get({})).toEqual({ start: 0, ids: ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10"], count: 10 });
    expect(await get({ tail: 2 })).toEqual({ start: 8, ids: ["m9", "m10"], count: 10 });
    expect(await get({ beforeMessageId: "m9", limit: 3 })).toEqual({ start: 5, ids: ["m6", "m7", "m8"], count: 10 });
    expect(await get({ offset: 4, limit: 1 })).toEqual({ start: 4, ids: ["m5"], count: 10 });
    expect(await get({ offset: 99 })).toEqual({ start: 10, ids: [], count: 10 });
    expect(await get({ tail: 0 })).toEqual({ start: 10, ids: [], count: 10 });
    expect(await get({ beforeMessageId: "m1" })).toEqual({ start: 0, ids: [], count: 10 });
    // The same windows again: answers kept per revision must not keep a window's start.
    expect(await get({ tail: 2 })).toEqual({ start: 8, ids: ["m9", "m10"], count: 10 });
    expect((await get({})).start).toBe(0);
  });

  it("session/load replays the tail or what follows a message, and says where it started", async () => {
    h = await inProcess(await config());
    const sessionId = await sessionOf(h, 6);
    const load = async (meta: object | undefined) => {
      const before = h!.notifications("session/update").length;
      const result = await h!.ok("session/load", { sessionId, cwd: "/w", mcpServers: [], ...(meta && { _meta: meta }) });
      const replayed = h!.notifications("session/update").slice(before);
      return { result, replayed: replayed.map((n) => n.update.messageId) };
    };
    expect(await load({ replayTail: 2 })).toEqual({ result: { _meta: { replayedFrom: 4, messageCount: 6 } }, replayed: ["m5", "m6"] });
    expect(await load({ replayTail: 0 })).toEqual({ result: { _meta: { replayedFrom: 6, messageCount: 6 } }, replayed: [] });
    expect(await load({ replayTail: 50 })).toEqual({
      result: { _meta: { replayedFrom: 0, messageCount: 6 } },
      replayed: ["m1", "m2", "m3", "m4", "m5", "m6"],
    });
    expect(await load({ replayAfterMessageId: "m3" })).toEqual({
      result: { _meta: { replayedFrom: 3, messageCount: 6 } },
      replayed: ["m4", "m5", "m6"],
    });
    expect(await load({ replayAfterMessageId: "m6" })).toEqual({ result: { _meta: { replayedFrom: 6, messageCount: 6 } }, replayed: [] });
    // Without them, everything as before; other _meta keys change nothing.
    expect(await load(undefined)).toEqual({ result: {}, replayed: ["m1", "m2", "m3", "m4", "m5", "m6"] });
    expect(await load({ traceId: "x" })).toEqual({ result: {}, replayed: ["m1", "m2", "m3", "m4", "m5", "m6"] });
  });

  it("session/load refuses an unknown replayAfterMessageId, bad replay params and both at once, leaving the session alone", async () => {
    let now = T0;
    h = await inProcess(await config(), { now: () => now });
    const sessionId = await sessionOf(h, 3);
    await h.ok("session/close", { sessionId });
    now += 60_000;
    const params = (meta: object) => ({ sessionId, cwd: "/w", mcpServers: [{ name: "new" }], _meta: meta });
    const before = h.notifications("session/update").length;
    const { error } = await h.call("session/load", params({ replayAfterMessageId: "nope" }));
    expect(error).toMatchObject({ code: -32602, data: { issues: [{ path: ["_meta", "replayAfterMessageId"] }] } });
    expect(await refusal(h, "session/load", params({ replayTail: -1 }))).toEqual({ code: -32602, path: ["_meta", "replayTail"] });
    expect(await refusal(h, "session/load", params({ replayTail: 1, replayAfterMessageId: "m1" }))).toEqual({
      code: -32602,
      path: ["_meta", "replayAfterMessageId"],
    });
    expect(await refusal(h, "session/load", { ...params({ replayTail: 1 }), sessionId: "nope" })).toEqual({ code: -32002 });
    expect(h.notifications("session/update").length).toBe(before);
    expect(await h.ok("session/status", { sessionId })).toEqual({ status: "saved" });
    const [listed] = (await h.ok("session/list", {})).sessions;
    expect(listed).toMatchObject({ sessionId, updatedAt: new Date(T0).toISOString(), revision: 2 });
  });
});

describe("tail replay of a long session", () => {
  it("reads and sends only the tail of 100,000 messages", async () => {
    const memory = new MemoryStore({ maxIdleMs: 3_600_000 });
    const { sessionId } = memory.create(newSession({ cwd: "/w" }), T0);
    memory.update({ sessionId, messages: Array.from({ length: 100_000 }, (_, i) => message(`m${i}`)), changes: {} }, T0);
    const reads: [number, number][] = [];
    const store: SessionStore = Object.create(memory, {
      readMessages: {
        value: (id: string, from: number, count: number) => (reads.push([from, count]), memory.readMessages(id, from, count)),
      },
    });
    const sent: string[] = [];
    const ctx: RequestContext = {
      notify: (_method, params) => sent.push((params as { update: { messageId: string } }).update.messageId),
      drained: async () => {},
    };
    const load = sessionMethods({ store, now: () => T0, cwd: "/w", version: "test", maxIdleMs: 3_600_000 }).get("session/load")!;
    const result = await load.handle({ sessionId, cwd: "/w", _meta: { replayTail: 100 } }, ctx);
    expect(result).toEqual({ _meta: { replayedFrom: 99_900, messageCount: 100_000 } });
    expect(sent).toEqual(Array.from({ length: 100 }, (_, i) => `m${99_900 + i}`));
    expect(reads.reduce((sum, [, count]) => sum + count, 0)).toBe(100);
    expect(Math.min(...reads.map(([from]) => from))).toBe(99_900);
    // Building the 100,000 messages takes seconds on a loaded 2-core machine: a generous bound, not a measure.
  }, 60_000);
});
