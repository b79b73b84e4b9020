import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { Message } from "vscode-jsonrpc/node";
import { MessageTooLargeError, NdjsonMessageReader, NdjsonMessageWriter } from "../../src/client/index.js";

function listen(reader: NdjsonMessageReader) {
  const messages: Message[] = [];
  const errors: Error[] = [];
  let closed = 0;
  reader.onError((err) => errors.push(err));
  reader.onClose(() => closed++);
  reader.listen((message) => messages.push(message));
  return { messages, errors, closed: () => closed };
}

describe("NdjsonMessageReader", () => {
  it("reads split lines, CRLF and a last line without a newline", () => {
    const input = new PassThrough();
    const got = listen(new NdjsonMessageReader(input));
    const text = '{"jsonrpc":"2.0","id":1,"result":"é"}\r\n\n{"jsonrpc":"2.0","method":"m"}';
    const bytes = Buffer.from(text);
    // A two-byte character split across chunks.
    const split = bytes.indexOf(0xc3) + 1;
    input.write(bytes.subarray(0, split));
    input.end(bytes.subarray(split));
    return new Promise<void>((resolve) =>
      input.on("end", () => {
        expect(got.messages).toEqual([
          { jsonrpc: "2.0", id: 1, result: "é" },
          { jsonrpc: "2.0", method: "m" },
        ]);
        expect(got.closed()).toBeGreaterThan(0);
        resolve();
      }),
    );
  });

  it("drops a line over the limit with a MessageTooLargeError and carries on", async () => {
    const input = new PassThrough();
    const got = listen(new NdjsonMessageReader(input, 64));
    input.write(JSON.stringify({ jsonrpc: "2.0", id: 1, result: "x".repeat(100) }) + "\n");
    input.end('{"jsonrpc":"2.0","id":2,"result":null}\n');
    await new Promise((resolve) => input.on("end", resolve));
    expect(got.messages).toEqual([{ jsonrpc: "2.0", id: 2, result: null }]);
    expect(got.errors).toHaveLength(1);
    expect(got.errors[0]).toBeInstanceOf(MessageTooLargeError);
    expect(got.errors[0]).toMatchObject({ maxBytes: 64 });
  });

  it("reports a line that is not JSON", async () => {
    const input = new PassThrough();
    const got = listen(new NdjsonMessageReader(input));
    input.end("{oops\n");
    await new Promise((resolve) => input.on("end", resolve));
    expect(got.messages).toEqual([]);
    expect(got.errors.map((e) => e.message)).toEqual(["the sidecar sent a line that is not JSON"]);
  });
});

describe("NdjsonMessageWriter", () => {
  it("writes one message per line, readable by the reader", async () => {
    const pipe = new PassThrough();
    const writer = new NdjsonMessageWriter(pipe);
    const got = listen(new NdjsonMessageReader(pipe));
    const sent: Message[] = [
      { jsonrpc: "2.0", id: 1, method: "session/new", params: { title: "a\nb" } } as Message,
      { jsonrpc: "2.0", method: "session/expired", params: {} } as Message,
    ];
    for (const message of sent) await writer.write(message);
    writer.end();
    await new Promise((resolve) => pipe.on("end", resolve));
    expect(got.messages).toEqual(sent);
  });
});
