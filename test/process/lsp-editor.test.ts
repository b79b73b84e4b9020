import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createMessageConnection, ResponseError, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";
import { afterEach, describe, expect, it } from "vitest";
import { BIN } from "../helpers/sidecar.js";

// LSP framing over the built bin's real pipes: a stock vscode-jsonrpc client, as an editor extension would use.
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

function connect(args: string[] = []) {
  const child = spawn(process.execPath, [BIN, ...args]);
  children.push(child);
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const notifications: { method: string; params: any }[] = [];
  connection.onNotification((method, params) => void notifications.push({ method, params }));
  connection.listen();
  const close = async () => {
    connection.dispose();
    child.stdin.end();
    return exit;
  };
  return { connection, notifications, close };
}

describe("LSP framing with vscode-jsonrpc over the bin's pipes", () => {
  it("initialize, new, update, get, load (with replayed notifications), errors as ResponseError", async () => {
    const { connection, notifications, close } = connect();
    const init: any = await connection.sendRequest("initialize", { protocolVersion: 1, clientInfo: { name: "vscode-e2e", version: "1" } });
    expect(init).toMatchObject({ protocolVersion: 1, agentCapabilities: { loadSession: true }, agentInfo: { name: "acp-sessions" } });
    const { sessionId }: any = await connection.sendRequest("session/new", { cwd: "/w", title: "from an editor ✓" });
    const updated: any = await connection.sendRequest("session/update", {
      sessionId,
      messages: [
        { messageId: "q", role: "user", content: "héllo 🌍" },
        { messageId: "a", role: "assistant", content: [{ type: "text", text: "hi" }] },
      ],
    });
    expect(updated).toMatchObject({ appended: 2, messageCount: 2, revision: 2 });
    const { session }: any = await connection.sendRequest("session/get", { sessionId });
    expect(session).toMatchObject({ title: "from an editor ✓", messageCount: 2 });
    expect(session.context.map((m: any) => m.content)).toEqual(["héllo 🌍", [{ type: "text", text: "hi" }]]);
    expect(await connection.sendRequest("session/load", { sessionId, cwd: "/w", mcpServers: [] })).toEqual({});
    expect(
      notifications.filter((n) => n.method === "session/update").map((n) => [n.params.update.sessionUpdate, n.params.update.messageId]),
    ).toEqual([
      ["user_message_chunk", "q"],
      ["agent_message_chunk", "a"],
    ]);
    const error = await connection.sendRequest("session/get", { sessionId: "missing" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error).toMatchObject({ code: -32002, data: { sessionId: "missing" } });
    const invalid = await connection.sendRequest("session/new", { cwd: "relative" }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: -32602 });
    expect(await close()).toBe(0);
  });
});
