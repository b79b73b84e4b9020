/**
 * A client as an editor extension would write it: stock vscode-jsonrpc with LSP framing
 * (`Content-Length` headers). The sidecar sees the header and answers in the same framing.
 * Run from the repository root (after `npm install`, which builds the sidecar):
 *
 *   npx tsc -p examples && node dist/examples/vscode-jsonrpc-client.js
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";

interface Message {
  messageId: string;
  role: string;
  content: unknown;
}

// Compiled to dist/examples/, two levels below the repository root.
const bin = fileURLToPath(new URL("../../bin/acp-sessions.js", import.meta.url));
const sidecar = spawn(process.execPath, [bin], { stdio: ["pipe", "pipe", "inherit"] });
const connection = createMessageConnection(new StreamMessageReader(sidecar.stdout), new StreamMessageWriter(sidecar.stdin));
connection.onNotification("session/update", (params: { update: { sessionUpdate: string; messageId: string } }) => {
  console.log(`replayed ${params.update.sessionUpdate} ${params.update.messageId}`);
});
connection.listen();

const init = await connection.sendRequest<{ agentInfo: { name: string; version: string } }>("initialize", { protocolVersion: 1 });
console.log(`connected to ${init.agentInfo.name} ${init.agentInfo.version}`);

const { sessionId } = await connection.sendRequest<{ sessionId: string }>("session/new", { cwd: process.cwd(), title: "from the editor" });
console.log(`session/new: ${sessionId}`);

const update = await connection.sendRequest<{ messageCount: number; revision: number }>("session/update", {
  sessionId,
  expectedRevision: 1,
  messages: [
    { messageId: "q1", role: "user", content: "Explain this function" },
    { messageId: "a1", role: "assistant", content: "It reads the session." },
  ],
});
console.log(`session/update: ${update.messageCount} messages, revision ${update.revision}`);

// Another writer's stale revision is refused, not silently applied.
try {
  await connection.sendRequest("session/update", { sessionId, expectedRevision: 1, title: "stale" });
} catch (err) {
  if (!(err instanceof ResponseError)) throw err;
  console.log(`stale update refused: ${err.code} ${err.message}`);
}

const { session } = await connection.sendRequest<{ session: { title: string; context: Message[] } }>("session/get", { sessionId });
console.log(`session/get: "${session.title}", ${session.context.map((m) => `${m.role}:${m.messageId}`).join(" ")}`);

await connection.sendRequest("session/load", { sessionId, cwd: process.cwd(), mcpServers: [] });
console.log("session/load: done");

connection.dispose();
sidecar.stdin.end();
sidecar.on("exit", (code) => console.log(`sidecar exited with code ${code}`));
