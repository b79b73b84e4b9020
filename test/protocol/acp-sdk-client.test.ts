import { Readable, Writable } from "node:stream";
import { client, methods, ndJsonStream, PROTOCOL_VERSION, RequestError, type SessionNotification } from "@agentclientprotocol/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { inProcess, type Harness } from "../helpers/in-process.js";

// The whole ACP v1 session lifecycle driven by the ACP SDK's own client() app over the server's streams.
const servers: Harness[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((h) => h.close()));
});

async function startServer() {
  const h = await inProcess();
  servers.push(h);
  const stream = ndJsonStream(
    Writable.toWeb(h.stdin) as WritableStream<Uint8Array>,
    Readable.toWeb(h.fromServer) as ReadableStream<Uint8Array>,
  );
  return { h, stream };
}

describe("driven by the ACP SDK client() app", () => {
  it("initialize → new → update → close → resume → load (message ids) → delete → delete again", async () => {
    const server = await startServer();
    const replayed: SessionNotification[] = [];
    const app = client({ name: "acp-sessions-e2e" }).onNotification(methods.client.session.update, ({ params }) => {
      replayed.push(params);
    });

    const outcome = await app.connectWith(server.stream, async (ctx) => {
      const init = await ctx.request(methods.agent.initialize, {
        protocolVersion: PROTOCOL_VERSION,
        clientCapabilities: { fs: { readTextFile: true, writeTextFile: true }, terminal: true },
        clientInfo: { name: "acp-sessions-e2e", version: "1.0.0" },
      });
      expect(init.protocolVersion).toBe(1);
      expect(init.agentCapabilities?.loadSession).toBe(true);
      expect(init.agentCapabilities?.sessionCapabilities).toMatchObject({ list: {}, delete: {}, resume: {}, close: {} });
      expect(init.authMethods).toEqual([]);

      const cwd = "/work/sdk-project";
      const { sessionId } = await ctx.request(methods.agent.session.new, {
        cwd,
        mcpServers: [{ name: "fs", command: "/bin/mcp-fs", args: [], env: [{ name: "TOKEN", value: "secret" }] }],
      });

      // session/update (the store's append) is not an ACP agent method: the SDK sends it as a custom method.
      const updated = await ctx.request<{ appended: number; messageCount: number; revision: number }>("session/update", {
        sessionId,
        messages: [
          { messageId: "turn-1-user", role: "user", content: [{ type: "text", text: "What does this repo do?" }] },
          { role: "assistant", content: [{ type: "text", text: "It stores ACP sessions." }] },
        ],
      });
      expect(updated).toMatchObject({ appended: 2, messageCount: 2, revision: 2 });
      const retried = await ctx.request<{ appended: number }>("session/update", {
        sessionId,
        messages: [{ messageId: "turn-1-user", role: "user", content: [{ type: "text", text: "What does this repo do?" }] }],
      });
      expect(retried.appended).toBe(0);

      expect(await ctx.request(methods.agent.session.close, { sessionId })).toEqual({});
      const listed = await ctx.request(methods.agent.session.list, { cwd });
      expect(listed.sessions.map((s) => s.sessionId)).toEqual([sessionId]);

      expect(await ctx.request(methods.agent.session.resume, { sessionId, cwd })).toEqual({});
      expect(replayed).toEqual([]); // resume never replays

      expect(await ctx.request(methods.agent.session.load, { sessionId, cwd, mcpServers: [] })).toEqual({});
      const chunks = replayed.map((n) => n.update as any);
      expect(replayed.every((n) => n.sessionId === sessionId)).toBe(true);
      expect(chunks.map((u) => u.sessionUpdate)).toEqual(["user_message_chunk", "agent_message_chunk"]);
      expect(chunks[0]).toMatchObject({ messageId: "turn-1-user", content: { type: "text", text: "What does this repo do?" } });
      expect(chunks[1].messageId).toMatch(/^[0-9a-f-]{36}$/);

      expect(await ctx.request(methods.agent.session.delete, { sessionId })).toEqual({});
      expect(await ctx.request(methods.agent.session.delete, { sessionId })).toEqual({});

      const gone = await ctx.request("session/get", { sessionId }).catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(RequestError);
      expect(gone).toMatchObject({ code: -32002 });
      const afterDelete = await ctx.request(methods.agent.session.list, { cwd });
      expect(afterDelete.sessions).toEqual([]);
      return "done";
    });
    expect(outcome).toBe("done");
    await server.h.close();
    expect(server.h.logged).toEqual([]);
  });

  it("resume with a different cwd and load of an unknown session reject with the sidecar's errors", async () => {
    const server = await startServer();
    await client({ name: "acp-sessions-e2e" }).connectWith(server.stream, async (ctx) => {
      const { sessionId } = await ctx.request(methods.agent.session.new, { cwd: "/a", mcpServers: [] });
      await expect(ctx.request(methods.agent.session.resume, { sessionId, cwd: "/b" })).rejects.toMatchObject({ code: -32602 });
      await expect(ctx.request(methods.agent.session.load, { sessionId: "unknown", cwd: "/a", mcpServers: [] })).rejects.toMatchObject({
        code: -32002,
      });
    });
    await server.h.close();
  });
});
