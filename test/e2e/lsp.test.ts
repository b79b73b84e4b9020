import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import {
  CancellationTokenSource,
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-jsonrpc/node";
import { afterEach, describe, expect, it } from "vitest";
import { BIN, killAll, spawnSidecar, until } from "../helpers/sidecar.js";

// LSP framing: a stock vscode-jsonrpc client (as an editor extension would use) talking to the built bin.
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  killAll();
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

const lsp = (message: object) => {
  const body = Buffer.from(JSON.stringify(message));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
};

/** Splits LSP-framed text into bodies, checking each Content-Length is exactly its body's byte length. */
function parseFrames(text: string): any[] {
  const bodies: any[] = [];
  let rest = Buffer.from(text);
  while (rest.length > 0) {
    const match = /^Content-Length: (\d+)\r\n\r\n/.exec(rest.toString("latin1"));
    if (!match) throw new Error(`not an LSP frame: ${rest.toString().slice(0, 40)}`);
    const start = match[0].length;
    const end = start + Number(match[1]);
    bodies.push(JSON.parse(rest.subarray(start, end).toString()));
    rest = rest.subarray(end);
  }
  return bodies;
}

describe("LSP framing with vscode-jsonrpc", () => {
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

  it("many requests in flight at once are all answered", async () => {
    const { connection, close } = connect();
    const { sessionId }: any = await connection.sendRequest("session/new", { cwd: "/w" });
    const results: any[] = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        connection.sendRequest("session/update", { sessionId, messages: [{ messageId: `m${i}`, role: "user", content: `${i}` }] }),
      ),
    );
    expect(results.map((r) => r.messageCount)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await close()).toBe(0);
  });

  it("a cancelled request ($/cancelRequest) does not break the connection", async () => {
    const { connection, close } = connect();
    const source = new CancellationTokenSource();
    const pending = connection.sendRequest("session/list", {}, source.token).catch((e: unknown) => e);
    source.cancel();
    await pending; // answered or cancelled, either is fine
    expect(await connection.sendRequest("session/list", {})).toMatchObject({ sessions: [] });
    expect(await close()).toBe(0);
  });

  it("session/expired notifications arrive LSP-framed", async () => {
    const { connection, notifications, close } = connect(["--max-session-age", "300ms", "--cleanup-interval", "100ms"]);
    const { sessionId }: any = await connection.sendRequest("session/new", { cwd: "/w" });
    const expired = await until(() => notifications.find((n) => n.method === "session/expired"), "session/expired");
    expect(expired.params).toMatchObject({ sessionId, action: "delete" });
    expect(await close()).toBe(0);
  });

  it("raw: several LSP frames in one write, and a frame split mid-header, each answered with a Content-Length frame", async () => {
    const s = spawnSidecar();
    let out = "";
    s.child.stdout.on("data", (chunk: string) => (out += chunk));
    const frames = Buffer.concat([
      lsp({ jsonrpc: "2.0", id: 1, method: "session/new", params: { cwd: "/w" } }),
      lsp({ jsonrpc: "2.0", id: 2, method: "session/list", params: {} }),
    ]);
    const third = lsp({ jsonrpc: "2.0", id: 3, method: "no/such" });
    s.write(Buffer.concat([frames, third.subarray(0, 7)]));
    await until(() => (out.match(/Content-Length: /g) ?? []).length === 2, "two framed responses");
    s.write(third.subarray(7));
    await until(() => (out.match(/Content-Length: /g) ?? []).length === 3, "the third framed response");
    const bodies = parseFrames(out);
    expect(bodies.map((b) => b.id)).toEqual([1, 2, 3]);
    expect(bodies[2].error.code).toBe(-32601);
    expect(await s.end()).toBe(0);
  });
});
