import { describe, expect, it } from "vitest";
import { FrameWriter } from "../../src/transport/frame-writer.js";
import { LspReader } from "../../src/transport/lsp-reader.js";

const MiB = 1024 * 1024;

function collect(accept: () => boolean = () => true) {
  const writes: Buffer[] = [];
  const writer = new FrameWriter({ write: (b) => (writes.push(b), accept()) });
  return { writer, writes, text: () => Buffer.concat(writes).toString() };
}

function lspFrames(bytes: Buffer): string[] {
  const frames: string[] = [];
  new LspReader({ frame: (b) => frames.push(String(b)), oversize: () => {} }, 64 * MiB, () => {}).push(bytes);
  return frames;
}

describe("FrameWriter: sizing, backpressure, messages in parts", () => {
  it("gives long text room for its exact length: a 1 MiB ASCII piece takes 1 MiB of slab, not 3", () => {
    const { writer, writes, text } = collect();
    const ascii = "a".repeat(MiB);
    const accented = "é".repeat(MiB / 2);
    writer.message(['{"t":"', ascii, '"}']);
    writer.message(['{"t":"', accented, '"}']);
    writer.flush();
    // Each slab is its own allocation: its backing store is exactly what was reserved. Runs of text are
    // joined, so the first message is one text of MiB + 9 bytes, its newline included.
    const reserved = writes.map((b) => b.buffer.byteLength);
    expect(Math.max(...reserved)).toBe(MiB + 9);
    expect(reserved.reduce((a, b) => a + b, 0)).toBeLessThan(2 * MiB + 256 * 1024);
    expect(text()).toBe(`{"t":"${ascii}"}\n{"t":"${accented}"}\n`);
  });

  it("hands a full slab to the sink at once, and stays blocked from a refused write until drained()", () => {
    let accept = true;
    const { writer, writes } = collect(() => accept);
    writer.message(["x".repeat(100 * 1024)]);
    // Larger than a slab: written without waiting for flush().
    expect(writes.map((b) => b.length)).toEqual([100 * 1024 + 1]);
    expect(writer.blocked).toBe(false);
    accept = false;
    writer.message(["{}"]);
    expect(writer.flush()).toBe(false);
    accept = true;
    writer.message(["{}"]);
    expect(writer.flush()).toBe(false);
    expect(writer.blocked).toBe(true);
    writer.drained();
    expect(writer.blocked).toBe(false);
    expect(writer.flush()).toBe(true);
  });

  it("NDJSON: a message's parts leave as they come, one line in the end; messages framed meanwhile follow it", () => {
    const { writer, text } = collect();
    writer.beginMessage();
    writer.appendToMessage(["[", Buffer.from('{"a":1}')]);
    writer.message(['{"late":true}']);
    writer.flush();
    expect(text()).toBe('[{"a":1}');
    writer.appendToMessage([",", '{"b":"é"}', "]"]);
    writer.endMessage();
    writer.message(['{"after":true}']);
    writer.flush();
    expect(text()).toBe('[{"a":1},{"b":"é"}]\n{"late":true}\n{"after":true}\n');
  });

  it("LSP: a message's parts are held until it ends, then framed with their byte length; messages framed meanwhile follow it", () => {
    const { writer, writes } = collect();
    writer.framing = "lsp";
    writer.beginMessage();
    writer.appendToMessage(["[", Buffer.from('{"t":"héllo 🌍"}')]);
    writer.message(["{}"]);
    writer.flush();
    expect(writes).toEqual([]);
    writer.appendToMessage([",", '{"u":"ü"}', "]"]);
    writer.endMessage();
    writer.flush();
    expect(lspFrames(Buffer.concat(writes))).toEqual(['[{"t":"héllo 🌍"},{"u":"ü"}]', "{}"]);
  });
});
