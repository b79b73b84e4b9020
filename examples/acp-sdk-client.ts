/**
 * A client built on the ACP SDK's own client() app, spawning the sidecar and talking NDJSON over its stdio.
 * Run from the repository root (after `npm install`, which builds the sidecar):
 *
 *   npx tsc -p examples && node dist/examples/acp-sdk-client.js
 */
import { spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { client, methods, ndJsonStream, PROTOCOL_VERSION } from "@agentclientprotocol/sdk";

// Compiled to dist/examples/, two levels below the repository root.
const bin = fileURLToPath(new URL("../../bin/acp-sessions.js", import.meta.url));
const sidecar = spawn(process.execPath, [bin], { stdio: ["pipe", "pipe", "inherit"] });
const stream = ndJsonStream(
  Writable.toWeb(sidecar.stdin) as WritableStream<Uint8Array>,
  Readable.toWeb(sidecar.stdout) as ReadableStream<Uint8Array>,
);

const app = client({ name: "acp-sessions-example" }).onNotification(methods.client.session.update, ({ params }) => {
  const update = params.update as { sessionUpdate: string; messageId?: string; content?: { type: string; text?: string } };
  console.log(`replayed ${update.sessionUpdate} ${update.messageId}: ${update.content?.text}`);
});

await app.connectWith(stream, async (ctx) => {
  const init = await ctx.request(methods.agent.initialize, { protocolVersion: PROTOCOL_VERSION, clientCapabilities: {} });
  console.log(`connected to ${init.agentInfo?.name} ${init.agentInfo?.version} (protocol ${init.protocolVersion})`);

  const cwd = process.cwd();
  const { sessionId } = await ctx.request(methods.agent.session.new, { cwd, mcpServers: [] });
  console.log(`session/new: ${sessionId}`);

  // Appending is the store's own method, sent as a custom request; a retry with the same ids appends nothing.
  const messages = [
    { messageId: "q1", role: "user", content: [{ type: "text", text: "Where are sessions kept?" }] },
    { messageId: "a1", role: "assistant", content: [{ type: "text", text: "In the acp-sessions sidecar." }] },
  ];
  const first = await ctx.request<{ appended: number; revision: number }>("session/update", { sessionId, messages });
  const retry = await ctx.request<{ appended: number; revision: number }>("session/update", { sessionId, messages });
  console.log(`session/update: appended ${first.appended} (revision ${first.revision}); retried: appended ${retry.appended}`);

  await ctx.request(methods.agent.session.close, { sessionId });
  console.log("session/close: done");
  await ctx.request(methods.agent.session.resume, { sessionId, cwd });
  console.log("session/resume: done (nothing replayed)");
  await ctx.request(methods.agent.session.load, { sessionId, cwd, mcpServers: [] });
  console.log("session/load: done");

  const { sessions } = await ctx.request(methods.agent.session.list, { cwd });
  console.log(`session/list: ${sessions.length} session(s)`);
  await ctx.request(methods.agent.session.delete, { sessionId });
  console.log("session/delete: done");
});

sidecar.stdin.end();
sidecar.on("exit", (code) => console.log(`sidecar exited with code ${code}`));
