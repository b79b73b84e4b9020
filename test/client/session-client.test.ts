import { afterEach, describe, expect, it } from "vitest";
import { SessionClient, SessionClientError, type SessionExpired, type SessionUpdateNotification } from "../../src/client/index.js";

const clients: SessionClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
const spawnClient = (args: string[] = []) => {
  const client = SessionClient.spawn({ args, stderr: "ignore" });
  clients.push(client);
  return client;
};

async function until<T>(find: () => T | undefined): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("SessionClient against the built bin", () => {
  it("covers the session lifecycle with typed methods", async () => {
    const client = spawnClient();
    const init = await client.initialize({ protocolVersion: 1, clientCapabilities: { terminal: true } });
    expect(init.agentInfo.name).toBe("acp-sessions");
    const sessionId = await client.newSession({ cwd: "/work", title: "t" });
    const update = await client.updateSession({
      sessionId,
      messages: [
        { messageId: "a", role: "user", content: "hi" },
        { role: "assistant", content: [{ type: "text", text: "hello" }] },
      ],
    });
    expect(update).toMatchObject({ appended: 2, messageCount: 2, revision: 2 });
    const session = await client.getSession({ sessionId });
    expect(session).toMatchObject({ title: "t", clientCapabilities: { terminal: true }, messageCount: 2 });
    expect(session.context.map((m) => m.role)).toEqual(["user", "assistant"]);
    const forkId = await client.forkSession({ sessionId, cwd: "/fork", atMessageId: "a" });
    expect((await client.getSession({ sessionId: forkId })).context.map((m) => m.messageId)).toEqual(["a"]);
    await client.archiveSession(forkId);
    expect((await client.listSessions({ archived: "only" })).sessions.map((s) => s.sessionId)).toEqual([forkId]);
    await client.unarchiveSession(forkId);
    await client.closeSession(sessionId);
    await client.resumeSession({ sessionId, cwd: "/work" });
    expect(await client.removeSession(forkId)).toBe(true);
    expect(await client.removeSession(forkId)).toBe(false);
    await client.deleteSession(sessionId);
    await client.deleteSession(sessionId);
    expect((await client.listSessions()).sessions).toEqual([]);
  });

  it("pages through every session with listAll", async () => {
    const client = spawnClient();
    const ids = new Set<string>();
    for (let i = 0; i < 25; i++) ids.add(await client.newSession({ cwd: "/w" }));
    const seen: string[] = [];
    for await (const s of client.listAll({ limit: 7 })) seen.push(s.sessionId);
    expect(new Set(seen)).toEqual(ids);
    expect(seen).toHaveLength(25);
  });

  it("loadSession returns the replay and emits sessionUpdate events", async () => {
    const client = spawnClient();
    const sessionId = await client.newSession({ cwd: "/w" });
    await client.updateSession({
      sessionId,
      messages: [
        { messageId: "u1", role: "user", content: "q" },
        { messageId: "a1", role: "assistant", content: "r" },
      ],
    });
    const events: SessionUpdateNotification[] = [];
    client.on("sessionUpdate", (n) => events.push(n));
    const updates = await client.loadSession({ sessionId, cwd: "/w", mcpServers: [] });
    expect(updates.map((u) => [u.update.sessionUpdate, u.update.messageId])).toEqual([
      ["user_message_chunk", "u1"],
      ["agent_message_chunk", "a1"],
    ]);
    expect(events).toEqual(updates);
  });

  it("raises typed errors carrying the JSON-RPC code and data", async () => {
    const client = spawnClient();
    const err = await client.getSession({ sessionId: "nope" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionClientError);
    expect(err).toMatchObject({ code: -32002, data: { sessionId: "nope" } });
    const sessionId = await client.newSession({});
    await client.updateSession({ sessionId, title: "x" });
    const conflict = await client.updateSession({ sessionId, title: "y", expectedRevision: 1 }).catch((e: unknown) => e);
    expect(conflict).toMatchObject({ code: -32010, data: { sessionId, expectedRevision: 1, revision: 2 } });
    const invalid = await client.request("session/get", { sessionId: 5 }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: -32602 });
  });

  it("emits expired notifications", async () => {
    const client = spawnClient(["--max-session-age", "300ms", "--cleanup-interval", "100ms"]);
    const expired: SessionExpired[] = [];
    client.on("expired", (e) => expired.push(e));
    const sessionId = await client.newSession({});
    const event = await until(() => expired.find((e) => e.sessionId === sessionId));
    expect(event).toMatchObject({ sessionId, action: "delete", messageCount: 0 });
  });

  it("close() ends the child cleanly with exit code 0", async () => {
    const client = SessionClient.spawn({ stderr: "ignore" });
    await client.newSession({});
    expect(await client.close()).toBe(0);
  });
});
