import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FrameSink } from "../../src/transport/frames.js";
import { LspReader } from "../../src/transport/lsp-reader.js";
import { bytesConcatenated } from "../helpers/copies.js";

function collector() {
  const frames: string[] = [];
  const oversized: number[] = [];
  const badHeaders: string[] = [];
  const sink: FrameSink = { frame: (b) => frames.push(b.toString("latin1")), oversize: (n) => oversized.push(n) };
  return { sink, frames, oversized, badHeaders, onBadHeader: (h: string) => void badHeaders.push(h) };
}

const lsp = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

afterEach(() => vi.restoreAllMocks());

describe("LspReader reassembly", () => {
  it("copies a body once, however many chunks it comes in", () => {
    const body = `{"pad":"${"x".repeat(1024 * 1024)}"}`;
    const bytes = Buffer.from(lsp(body));
    const c = collector();
    const reader = new LspReader(c.sink, 4 * 1024 * 1024, c.onBadHeader);
    const copied = bytesConcatenated(() => {
      for (let at = 0; at < bytes.length; at += 1024) reader.push(bytes.subarray(at, at + 1024));
    });
    expect(c.frames).toEqual([body]);
    // Joining everything buffered on every chunk copies the body about 500 times over.
    expect(copied).toBeLessThanOrEqual(bytes.length);
  });

  it("hands on a body that came in one chunk without copying it", () => {
    const bytes = Buffer.from(lsp('{"a":1}') + lsp('{"b":2}'));
    const c = collector();
    const reader = new LspReader(c.sink, 1024, c.onBadHeader);
    expect(bytesConcatenated(() => reader.push(bytes))).toBe(0);
    expect(c.frames).toEqual(['{"a":1}', '{"b":2}']);
  });

  it("reads frames split at every byte, including an empty body", () => {
    const bytes = Buffer.from(lsp('{"a":"é"}') + lsp("") + lsp("[]"));
    const c = collector();
    const reader = new LspReader(c.sink, 1024, c.onBadHeader);
    for (let i = 0; i < bytes.length; i++) reader.push(bytes.subarray(i, i + 1));
    expect(c.frames).toEqual([Buffer.from('{"a":"é"}').toString("latin1"), "", "[]"]);
  });

  it("skips a body over the limit that comes in many chunks, then reads the next frame", () => {
    const bytes = Buffer.from(lsp("x".repeat(10_000)) + lsp("{}"));
    const c = collector();
    const reader = new LspReader(c.sink, 100, c.onBadHeader);
    for (let at = 0; at < bytes.length; at += 333) reader.push(bytes.subarray(at, at + 333));
    expect(c.oversized).toEqual([10_000]);
    expect(c.frames).toEqual(["{}"]);
  });
});

describe("LspReader recovery", () => {
  /** Feeds `input` whole, then byte by byte: both must give `frames` (bad bytes included) and `badHeaders`. */
  const read = (input: string, maxBytes = 1024) =>
    [false, true].map((byByte) => {
      const c = collector();
      const reader = new LspReader(c.sink, maxBytes, c.onBadHeader);
      const bytes = Buffer.from(input, "latin1");
      if (byByte) for (let i = 0; i < bytes.length; i++) reader.push(bytes.subarray(i, i + 1));
      else reader.push(bytes);
      reader.end();
      return { frames: c.frames, badHeaders: c.badHeaders, oversized: c.oversized };
    });

  it("hands on a negative Content-Length, then reads the next frame", () => {
    for (const r of read("Content-Length: -5\r\n\r\n" + lsp('{"a":1}'))) {
      expect(r).toEqual({ frames: ["Content-Length: -5", '{"a":1}'], badHeaders: ["Content-Length: -5"], oversized: [] });
    }
  });

  it("hands on the first 8 KiB of a 9 KB header line, then reads the next frame", () => {
    const long = "X-Pad: " + "x".repeat(9000);
    for (const r of read(long + "\r\n\r\n" + lsp('{"a":1}'))) {
      expect(r.frames).toEqual([long.slice(0, 8192), '{"a":1}']);
      expect(r.badHeaders).toEqual([long.slice(0, 8192)]);
    }
  });

  it("skips the body of a header without a valid length up to the next Content-Length, in any case", () => {
    for (const r of read("X-Other: 1\r\nContent-Length: 1e3\r\n\r\n" + '{"junk":"Content-Length"}' + lsp("{}").toLowerCase())) {
      expect(r.frames).toEqual(["X-Other: 1\r\nContent-Length: 1e3", "{}"]);
    }
  });

  it("after a body given too short a length, hands on the rest and reads the frame it runs into", () => {
    const body = '{"t":"héllo"}';
    const charCounted = `Content-Length: ${body.length}\r\n\r\n${body}`;
    const [whole, byByte] = read(Buffer.from(charCounted + lsp('{"b":2}')).toString("latin1"));
    for (const r of [whole!, byByte!]) {
      expect(r.frames).toHaveLength(3);
      expect(r.frames[1]).toBe("}Content-Length: 7");
      expect(r.frames[2]).toBe('{"b":2}');
    }
  });

  it("at the end of input, hands on the header of a frame cut short, or a partial header", () => {
    for (const r of read("Content-Length: 100\r\n\r\n" + '{"jsonrpc":"2.0","id":1,"method":"m"}')) {
      expect(r).toEqual({ frames: ["Content-Length: 100"], badHeaders: [], oversized: [] });
    }
    for (const r of read(lsp("{}") + "Content-Len")) expect(r.frames).toEqual(["{}", "Content-Len"]);
  });

  it("skips blank lines between frames and at the end without answering them", () => {
    for (const r of read(lsp("{}") + "\r\n\r\n" + lsp("[]") + "\r\n")) {
      expect(r).toEqual({ frames: ["{}", "[]"], badHeaders: [], oversized: [] });
    }
  });

  it("still refuses a body over the limit, and answers nothing more for it when the input ends inside it", () => {
    for (const r of read(lsp("x".repeat(50)) + lsp("{}") + "Content-Length: 60\r\n\r\nxx", 40)) {
      expect(r).toEqual({ frames: ["{}"], badHeaders: [], oversized: [50, 60] });
    }
  });

  it("reads every valid frame, in order, whatever junk comes between (property)", () => {
    // Junk that never makes a valid header itself: no digit follows a Content-Length field name.
    const junk = fc.string({ unit: fc.constantFrom("a", "{", "}", ":", " ", "\r", "\n", "\r\n\r\n", "Content-Length: ", "-1") });
    fc.assert(
      fc.property(fc.array(fc.tuple(junk, fc.json()), { minLength: 1, maxLength: 5 }), fc.array(fc.nat()), (pieces, cuts) => {
        // Bodies carry a quote, which junk never does, so that no junk is taken for one.
        const bodies = pieces.map(([, value], i) => JSON.stringify({ frame: i, value }));
        const input = pieces.map(([j], i) => j + "\r\n\r\n" + lsp(bodies[i]!)).join("");
        const c = collector();
        const reader = new LspReader(c.sink, 1 << 20, c.onBadHeader);
        const bytes = Buffer.from(input);
        let at = 0;
        for (const cut of cuts.map((n) => n % (bytes.length + 1)).sort((a, b) => a - b)) {
          reader.push(bytes.subarray(at, cut));
          at = cut;
        }
        reader.push(bytes.subarray(at));
        reader.end();
        // Every valid frame is read, in order; whatever else was handed on is junk.
        expect(c.frames.filter((f) => f.includes('"'))).toEqual(bodies.map((b) => Buffer.from(b).toString("latin1")));
      }),
    );
  });
});
