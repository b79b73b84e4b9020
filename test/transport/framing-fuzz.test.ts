import { PassThrough } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../src/config.js";
import { silentLogger } from "../../src/log.js";
import { serve } from "../../src/main.js";
import { inProcess } from "../helpers/in-process.js";

const request = (id: string) => Buffer.from(JSON.stringify({ jsonrpc: "2.0", id, method: "session/list", params: {} }) + "\n");

describe("hostile bytes on the wire", () => {
  it("random bytes, invalid UTF-8 and NUL bytes never stop a later valid request from being answered", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), async (garbage) => {
        const h = await inProcess({ maxMessageBytes: 4096 });
        try {
          h.stdin.write(request("first")); // settles the framing as NDJSON
          for (const bytes of garbage) h.stdin.write(Buffer.concat([Buffer.from(bytes), Buffer.from("\n")]));
          h.stdin.write(request("after"));
          const answer = await h.waitFor(() => h.messages.find((m) => m.id === "after"));
          expect(answer.result.sessions).toEqual([]);
          // Every other output line is a JSON-RPC error about the garbage, never a crash or junk.
          for (const m of h.messages) expect(m.jsonrpc).toBe("2.0");
        } finally {
          await h.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it("empty lines are skipped; a line of many MiB over the limit is refused and the stream goes on", async () => {
    const h = await inProcess({ maxMessageBytes: 1024 * 1024 });
    try {
      h.stdin.write("\n\n\r\n");
      const huge = Buffer.alloc(8 * 1024 * 1024, 0x61);
      for (let i = 0; i < huge.length; i += 65536) h.stdin.write(huge.subarray(i, i + 65536));
      h.stdin.write("\n");
      h.stdin.write(request("next"));
      const answer = await h.waitFor(() => h.messages.find((m) => m.id === "next"));
      expect(answer.result).toBeDefined();
      expect(h.messages[0]).toMatchObject({ id: null, error: { code: -32600, data: { bytes: huge.length } } });
    } finally {
      await h.close();
    }
  });

  it("a large message within the limit is stored and read back whole", async () => {
    const h = await inProcess({ maxMessageBytes: 32 * 1024 * 1024, maxContentBytes: 8 * 1024 * 1024 });
    try {
      const { sessionId } = await h.ok("session/new", {});
      const text = "€".repeat(2 * 1024 * 1024);
      await h.ok("session/update", { sessionId, messages: [{ role: "user", content: text }] });
      const got = await h.ok("session/get", { sessionId });
      expect(got.session.context[0].content).toBe(text);
    } finally {
      await h.close();
    }
  });
});

const lspRequest = (id: string) => {
  const body = JSON.stringify({ jsonrpc: "2.0", id, method: "session/list", params: {} });
  return Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
};

/** The server over in-memory streams, its output decoded as LSP frames. */
async function lspInProcess() {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const messages: any[] = [];
  let pending = Buffer.alloc(0);
  stdout.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const match = /^Content-Length: (\d+)\r\n\r\n/.exec(pending.subarray(0, 64).toString("latin1"));
      if (!match) {
        if (pending.length >= 64) messages.push({ notAFrame: pending.toString() });
        return;
      }
      const end = match[0].length + Number(match[1]);
      if (pending.length < end) return;
      messages.push(JSON.parse(pending.subarray(match[0].length, end).toString("utf8")));
      pending = pending.subarray(end);
    }
  });
  const server = await serve(
    { ...DEFAULT_CONFIG, maxMessageBytes: 4096 },
    { stdin, stdout, log: silentLogger, cwd: "/home/me" },
    "0.0.0-test",
  );
  const waitFor = async <T>(find: () => T | undefined): Promise<T> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error("timed out waiting for output");
      await new Promise((r) => setImmediate(r));
    }
  };
  const close = async () => {
    stdin.end();
    await server.done;
  };
  return { stdin, messages, waitFor, close };
}

describe("hostile bytes between LSP frames", () => {
  // Junk that gives no valid length: a valid one could swallow the start of the next frame's header.
  const junk = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    fc
      .constantFrom("Content-Length: -5\r\n\r\n", "content-length: abc\r\n\r\n{}", "\r\n\r\n", `X-Pad: ${"x".repeat(9000)}\r\n\r\n`)
      .map((text) => Buffer.from(text)),
  );

  it("bad headers and junk get only error answers and never stop a later valid frame from being answered", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(junk, { maxLength: 5 }), async (pieces) => {
        const h = await lspInProcess();
        try {
          h.stdin.write(lspRequest("first")); // settles the framing as LSP
          for (const bytes of pieces) h.stdin.write(bytes);
          h.stdin.write(lspRequest("after"));
          const answer = await h.waitFor(() => h.messages.find((m) => m.id === "after"));
          expect(answer.result.sessions).toEqual([]);
          // Every other output frame is a JSON-RPC error about the junk, never a crash or unframed bytes.
          for (const m of h.messages) expect(m.jsonrpc).toBe("2.0");
          for (const m of h.messages.filter((m) => m.id === null)) expect([-32700, -32600]).toContain(m.error.code);
        } finally {
          await h.close();
        }
      }),
      { numRuns: 60 },
    );
  });

  it("a frame cut short by the end of input is answered with a parse error", async () => {
    const h = await lspInProcess();
    h.stdin.write(lspRequest("first"));
    h.stdin.write('Content-Length: 500\r\n\r\n{"jsonrpc":"2.0","id":"cut","method":"session/list"}');
    await h.close();
    expect(h.messages).toMatchObject([{ id: "first" }, { id: null, error: { code: -32700 } }]);
  });
});
