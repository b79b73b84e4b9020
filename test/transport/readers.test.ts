import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AutoFrameReader } from "../../src/transport/auto-reader.js";
import type { FrameReader, FrameSink, Framing } from "../../src/transport/frames.js";
import { LspReader } from "../../src/transport/lsp-reader.js";
import { NdjsonReader } from "../../src/transport/ndjson-reader.js";
import { bytesConcatenated } from "../helpers/copies.js";

function collector() {
  const frames: string[] = [];
  const oversized: number[] = [];
  const sink: FrameSink = { frame: (b) => frames.push(b.toString("utf8")), oversize: (n) => oversized.push(n) };
  return { sink, frames, oversized };
}

function feed(reader: FrameReader, bytes: Buffer, cuts: number[]): void {
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    reader.push(bytes.subarray(at, cut));
    at = cut;
  }
  reader.push(bytes.subarray(at));
  reader.end();
}

const lsp = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe("NdjsonReader", () => {
  it("splits lines, accepts CRLF, skips blank lines, and keeps a final line without a newline", () => {
    const c = collector();
    const reader = new NdjsonReader(c.sink, 1024);
    feed(reader, Buffer.from('{"a":1}\r\n\n  \n{"b":2}\n{"c":3}'), []);
    expect(c.frames).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it("decodes a multi-byte character split across reads", () => {
    const c = collector();
    const bytes = Buffer.from('{"t":"héllo → 🌍"}\n');
    const reader = new NdjsonReader(c.sink, 1024);
    for (let i = 0; i < bytes.length; i++) reader.push(bytes.subarray(i, i + 1));
    expect(c.frames).toEqual(['{"t":"héllo → 🌍"}']);
  });

  it("drops a line over the limit without buffering it, reports it once, and carries on", () => {
    const c = collector();
    const reader = new NdjsonReader(c.sink, 10);
    reader.push(Buffer.from("x".repeat(8)));
    reader.push(Buffer.from("y".repeat(100)));
    reader.push(Buffer.from("z".repeat(100) + "\nshort\n"));
    expect(c.oversized).toEqual([208]);
    expect(c.frames).toEqual(["short"]);
  });

  it("yields the same frames however the stream is cut (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !/[\n]/.test(s) && s.trim() !== ""),
          { maxLength: 8 },
        ),
        fc.array(fc.nat()),
        (lines, cuts) => {
          const clean = lines.map((l) => l.replace(/\r$/, "x"));
          const bytes = Buffer.from(clean.map((l) => l + "\n").join(""));
          const c = collector();
          feed(
            new NdjsonReader(c.sink, 1 << 20),
            bytes,
            cuts.map((n) => n % (bytes.length + 1)),
          );
          expect(c.frames).toEqual(clean);
        },
      ),
    );
  });
});

describe("LspReader", () => {
  it("reads Content-Length frames split anywhere (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.json(), { minLength: 1, maxLength: 6 }), fc.array(fc.nat()), (bodies, cuts) => {
        const bytes = Buffer.from(bodies.map(lsp).join(""));
        const c = collector();
        feed(
          new LspReader(c.sink, 1 << 20, () => {}),
          bytes,
          cuts.map((n) => n % (bytes.length + 1)),
        );
        expect(c.frames).toEqual(bodies);
      }),
    );
  });

  it("skips an oversize body and reads the next frame; reports a header without a length and hands it on", () => {
    const c = collector();
    const bad: string[] = [];
    const reader = new LspReader(c.sink, 5, (h) => bad.push(h));
    reader.push(Buffer.from(lsp("0123456789") + "X-Other: 1\r\n\r\n" + lsp("{}")));
    expect(c.oversized).toEqual([10]);
    expect(bad).toEqual(["X-Other: 1"]);
    expect(c.frames).toEqual(["X-Other: 1", "{}"]);
  });
});

describe("AutoFrameReader", () => {
  const detect = (input: string, cuts: number[] = []) => {
    const c = collector();
    let framing: Framing | undefined;
    feed(
      new AutoFrameReader(
        c.sink,
        1024,
        (f) => (framing = f),
        () => {},
      ),
      Buffer.from(input),
      cuts,
    );
    return { framing, frames: c.frames };
  };

  it("switches to LSP framing on a Content-Length header, even one split byte by byte", () => {
    const input = lsp('{"x":1}') + lsp('{"y":2}');
    const cuts = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(detect(input, cuts)).toEqual({ framing: "lsp", frames: ['{"x":1}', '{"y":2}'] });
    expect(detect("content-length: 2\r\n\r\n{}").framing).toBe("lsp");
  });

  it("holds only the bytes that decide the framing, however much whitespace comes first", () => {
    const c = collector();
    const copied = bytesConcatenated(() => {
      const reader = new AutoFrameReader(
        c.sink,
        1024,
        () => {},
        () => {},
      );
      const blank = Buffer.alloc(1024, "\r\n \t");
      for (let i = 0; i < 1024; i++) reader.push(blank);
      for (const byte of Buffer.from(lsp("{}"))) reader.push(Buffer.from([byte]));
    });
    // Keeping the whitespace would copy everything held so far on every push: about 512 MiB here.
    expect(copied).toBeLessThan(4096);
    expect(c.frames).toEqual(["{}"]);
  });

  it("stays with NDJSON for anything else, including a short stream", () => {
    expect(detect('{"x":1}\n{"y":2}\n')).toEqual({ framing: "ndjson", frames: ['{"x":1}', '{"y":2}'] });
    expect(detect("Cont")).toEqual({ framing: "ndjson", frames: ["Cont"] });
    expect(detect("garbage\n")).toEqual({ framing: "ndjson", frames: ["garbage"] });
  });
});
