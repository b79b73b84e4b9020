/**
 * A small ACP agent that keeps its sessions in acp-sessions through the client library: it answers
 * session/new, session/prompt (it echoes, storing the prompt and its reply), session/list and
 * session/load from the store, so with a durable store its conversations outlive it and every agent on
 * the same store sees them. It speaks ACP on its own stdio; drive.ts is a client that talks to it.
 *
 *   npx tsc -p examples/agent && node dist/examples/agent/echo-agent.js [sidecar options, e.g. --store sqlite:agent.db]
 */
import { randomUUID } from "node:crypto";
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
  .onRequest(methods.agent.session.new, ({ params }) => store.newSession({ cwd: params.cwd, mcpServers: params.mcpServers }))
  .onRequest(methods.agent.session.prompt, async ({ params, client }) => {
    const reply = `echo: ${text(params.prompt)}`;
    // Ids of our own for the turn's messages: retrying this update after a lost answer appends nothing twice.
    const turn = randomUUID();
    const { messageCount } = await store.updateSession({
      sessionId: params.sessionId,
      title: text(params.prompt).slice(0, 40),
      messages: [
        { messageId: `${turn}-user`, role: "user", content: params.prompt },
        { messageId: `${turn}-agent`, role: "assistant", content: reply },
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
    // The store replays the conversation as ACP session/update notifications: pass each on to our client.
    for (const notification of await store.loadSession(params)) await client.notify(methods.client.session.update, notification);
    return {};
  });

const connection = app.connect(ndJsonStream(Writable.toWeb(process.stdout), Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>));
await connection.closed;
await store.close();
