/**
 * A small ACP agent that keeps its sessions in acp-sessions through the client library: it answers
 * session/new, session/prompt (it echoes), session/list and session/load from the store, so its
 * conversations outlive it and any other agent on the same store sees them.
 *
 *   npx tsc -p examples && node dist/examples/agent/echo-agent.js [sidecar options, e.g. --store sqlite:agent.db]
 *
 * It speaks ACP on its own stdio; examples/agent/drive.ts is a client that talks to it.
 */
import { Readable, Writable } from "node:stream";
import { agent, methods, ndJsonStream, PROTOCOL_VERSION, type ContentBlock } from "@agentclientprotocol/sdk";
import { SessionClient } from "acp-sessions/client";

const store = SessionClient.spawn({ args: process.argv.slice(2) });
await store.initialize();

const text = (blocks: ContentBlock[]) => blocks.map((b) => (b.type === "text" ? b.text : `[${b.type}]`)).join(" ");

const app = agent({ name: "echo-agent" })
  .onRequest(methods.agent.initialize, () => ({
    protocolVersion: PROTOCOL_VERSION,
    agentCapabilities: { loadSession: true, sessionCapabilities: { list: {} } },
    agentInfo: { name: "echo-agent", version: "1.0.0" },
    authMethods: [],
  }))
  .onRequest(methods.agent.session.new, async ({ params }) => ({
    sessionId: await store.newSession({ cwd: params.cwd, mcpServers: params.mcpServers }),
  }))
  .onRequest(methods.agent.session.prompt, async ({ params, client }) => {
    const reply = `echo: ${text(params.prompt)}`;
    const { messageCount } = await store.updateSession({
      sessionId: params.sessionId,
      title: text(params.prompt).slice(0, 40),
      messages: [
        { role: "user", content: params.prompt },
        { role: "assistant", content: reply },
      ],
    });
    await client.notify(methods.client.session.update, {
      sessionId: params.sessionId,
      update: { sessionUpdate: "agent_message_chunk", content: { type: "text", text: `${reply} (${messageCount} messages stored)` } },
    });
    return { stopReason: "end_turn" };
  })
  .onRequest(methods.agent.session.list, async ({ params }) => {
    const page = await store.listSessions({ cwd: params.cwd, cursor: params.cursor });
    return {
      sessions: page.sessions.map((s) => ({ sessionId: s.sessionId, cwd: s.cwd, title: s.title, updatedAt: s.updatedAt })),
      nextCursor: page.nextCursor,
    };
  })
  .onRequest(methods.agent.session.load, async ({ params, client }) => {
    // The store replays the stored conversation; the agent passes each chunk on to its own client.
    for (const { update } of await store.loadSession(params)) {
      await client.notify(methods.client.session.update, { sessionId: params.sessionId, update: update as never });
    }
    return {};
  });

const connection = app.connect(ndJsonStream(Writable.toWeb(process.stdout), Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>));
await connection.closed;
await store.close();
