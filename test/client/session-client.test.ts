import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ConnectionClosedError,
  ErrorCode,
  MessageTooLargeError,
  SessionClient,
  SessionClientError,
  type SessionExpired,
  type SessionNotification,
  type SpawnOptions,
} from "../../src/client/index.js";

// The client spawns bin/acp-sessions.js, which runs the compiled sidecar: `npx tsc -p .` first.
const BIN = fileURLToPath(new URL("../../bin/acp-sessions.js", import.meta.url));
beforeAll(() => {
  if (!existsSync(new URL("../../dist/src/cli/index.js", import.meta.url))) throw new Error("build first: npx tsc -p .");
});

const clients: SessionClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close({ timeoutMs: 2000 })));
});
const spawnClient = (options: SpawnOptions = {}) => {
  const client = SessionClient.spawn({ stderr: "ignore", ...options });
  clients.push(client);
  return client;
};

async function until<T>(find: () => T | undefined, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (err: unknown) => err,
  );

describe("SessionClient against the built bin", () => {
  it("covers every method with typed params and results", async () => {
    const client = spawnClient();
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
    const client = spawnClient();
    const { sessionId } = await client.request("session/new", { title: "by name" });
    expect((await client.request("session/get", { sessionId })).session.title).toBe("by name");
    expect(await failure(client.request("no/such/method", {}))).toMatchObject({ code: ErrorCode.MethodNotFound });
  });

  it("pages through every session with listAll", async () => {
    const client = spawnClient();
    const ids = new Set<string>();
    for (let i = 0; i < 25; i++) ids.add((await client.newSession({ cwd: "/w" })).sessionId);
    const seen: string[] = [];
    for await (const s of client.listAll({ limit: 7 })) seen.push(s.sessionId);
    expect(seen).toHaveLength(25);
    expect(new Set(seen)).toEqual(ids);
  });

  it("loadSession collects the replay, or streams it to a callback, and emits sessionUpdate events", async () => {
    const client = spawnClient();
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

    const streamed: SessionNotification[] = [];
    expect(await client.loadSession({ sessionId, cwd: "/w" }, (n) => streamed.push(n))).toBeUndefined();
    expect(streamed).toEqual(updates);

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
    const client = spawnClient();
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

  it("passes its options to the sidecar as flags", async () => {
    const client = spawnClient({ maxSessions: 1, maxSessionAge: "10m", execPath: process.execPath });
    await client.newSession({});
    expect(await failure(client.newSession({}))).toMatchObject({ code: ErrorCode.LimitExceeded });
  });

  it("emits expired notifications", async () => {
    const client = spawnClient({ maxSessionAge: "300ms", cleanupInterval: "100ms" });
    const expired: SessionExpired[] = [];
    client.on("expired", (e) => expired.push(e));
    const { sessionId } = await client.newSession({});
    const event = await until(() => expired.find((e) => e.sessionId === sessionId));
    expect(event).toMatchObject({ sessionId, action: "delete", messageCount: 0 });
    expect(Date.parse(event.expiredAt) - Date.parse(event.lastAccessed)).toBeGreaterThanOrEqual(300);
  });

  it("close() ends the child cleanly, after answering what was already sent", async () => {
    const client = SessionClient.spawn({ stderr: "ignore" });
    const { sessionId } = await client.newSession({});
    const updates = Array.from({ length: 50 }, (_, i) =>
      client.updateSession({ sessionId, messages: [{ role: "user", content: `m${i}` }] }),
    );
    let closed = false;
    client.on("close", () => (closed = true));
    expect(await client.close()).toBe(0);
    expect((await Promise.all(updates)).at(-1)?.messageCount).toBe(50);
    expect(client.child?.exitCode).toBe(0);
    expect(closed).toBe(true);
    expect(await failure(client.listSessions())).toBeInstanceOf(ConnectionClosedError);
  });

  it("close() kills a sidecar that does not exit in time", async () => {
    const client = SessionClient.spawn({ stderr: "ignore" });
    await client.initialize();
    client.child!.kill("SIGSTOP");
    expect(await client.close({ timeoutMs: 200 })).toBeNull();
    expect(client.child!.signalCode).toBe("SIGKILL");
  });

  it("fails pending and later requests with ConnectionClosedError when the sidecar dies", async () => {
    const client = spawnClient();
    await client.initialize();
    // session/load of a long session keeps a request pending while the process is killed.
    const { sessionId } = await client.newSession({ cwd: "/w" });
    const messages = Array.from({ length: 2000 }, (_, i) => ({ role: "user" as const, content: `m${i}` }));
    await client.updateSession({ sessionId, messages });
    const pending = client.loadSession({ sessionId, cwd: "/w" }, () => {});
    client.child!.kill("SIGKILL");
    const err = await failure(pending);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err).toMatchObject({ message: "the sidecar was ended by SIGKILL", exit: { code: null, signal: "SIGKILL" } });
    expect(await failure(client.listSessions())).toBeInstanceOf(ConnectionClosedError);
  });

  it("reports a sidecar that cannot start as ConnectionClosedError with its exit code", async () => {
    const client = spawnClient({ store: "nonsense:" });
    const err = await failure(client.initialize());
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err).toMatchObject({ exit: { code: 1 } });
  });

  it("ends the connection when the sidecar sends a message over maxReceiveBytes", async () => {
    const client = spawnClient({ maxReceiveBytes: 4096 });
    const { sessionId } = await client.newSession({});
    for (let i = 0; i < 4; i++) await client.updateSession({ sessionId, messages: [{ role: "user", content: "x".repeat(2000) }] });
    const err = await failure(client.getSession({ sessionId }));
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).cause).toBeInstanceOf(MessageTooLargeError);
  });

  it("ends the connection when the sidecar cannot tell which request it refused", async () => {
    const client = spawnClient({ maxMessageBytes: 1024 });
    await client.initialize();
    const err = await failure(client.newSession({ title: "x".repeat(2000) }));
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).message).toMatch(/^the sidecar could not read a request: .* \(-32600\)$/);
  });

  it("connects over existing streams", async () => {
    const child = spawn(process.execPath, [BIN], { stdio: ["pipe", "pipe", "ignore"] });
    const client = SessionClient.connect(child.stdout, child.stdin);
    const { sessionId } = await client.newSession({ title: "over streams" });
    expect((await client.getSession({ sessionId })).session.title).toBe("over streams");
    const exited = new Promise((resolve) => child.once("exit", resolve));
    expect(await client.close()).toBeNull();
    expect(await exited).toBe(0);
    expect(await failure(client.listSessions())).toBeInstanceOf(ConnectionClosedError);
  });
});
