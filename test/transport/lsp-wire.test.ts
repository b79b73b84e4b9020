import { CancellationTokenSource, createMessageConnection, StreamMessageReader, StreamMessageWriter } from "vscode-jsonrpc/node";
import { afterEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config.js";
import { inProcess, type Harness } from "../helpers/in-process.js";

// LSP framing through the whole server: a stock vscode-jsonrpc client on the server's streams, and raw frames.
const servers: Harness[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((h) => h.close()));
});

async function connect(config: Partial<Config> = {}) {
  const h = await inProcess(config);
  servers.push(h);
  const connection = createMessageConnection(new StreamMessageReader(h.fromServer), new StreamMessageWriter(h.stdin));
  const notifications: { method: string; params: any }[] = [];
  connection.onNotification((method, params) => void notifications.push({ method, params }));
  connection.listen();
  /** Ends the input and resolves once the server has answered everything and closed its store. */
  const close = async () => {
    connection.dispose();
    await h.close();
  };
  return { connection, notifications, close, h };
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
  it("many requests in flight at once are all answered", async () => {
    const { connection, close } = await connect();
    const { sessionId }: any = await connection.sendRequest("session/new", { cwd: "/w" });
    const results: any[] = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        connection.sendRequest("session/update", { sessionId, messages: [{ messageId: `m${i}`, role: "user", content: `${i}` }] }),
      ),
    );
    expect(results.map((r) => r.messageCount)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await close();
  });

  it("a cancelled request ($/cancelRequest) does not break the connection", async () => {
    const { connection, close } = await connect();
    const source = new CancellationTokenSource();
    const pending = connection.sendRequest("session/list", {}, source.token).catch((e: unknown) => e);
    source.cancel();
    await pending; // answered or cancelled, either is fine
    expect(await connection.sendRequest("session/list", {})).toMatchObject({ sessions: [] });
    await close();
  });

  it("session/expired notifications arrive LSP-framed", async () => {
    const { connection, notifications, close, h } = await connect({ maxSessionAgeMs: 300, cleanupIntervalMs: 100 });
    const { sessionId }: any = await connection.sendRequest("session/new", { cwd: "/w" });
    const expired = await h.waitFor(() => notifications.find((n) => n.method === "session/expired"), "session/expired");
    expect(expired.params).toMatchObject({ sessionId, action: "delete" });
    await close();
  });

  it("raw: several LSP frames in one write, and a frame split mid-header, each answered with a Content-Length frame", async () => {
    const s = await inProcess();
    servers.push(s);
    const frames = Buffer.concat([
      lsp({ jsonrpc: "2.0", id: 1, method: "session/new", params: { cwd: "/w" } }),
      lsp({ jsonrpc: "2.0", id: 2, method: "session/list", params: {} }),
    ]);
    const third = lsp({ jsonrpc: "2.0", id: 3, method: "no/such" });
    s.write(Buffer.concat([frames, third.subarray(0, 7)]));
    await s.waitFor(() => (s.output().match(/Content-Length: /g) ?? []).length === 2, "two framed responses");
    s.write(third.subarray(7));
    await s.waitFor(() => (s.output().match(/Content-Length: /g) ?? []).length === 3, "the third framed response");
    const bodies = parseFrames(s.output());
    expect(bodies.map((b) => b.id)).toEqual([1, 2, 3]);
    expect(bodies[2].error.code).toBe(-32601);
    await s.close();
  });
});
