import { afterEach, describe, expect, it } from "vitest";
import { killAll, spawnSidecar, until } from "../helpers/sidecar.js";

// LSP framing over real pipes to the built bin: what the sidecar answers to bytes that are not a frame.
afterEach(() => killAll());

const frame = (message: object) => {
  const body = Buffer.from(JSON.stringify(message));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
};
const list = (id: number) => frame({ jsonrpc: "2.0", id, method: "session/list", params: {} });

/** Spawns the sidecar and decodes its LSP-framed stdout, checking every Content-Length as it goes. */
function lspSidecar(args: string[] = []) {
  const s = spawnSidecar(args);
  const answers: any[] = [];
  let pending = Buffer.alloc(0);
  // spawnSidecar decodes stdout as UTF-8 (whole characters per chunk); Content-Length counts bytes.
  s.child.stdout.on("data", (chunk: string) => {
    pending = Buffer.concat([pending, Buffer.from(chunk)]);
    for (;;) {
      const match = /^Content-Length: (\d+)\r\n\r\n/.exec(pending.subarray(0, 64).toString("latin1"));
      if (!match) {
        if (pending.length >= 64) answers.push({ notAFrame: pending.toString() });
        return;
      }
      const end = match[0].length + Number(match[1]);
      if (pending.length < end) return;
      answers.push(JSON.parse(pending.subarray(match[0].length, end).toString("utf8")));
      pending = pending.subarray(end);
    }
  });
  const answered = (count: number) => until(() => answers.length >= count && answers, `${count} answers`);
  return { ...s, answers, answered };
}

const parseError = { jsonrpc: "2.0", id: null, error: { code: -32700 } };
const listed = (id: number) => ({ jsonrpc: "2.0", id, result: { sessions: [] } });

describe("LSP framing: answers to what is not a frame", () => {
  it("a negative Content-Length, then a valid frame: a parse error, then the result", async () => {
    const s = lspSidecar();
    s.write(Buffer.concat([Buffer.from("Content-Length: -5\r\n\r\n"), list(1)]));
    const answers = await s.answered(2);
    expect(answers).toMatchObject([parseError, listed(1)]);
    expect(await s.end()).toBe(0);
    expect(s.answers).toHaveLength(2);
  });

  it("a 9 KB header line, then a valid frame: a parse error, then the result", async () => {
    const s = lspSidecar();
    s.write(list(1));
    await s.answered(1);
    s.write(`X-Pad: ${"x".repeat(9000)}\r\n\r\n`);
    s.write(list(2));
    const answers = await s.answered(3);
    expect(answers).toMatchObject([listed(1), parseError, listed(2)]);
    expect(await s.end()).toBe(0);
    expect(s.answers).toHaveLength(3);
  });

  it("a Content-Length longer than what follows, then the end of input: one parse error", async () => {
    const s = lspSidecar();
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "session/list", params: {} });
    s.write(`Content-Length: ${body.length + 100}\r\n\r\n${body}`);
    expect(await s.end()).toBe(0);
    expect(s.answers).toMatchObject([parseError]);
    expect(s.answers).toHaveLength(1);
  });

  it("a length that counted characters, not bytes: errors for the cut body and its rest, then the next result", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "session/new", params: { cwd: "/w", title: "héllo wörld" } });
    const s = lspSidecar();
    s.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n${body}`), list(2)]));
    const answers = await s.answered(3);
    expect(answers).toMatchObject([parseError, parseError, listed(2)]);
    expect(await s.end()).toBe(0);
    expect(s.answers).toHaveLength(3);
  });

  it("a message over --max-message-bytes is still refused, and the next frame answered", async () => {
    const s = lspSidecar(["--max-message-bytes", "1000"]);
    s.write(Buffer.concat([frame({ jsonrpc: "2.0", id: 1, method: "session/list", params: { pad: "x".repeat(5000) } }), list(2)]));
    const answers = await s.answered(2);
    expect(answers).toMatchObject([{ id: null, error: { code: -32600 } }, listed(2)]);
    expect(await s.end()).toBe(0);
  });
});
