import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcess, type Harness } from "../helpers/in-process.js";
import { rpc } from "../helpers/sidecar.js";

// session/load replays the stored context as ACP session/update notifications, ahead of its response.
let s: Harness;
beforeAll(async () => {
  s = await inProcess();
});
afterAll(() => s.close());

const indexOfResponse = (id: string) => s.messages.findIndex((m) => m.id === id && !("method" in m));

describe("session/load", () => {
  it("replays user and agent chunks, each with its messageId, before the {} response", async () => {
    const { sessionId } = await s.ok("session/new", { cwd: "/w" });
    await s.ok("session/update", {
      sessionId,
      messages: [
        { messageId: "u1", role: "user", content: "hello" },
        {
          messageId: "a1",
          role: "assistant",
          content: [
            { type: "text", text: "hi" },
            { type: "text", text: " there" },
          ],
        },
        { role: "user", content: [{ type: "resource_link", name: "README", uri: "file:///w/README.md" }] },
        { messageId: "s1", role: "system", content: "be brief" },
      ],
    });
    const generated = (await s.ok("session/get", { sessionId })).session.context[2].messageId;
    s.write(rpc("load-1", "session/load", { sessionId, cwd: "/w", mcpServers: [] }));
    expect((await s.response("load-1")).result).toEqual({});
    const loadAt = indexOfResponse("load-1");
    const replayed = s.messages
      .slice(0, loadAt)
      .filter((m) => m.method === "session/update" && m.params.sessionId === sessionId)
      .map((m) => m.params.update);
    expect(replayed).toEqual([
      { sessionUpdate: "user_message_chunk", messageId: "u1", content: { type: "text", text: "hello" } },
      { sessionUpdate: "agent_message_chunk", messageId: "a1", content: { type: "text", text: "hi" } },
      { sessionUpdate: "agent_message_chunk", messageId: "a1", content: { type: "text", text: " there" } },
      {
        sessionUpdate: "user_message_chunk",
        messageId: generated,
        content: { type: "resource_link", name: "README", uri: "file:///w/README.md" },
      },
      { sessionUpdate: "agent_message_chunk", messageId: "s1", content: { type: "text", text: "be brief" }, _meta: { role: "system" } },
    ]);
    // Notifications carry no id: they are never mistaken for responses.
    expect(s.messages.filter((m) => m.method === "session/update").every((m) => !("id" in m))).toBe(true);
  });

  it("requests pipelined after a load are answered after it, in order, and later updates are not replayed", async () => {
    const { sessionId } = await s.ok("session/new", { cwd: "/w" });
    const count = 600; // more than one replay slice
    await s.ok("session/update", {
      sessionId,
      messages: Array.from({ length: count }, (_, i) => ({
        messageId: `m${i}`,
        role: i % 2 ? "assistant" : "user",
        content: `message ${i}`,
      })),
    });
    const start = s.messages.length;
    s.write(
      rpc("p-load", "session/load", { sessionId, cwd: "/w", mcpServers: [] }) +
        rpc("p-update", "session/update", { sessionId, messages: [{ messageId: "after-load", role: "user", content: "late" }] }) +
        rpc("p-get", "session/get", { sessionId, offset: count }) +
        rpc("p-list", "session/list", { cwd: "/w" }),
    );
    await s.response("p-list");
    const tail = s.messages.slice(start);
    const order = tail.map((m) => (m.method === "session/update" ? "chunk" : m.id));
    expect(order).toEqual([...Array(count).fill("chunk"), "p-load", "p-update", "p-get", "p-list"]);
    expect(tail.slice(0, count).map((m) => m.params.update.messageId)).toEqual(Array.from({ length: count }, (_, i) => `m${i}`));
    expect(s.responses("p-update")[0]!.result).toMatchObject({ appended: 1, messageCount: count + 1 });
    expect(s.responses("p-get")[0]!.result.session.context.map((m: any) => m.messageId)).toEqual(["after-load"]);
  });

  it("two loads pipelined back to back are both answered, then the requests after them, then the input ends cleanly", async () => {
    const own = await inProcess();
    const { sessionId } = await own.ok("session/new", { cwd: "/w" });
    own.write(
      rpc("L1", "session/load", { sessionId, cwd: "/w", mcpServers: [] }) +
        rpc("L2", "session/load", { sessionId, cwd: "/w", mcpServers: [] }) +
        rpc("after", "session/list", {}),
    );
    await own.close();
    expect(own.messages.map((m) => m.id)).toEqual([1, "L1", "L2", "after"]);
    expect(own.logged).toEqual([]);
  });

  it("an empty session replays nothing and answers {}", async () => {
    const { sessionId } = await s.ok("session/new", { cwd: "/w" });
    const before = s.notifications("session/update").length;
    expect(await s.ok("session/load", { sessionId, cwd: "/w", mcpServers: [] })).toEqual({});
    expect(s.notifications("session/update").length).toBe(before);
  });

  it("an unknown session is -32002; a different cwd is -32602 naming cwd", async () => {
    expect((await s.call("session/load", { sessionId: "nope", cwd: "/w", mcpServers: [] })).error?.code).toBe(-32002);
    const { sessionId } = await s.ok("session/new", { cwd: "/w" });
    const r = await s.call("session/load", { sessionId, cwd: "/elsewhere", mcpServers: [] });
    expect(r.error).toMatchObject({ code: -32602, data: { issues: [{ path: ["cwd"] }] } });
  });

  it("mcpServers given on load replace the stored names", async () => {
    const { sessionId } = await s.ok("session/new", { cwd: "/w", mcpServers: [{ name: "old", command: "x", args: [], env: [] }] });
    await s.ok("session/load", { sessionId, cwd: "/w", mcpServers: [{ name: "new", command: "y", args: [], env: [] }] });
    expect((await s.ok("session/get", { sessionId })).session.mcpServers).toEqual(["new"]);
  });
});
