/**
 * Drives examples/agent/echo-agent.ts with the ACP SDK's client() app: two prompts, then list and load
 * the conversation back from the agent, which reads it from acp-sessions. Arguments go to the agent's
 * sidecar: with `--store sqlite:agent.db`, a second run lists the first run's session too.
 *
 *   npx tsc -p examples/agent && node dist/examples/agent/drive.js [--store sqlite:agent.db]
 */
import { spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { client, methods, ndJsonStream, PROTOCOL_VERSION } from "@agentclientprotocol/sdk";

const agentJs = fileURLToPath(new URL("./echo-agent.js", import.meta.url));
const child = spawn(process.execPath, [agentJs, ...process.argv.slice(2)], { stdio: ["pipe", "pipe", "inherit"] });
const stream = ndJsonStream(Writable.toWeb(child.stdin), Readable.toWeb(child.stdout) as ReadableStream<Uint8Array>);

const app = client({ name: "drive" }).onNotification(methods.client.session.update, ({ params }) => {
  const u = params.update as { sessionUpdate: string; content?: { text?: string } };
  console.log(`  ${u.sessionUpdate}: ${u.content?.text}`);
});

await app.connectWith(stream, async (ctx) => {
  const init = await ctx.request(methods.agent.initialize, { protocolVersion: PROTOCOL_VERSION, clientCapabilities: {} });
  console.log(`connected to ${init.agentInfo?.name}`);
  const cwd = process.cwd();
  const { sessionId } = await ctx.request(methods.agent.session.new, { cwd, mcpServers: [] });
  for (const prompt of ["hello", "where do you keep this?"]) {
    console.log(`prompt: ${prompt}`);
    const { stopReason } = await ctx.request(methods.agent.session.prompt, { sessionId, prompt: [{ type: "text", text: prompt }] });
    console.log(`  stop: ${stopReason}`);
  }
  const { sessions } = await ctx.request(methods.agent.session.list, { cwd });
  console.log(`session/list: ${sessions.map((s) => `${s.sessionId} "${s.title}"`).join(", ")}`);
  console.log("session/load:");
  await ctx.request(methods.agent.session.load, { sessionId, cwd, mcpServers: [] });
});
child.stdin.end();
await new Promise((resolve) => child.on("exit", resolve));
console.log("done");
