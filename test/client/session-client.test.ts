import { afterEach, describe, expect, it } from "vitest";
import {
  ConnectionClosedError,
  ErrorCode,
  MessageTooLargeError,
  SessionClient,
  SessionClientError,
  type ConnectOptions,
  type SessionExpired,
  type SessionNotification,
} from "../../src/client/index.js";
import type { Config } from "../../src/config.js";
import { inProcess, type Harness } from "../helpers/in-process.js";
import { failure } from "../helpers/failure.js";

// The client connected to the whole server over in-memory streams; spawning the bin is test/process/session-client-spawn.
const servers: Harness[] = [];
const clients: SessionClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close({ timeoutMs: 2000 })));
  await Promise.all(servers.splice(0).map((h) => h.close()));
});

/** The server the latest client is connected to. */
let server: Harness;
/** A server of its own and a client connected to it. */
const connectClient = async (config: Partial<Config> = {}, options: ConnectOptions = {}) => {
  server = await inProcess(config);
  servers.push(server);
  const client = SessionClient.connect(server.fromServer, server.stdin, options);
  clients.push(client);
  return client;
};

describe("SessionClient connected to the server", () => {
  it("covers every method with typed params and results", async () => {
    const client = await connectClient();
    const init = await client.initialize({ protocolVersion: 1, clientCapabilities: { terminal: true } });
    expect(init).toMatchObject({ protocolVersion: 1, agentInfo: { name: "acp-sessions" }, agentCapabilities: { loadSession: true } });

    const { sessionId } = await client.newSession({ cwd: "/work", title: "t", mcpServers: [{ name: "fs", command: "x" }] });
    const update = await client.updateSession({
      sessionId,
      messages: [
        { messageId: "a", role: "user", content: "hi" },
        { role: "assistant", content: [{ type: "text", text: "hello" }] },
      ],
    });
    expect(update).toMatchObject({ sessionId, appended: 2, messageCount: 2, revision: 2, trimmed: 0 });

    const { session } = await client.getSession({ sessionId });
    expect(session).toMatchObject({
      title: "t",
      cwd: "/work",
      mcpServers: ["fs"],
      clientCapabilities: { terminal: true },
      messageCount: 2,
    });
    expect(session.context.map((m) => m.role)).toEqual(["user", "assistant"]);
    expect((await client.getSession({ sessionId, afterMessageId: "a" })).session.context).toHaveLength(1);

    const fork = await client.forkSession({ sessionId, cwd: "/fork", atMessageId: "a" });
    const forked = (await client.getSession({ sessionId: fork.sessionId })).session;
    expect(forked).toMatchObject({ parentSessionId: sessionId, forkedAtMessageId: "a", title: "t" });
    expect(forked.context.map((m) => m.messageId)).toEqual(["a"]);

    expect(await client.archiveSession({ sessionId: fork.sessionId })).toEqual({});
    expect((await client.listSessions({ archived: "only" })).sessions.map((s) => s.sessionId)).toEqual([fork.sessionId]);
    expect(await client.unarchiveSession({ sessionId: fork.sessionId })).toEqual({});
    expect((await client.listSessions({ cwd: "/fork" })).sessions).toMatchObject([{ sessionId: fork.sessionId, archived: false }]);

    expect(await client.closeSession({ sessionId })).toEqual({});
    expect(await client.resumeSession({ sessionId, cwd: "/work" })).toEqual({});
    expect(await client.loadSession({ sessionId, cwd: "/work", mcpServers: [] })).toHaveLength(2);

    expect(await client.removeSession({ sessionId: fork.sessionId })).toEqual({ removed: true });
    expect(await client.removeSession({ sessionId: fork.sessionId })).toEqual({ removed: false });
    expect(await client.deleteSession({ sessionId })).toEqual({});
    expect(await client.deleteSession({ sessionId })).toEqual({});
    expect((await client.listSessions()).sessions).toEqual([]);
  });

  it("request() is typed for the sidecar's methods and open to any other", async () => {
    const client = await connectClient();
    const { sessionId } = await client.request("session/new", { title: "by name" });
    expect((await client.request("session/get", { sessionId })).session.title).toBe("by name");
    expect(await failure(client.request("no/such/method", {}))).toMatchObject({ code: ErrorCode.MethodNotFound });
  });

  it("pages through every session with listAll", async () => {
    const client = await connectClient();
    const ids = new Set<string>();
    for (let i = 0; i < 25; i++) ids.add((await client.newSession({ cwd: "/w" })).sessionId);
    const seen: string[] = [];
    for await (const s of client.listAll({ limit: 7 })) seen.push(s.sessionId);
    expect(seen).toHaveLength(25);
    expect(new Set(seen)).toEqual(ids);
  });

  it("loadSession collects the replay, or streams it to a callback, and emits sessionUpdate events", async () => {
    const client = await connectClient();
    const { sessionId } = await client.newSession({ cwd: "/w" });
    await client.updateSession({
      sessionId,
      messages: [
        { messageId: "u1", role: "user", content: "q" },
        { messageId: "a1", role: "assistant", content: "r" },
        { messageId: "s1", role: "system", content: "note" },
      ],
    });
    const events: SessionNotification[] = [];
    client.on("sessionUpdate", (n) => events.push(n));

    const updates = await client.loadSession({ sessionId, cwd: "/w", mcpServers: [] });
    expect(updates.map((u) => [u.update.sessionUpdate, "messageId" in u.update && u.update.messageId])).toEqual([
      ["user_message_chunk", "u1"],
      ["agent_message_chunk", "a1"],
      ["agent_message_chunk", "s1"],
    ]);
    expect(updates[0]).toEqual({
      sessionId,
      update: { sessionUpdate: "user_message_chunk", messageId: "u1", content: { type: "text", text: "q" } },
    });
    expect(events).toEqual(updates);

    // Streamed, the load's result comes back: `{}` for a whole replay.
    const streamed: SessionNotification[] = [];
    expect(await client.loadSession({ sessionId, cwd: "/w" }, (n) => streamed.push(n))).toEqual({});
    expect(streamed).toEqual(updates);

    // A tail: only the last messages, and where they start.
    const tail: SessionNotification[] = [];
    const result = await client.loadSession({ sessionId, cwd: "/w", _meta: { replayTail: 2 } }, (n) => tail.push(n));
    expect(result).toEqual({ _meta: { replayedFrom: 1, messageCount: 3 } });
    expect(tail).toEqual(updates.slice(1));
    expect(await client.loadSession({ sessionId, cwd: "/w", _meta: { replayAfterMessageId: "a1" } })).toEqual(updates.slice(2));

    const refused = new Error("no more");
    expect(
      await failure(
        client.loadSession({ sessionId, cwd: "/w" }, () => {
          throw refused;
        }),
      ),
    ).toBe(refused);
    expect((await client.listSessions()).sessions).toHaveLength(1);
  });

  it("raises SessionClientError carrying the JSON-RPC code and data", async () => {
    const client = await connectClient();
    const missing = await failure(client.getSession({ sessionId: "nope" }));
    expect(missing).toBeInstanceOf(SessionClientError);
    expect(missing).toMatchObject({ code: -32002, message: "Session not found", data: { sessionId: "nope" } });

    const { sessionId } = await client.newSession({});
    await client.updateSession({ sessionId, title: "x" });
    const conflict = await failure(client.updateSession({ sessionId, title: "y", expectedRevision: 1 }));
    expect(conflict).toMatchObject({ code: ErrorCode.RevisionConflict, data: { sessionId, expectedRevision: 1, revision: 2 } });

    // A caller without the types (plain JavaScript) can still send what the schema refuses.
    const invalid = await failure(client.request("session/get" as string, { sessionId: 5 }));
    expect(invalid).toBeInstanceOf(SessionClientError);
    expect(invalid).toMatchObject({ code: ErrorCode.InvalidParams, data: { issues: [{ path: ["sessionId"] }] } });
  });

  it("emits expired notifications", async () => {
    const client = await connectClient({ maxSessionAgeMs: 300, cleanupIntervalMs: 100 });
    const expired: SessionExpired[] = [];
    client.on("expired", (e) => expired.push(e));
    const { sessionId } = await client.newSession({});
    const event = await server.waitFor(() => expired.find((e) => e.sessionId === sessionId), "the expired event");
    expect(event).toMatchObject({ sessionId, action: "delete", messageCount: 0 });
    expect(Date.parse(event.expiredAt) - Date.parse(event.lastAccessed)).toBeGreaterThanOrEqual(300);
  });

  it("ends the connection when the sidecar sends a message over maxReceiveBytes", async () => {
    const client = await connectClient({}, { maxReceiveBytes: 4096 });
    const { sessionId } = await client.newSession({});
    for (let i = 0; i < 4; i++) await client.updateSession({ sessionId, messages: [{ role: "user", content: "x".repeat(2000) }] });
    const err = await failure(client.getSession({ sessionId }));
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).cause).toBeInstanceOf(MessageTooLargeError);
  });

  it("ends the connection when the sidecar cannot tell which request it refused", async () => {
    const client = await connectClient({ maxMessageBytes: 1024 });
    await client.initialize();
    const err = await failure(client.newSession({ title: "x".repeat(2000) }));
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).message).toMatch(/^the sidecar could not read a request: .* \(-32600\)$/);
  });
});
