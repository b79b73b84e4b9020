import { describe, expect, it } from "vitest";
import { FrameWriter } from "../../src/transport/frame-writer.js";
import { LspReader } from "../../src/transport/lsp-reader.js";

describe("FrameWriter", () => {
  it("writes everything framed between flushes in one write", () => {
    const writes: Buffer[] = [];
    const writer = new FrameWriter({ write: (b) => (writes.push(b), true) });
    writer.message(['{"a":', Buffer.from("1"), "}"]);
    writer.message(['{"b":2}']);
    expect(writer.flush()).toBe(true);
    expect(writes.map(String)).toEqual(['{"a":1}\n{"b":2}\n']);
    expect(writer.flush()).toBe(true);
    expect(writes).toHaveLength(1);
  });

  it("frames for LSP with byte-accurate lengths that our own reader decodes", () => {
    const writes: Buffer[] = [];
    const writer = new FrameWriter({ write: (b) => (writes.push(b), true) });
    writer.framing = "lsp";
    writer.message(['{"t":"', Buffer.from("héllo 🌍"), '"}']);
    writer.message(["{}"]);
    writer.flush();
    const frames: string[] = [];
    new LspReader({ frame: (b) => frames.push(String(b)), oversize: () => {} }, 1024, () => {}).push(Buffer.concat(writes));
    expect(frames).toEqual(['{"t":"héllo 🌍"}', "{}"]);
  });

  it("encodes short text as UTF-8 whether or not it is ASCII, across slab boundaries", () => {
    const writes: Buffer[] = [];
    const writer = new FrameWriter({ write: (b) => (writes.push(b), true) });
    const shorts = ["}", "42", '"id-7"', "é", "a🌍", "\ud800", "x".repeat(16), "ü".repeat(16), "y".repeat(17)];
    const messages: string[] = [];
    for (let i = 0; i < 4000; i++) {
      const text = shorts[i % shorts.length]!;
      writer.message([Buffer.from("{"), text, Buffer.from(String(i)), text]);
      messages.push(`{${text}${i}${text}\n`);
    }
    writer.flush();
    expect(writes.length).toBeGreaterThan(1);
    expect(Buffer.concat(writes).equals(Buffer.from(messages.join("")))).toBe(true);
  });

  it("passes on the sink's backpressure", () => {
    const writer = new FrameWriter({ write: () => false });
    writer.message(["{}"]);
    expect(writer.flush()).toBe(false);
  });
});
