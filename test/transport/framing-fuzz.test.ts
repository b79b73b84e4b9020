import fc from "fast-check";
import { describe, expect, it } from "vitest";
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
