import { afterAll, afterEach, describe, expect, it } from "vitest";
import { inProcess } from "../helpers/in-process.js";
import { availableStores, stopStores } from "../helpers/stores.js";

type Harness = Awaited<ReturnType<typeof inProcess>>;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

afterAll(stopStores);

const message = (messageId: string, role = "user") => ({ messageId, role, content: `${messageId} text` });

/** The session/changed notifications of one session, as (type, revision, count, ids) for the assertions. */
function changes(h: Harness, sessionId: string) {
  return h
    .notifications("session/changed")
    .filter((n) => n.sessionId === sessionId)
    .map((n) => {
      const { type, messages } = n.change;
      const entry: Record<string, unknown> = { type, revision: n.revision, messageCount: n.messageCount };
      if (messages) entry.ids = messages.map((m: { messageId: string }) => m.messageId);
      if (type === "expired") entry.action = n.change.action;
      return entry;
    });
}

/** Where a response and a notification stand among everything the server wrote. */
const indexOfResponse = (h: Harness, id: number) => h.messages.findIndex((m) => m.id === id && !("method" in m));

describe.each(availableStores())("session/subscribe ($name)", ({ config }) => {
  const waitChanges = (sessionId: string, count: number) =>
    h!.waitFor(() => changes(h!, sessionId).length >= count && changes(h!, sessionId), `${count} changes`);

  it("answers where the session stands; the catch-up and then every change follow the answer", async () => {
    h = await inProcess(await config());
    const { sessionId } = await h.ok("session/new", { cwd: "/w" });
    await h.ok("session/update", { sessionId, messages: [message("m1"), message("m2", "assistant"), message("m3")] });
    const subscribe = await h.call("session/subscribe", { sessionId, afterMessageId: "m1" });
    expect(subscribe.result).toEqual({ sessionId, revision: 2, messageCount: 3 });
    await h.ok("session/update", { sessionId, messages: [message("m4", "assistant")], title: "named" });
    await h.ok("session/archive", { sessionId });
    await h.ok("session/unarchive", { sessionId });
    const seen = await waitChanges(sessionId, 5);
    expect(seen).toEqual([
      { type: "appended", revision: 2, messageCount: 3, ids: ["m2", "m3"] },
      { type: "appended", revision: 3, messageCount: 4, ids: ["m4"] },
      { type: "updated", revision: 3, messageCount: 4 },
      { type: "archived", revision: 4, messageCount: 4 },
      { type: "unarchived", revision: 5, messageCount: 4 },
    ]);
    const first = h.messages.findIndex((m) => m.method === "session/changed");
    expect(first).toBeGreaterThan(h.messages.findIndex((m) => m.result?.revision === 2 && m.result?.sessionId === sessionId));
    const updated = h.notifications("session/changed").find((n) => n.change.type === "updated");
    expect(updated.change.session).toMatchObject({ sessionId, title: "named", messageCount: 4, revision: 3, archived: false });
    const appended = h.notifications("session/changed").find((n) => n.change.type === "appended");
    expect(appended.change.messages[0]).toMatchObject({ messageId: "m2", role: "assistant", content: "m2 text" });
    expect(typeof appended.change.messages[0].timestamp).toBe("string");
  });

  it("changes made between the subscribe and its answer come after the answer, in a pipelined burst and in a batch", async () => {
    h = await inProcess(await config());
    const { sessionId } = await h.ok("session/new", { cwd: "/w" });
    const request = (id: number, method: string, params: unknown) => ({ jsonrpc: "2.0", id, method, params });
    h.write(
      [
        request(101, "session/subscribe", { sessionId }),
        request(102, "session/update", { sessionId, messages: [message("a")] }),
        request(103, "session/update", { sessionId, messages: [message("b")] }),
      ]
        .map((r) => JSON.stringify(r) + "\n")
        .join(""),
    );
    await waitChanges(sessionId, 2);
    const firstChange = h.messages.findIndex((m) => m.method === "session/changed");
    expect(firstChange).toBeGreaterThan(indexOfResponse(h, 101));
    expect(changes(h, sessionId).map((c) => c.ids)).toEqual([["a"], ["b"]]);

    const { sessionId: other } = await h.ok("session/new", { cwd: "/w" });
    h.write(
      JSON.stringify([
        request(201, "session/subscribe", { sessionId: other }),
        request(202, "session/update", { sessionId: other, messages: [message("c")] }),
      ]) + "\n",
    );
    await waitChanges(other, 1);
    const array = h.messages.findIndex((m) => Array.isArray(m) && m.some((r: { id: number }) => r.id === 201));
    expect(array).toBeGreaterThan(-1);
    expect(h.messages.findIndex((m) => m.method === "session/changed" && m.params.sessionId === other)).toBeGreaterThan(array);
  });

  it("refuses an unknown session (-32002) and an unknown afterMessageId (-32602), subscribing nothing", async () => {
    h = await inProcess(await config());
    const unknown = await h.call("session/subscribe", { sessionId: "nope" });
    expect(unknown.error).toMatchObject({ code: -32002, data: { sessionId: "nope" } });
    const { sessionId } = await h.ok("session/new", { cwd: "/w" });
    const badAfter = await h.call("session/subscribe", { sessionId, afterMessageId: "zz" });
    expect(badAfter.error?.code).toBe(-32602);
    expect(badAfter.error?.data.issues[0].path).toEqual(["afterMessageId"]);
    expect((await h.call("session/subscribe", { sessionId, acpUpdates: "yes" })).error?.code).toBe(-32602);
    await h.ok("session/update", { sessionId, messages: [message("m1")] });
    // A subscription made afterwards hears its first change: had the refused one been made, it would have too.
    await h.ok("session/subscribe", { sessionId });
    await h.ok("session/update", { sessionId, messages: [message("m2")] });
    await waitChanges(sessionId, 1);
    expect(changes(h, sessionId).map((c) => c.ids)).toEqual([["m2"]]);
  });

  it("subscribing twice is one subscription; unsubscribe ends it and answers {} whatever the case; close ends it too", async () => {
    h = await inProcess(await config());
    const { sessionId } = await h.ok("session/new", { cwd: "/w" });
    await h.ok("session/subscribe", { sessionId });
    await h.ok("session/update", { sessionId, messages: [message("m1")] });
    expect(await h.ok("session/subscribe", { sessionId, afterMessageId: "m1" })).toEqual({ sessionId, revision: 2, messageCount: 1 });
    await h.ok("session/update", { sessionId, messages: [message("m2")] });
    await waitChanges(sessionId, 2);
    expect(await h.ok("session/unsubscribe", { sessionId })).toEqual({});
    expect(await h.ok("session/unsubscribe", { sessionId })).toEqual({});
    expect(await h.ok("session/unsubscribe", { sessionId: "nope" })).toEqual({});
    await h.ok("session/update", { sessionId, messages: [message("m3")] });

    await h.ok("session/subscribe", { sessionId });
    await h.ok("session/close", { sessionId });
    await h.ok("session/update", { sessionId, messages: [message("m4")] });
    // A marker through a new subscription: everything before it has been told by the time it is.
    await h.ok("session/subscribe", { sessionId });
    await h.ok("session/update", { sessionId, messages: [message("m5")] });
    await waitChanges(sessionId, 3);
    expect(changes(h, sessionId).map((c) => c.ids)).toEqual([["m1"], ["m2"], ["m5"]]);
  });

  it("archiving does not end it; removing (or ACP delete) does, with `removed`", async () => {
    h = await inProcess(await config());
    for (const method of ["session/remove", "session/delete"]) {
      const { sessionId } = await h.ok("session/new", { cwd: "/w" });
      await h.ok("session/update", { sessionId, messages: [message("m1")] });
      await h.ok("session/subscribe", { sessionId });
      await h.ok("session/archive", { sessionId });
      await h.ok("session/update", { sessionId, messages: [message("m2")] });
      await h.ok(method, { sessionId });
      await waitChanges(sessionId, 3);
      expect(changes(h, sessionId)).toEqual([
        { type: "archived", revision: 3, messageCount: 1 },
        { type: "appended", revision: 4, messageCount: 2, ids: ["m2"] },
        { type: "removed", revision: 4, messageCount: 2 },
      ]);
    }
  });

  it("with acpUpdates, appends come as session/load replays them and a new title as session_info_update", async () => {
    h = await inProcess(await config());
    const { sessionId } = await h.ok("session/new", { cwd: "/w", title: "first" });
    await h.ok("session/update", { sessionId, messages: [message("m1")] });
    await h.ok("session/subscribe", { sessionId, acpUpdates: true, afterMessageId: "m1" });
    const messages = [
      message("m2", "assistant"),
      {
        messageId: "m3",
        role: "system",
        content: [
          { type: "text", text: "one" },
          { type: "text", text: "two" },
        ],
      },
    ];
    await h.ok("session/update", { sessionId, messages });
    await h.ok("session/update", { sessionId, title: "second" });
    await h.ok("session/update", { sessionId, additionalDirectories: ["/lib"] });
    await waitChanges(sessionId, 3);
    await h.waitFor(() => h!.notifications("session/update").some((n) => n.update.sessionUpdate === "session_info_update"));
    const live = h.notifications("session/update").filter((n) => n.sessionId === sessionId);
    const updatedAt = h.notifications("session/changed").find((n) => n.change.session?.title === "second").change.session.updatedAt;
    expect(live.map((n) => n.update)).toEqual([
      { sessionUpdate: "agent_message_chunk", messageId: "m2", content: { type: "text", text: "m2 text" } },
      { sessionUpdate: "agent_message_chunk", messageId: "m3", content: { type: "text", text: "one" }, _meta: { role: "system" } },
      { sessionUpdate: "agent_message_chunk", messageId: "m3", content: { type: "text", text: "two" }, _meta: { role: "system" } },
      { sessionUpdate: "session_info_update", title: "second", updatedAt },
    ]);
    // Exactly what session/load replays for the same messages.
    const before = h.notifications("session/update").length;
    await h.ok("session/load", { sessionId, cwd: "/w", mcpServers: [] });
    const replayed = h
      .notifications("session/update")
      .slice(before)
      .filter((n) => n.update.messageId !== "m1");
    expect(replayed).toEqual(live.slice(0, 3));
  });

  it("is not an access", async () => {
    let clock = Date.UTC(2026, 0, 1);
    h = await inProcess({ ...(await config()) }, { now: () => clock });
    const { sessionId } = await h.ok("session/new", { cwd: "/w" });
    clock += 60_000;
    await h.ok("session/subscribe", { sessionId });
    await h.ok("session/subscribe", { sessionId });
    const listed = (await h.ok("session/list", {})).sessions.find((s: { sessionId: string }) => s.sessionId === sessionId);
    expect(listed.updatedAt).toBe(new Date(Date.UTC(2026, 0, 1)).toISOString());
  });

  it("expiry: `expired` with its action; a delete ends the subscription, an archive does not", async () => {
    for (const onExpire of ["archive", "delete"] as const) {
      let clock = Date.UTC(2026, 0, 1);
      h = await inProcess({ ...(await config()), maxSessionAgeMs: 1000, cleanupIntervalMs: 20, onExpire }, { now: () => clock });
      const { sessionId } = await h.ok("session/new", { cwd: "/w" });
      await h.ok("session/subscribe", { sessionId });
      clock += 2000;
      await waitChanges(sessionId, 1);
      expect(changes(h, sessionId)).toEqual([
        { type: "expired", action: onExpire, revision: onExpire === "archive" ? 2 : 1, messageCount: 0 },
      ]);
      await h.close();
    }
    h = undefined;
  });
});
