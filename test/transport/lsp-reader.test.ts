import { afterEach, describe, expect, it, vi } from "vitest";
import type { FrameSink } from "../../src/transport/frames.js";
import { LspReader } from "../../src/transport/lsp-reader.js";

function collector() {
  const frames: string[] = [];
  const oversized: number[] = [];
  const badHeaders: string[] = [];
  const sink: FrameSink = { frame: (b) => frames.push(b.toString("latin1")), oversize: (n) => oversized.push(n) };
  return { sink, frames, oversized, badHeaders, onBadHeader: (h: string) => void badHeaders.push(h) };
}

const lsp = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** Bytes copied by Buffer.concat while `run` runs. */
function bytesConcatenated(run: () => void): number {
  const concat = Buffer.concat;
  let copied = 0;
  const spy = vi.spyOn(Buffer, "concat").mockImplementation((list, totalLength) => {
    const joined = concat(list, totalLength);
    copied += joined.length;
    return joined;
  });
  try {
    run();
  } finally {
    spy.mockRestore();
  }
  return copied;
}

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
