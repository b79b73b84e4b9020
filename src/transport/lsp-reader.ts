import type { FrameReader, FrameSink } from "./frames.js";

const HEADER_END = Buffer.from("\r\n\r\n");
const MAX_HEADER_BYTES = 8192;

/**
 * Reads LSP base-protocol frames (`Content-Length: N\r\n\r\n` then N bytes), as stock vscode-jsonrpc
 * clients send them. A body is kept as the chunks it came in and joined once, when it is whole; one over
 * `maxBytes` is skipped without being buffered and reported once.
 */
export class LspReader implements FrameReader {
  /** Bytes not yet part of a body: a header being read, and whatever follows it in the same chunk. */
  private buffer: Buffer = Buffer.alloc(0);
  private bodyLength = -1;
  /** The body so far, while bodyLength >= 0. */
  private parts: Buffer[] = [];
  private partsLength = 0;
  private skipping = 0;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxBytes: number,
    private readonly onBadHeader: (header: string) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.skipping > 0) {
      const skipped = Math.min(this.skipping, chunk.length);
      this.skipping -= skipped;
      chunk = chunk.subarray(skipped);
      if (chunk.length === 0) return;
    }
    if (this.bodyLength >= 0) chunk = this.collect(chunk);
    if (chunk.length === 0) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.drain();
  }

  end(): void {
    this.buffer = Buffer.alloc(0);
    this.bodyLength = -1;
    this.parts = [];
    this.partsLength = 0;
  }

  /** Adds the start of `data` to the body; hands the body on once whole and returns what follows it. */
  private collect(data: Buffer): Buffer {
    const taken = Math.min(this.bodyLength - this.partsLength, data.length);
    if (taken > 0) this.parts.push(data.subarray(0, taken));
    this.partsLength += taken;
    if (this.partsLength < this.bodyLength) return Buffer.alloc(0);
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bodyLength);
    this.parts = [];
    this.partsLength = 0;
    this.bodyLength = -1;
    this.sink.frame(body);
    return data.subarray(taken);
  }

  private drain(): void {
    for (;;) {
      if (this.bodyLength < 0) {
        const headerEnd = this.buffer.indexOf(HEADER_END);
        if (headerEnd === -1) {
          if (this.buffer.length > MAX_HEADER_BYTES) {
            this.onBadHeader(this.buffer.subarray(0, 80).toString("latin1"));
            this.buffer = Buffer.alloc(0);
          }
          return;
        }
        const header = this.buffer.subarray(0, headerEnd).toString("latin1");
        this.buffer = this.buffer.subarray(headerEnd + HEADER_END.length);
        const length = contentLength(header);
        if (length === undefined) {
          this.onBadHeader(header);
          continue;
        }
        if (length > this.maxBytes) {
          this.sink.oversize(length);
          const skipped = Math.min(length, this.buffer.length);
          this.buffer = this.buffer.subarray(skipped);
          this.skipping = length - skipped;
          if (this.skipping > 0) return;
          continue;
        }
        this.bodyLength = length;
      }
      const rest = this.collect(this.buffer);
      this.buffer = Buffer.alloc(0);
      if (this.bodyLength >= 0) return;
      this.buffer = rest;
    }
  }
}

function contentLength(header: string): number | undefined {
  for (const line of header.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    if (line.slice(0, colon).trim().toLowerCase() !== "content-length") continue;
    const value = line.slice(colon + 1).trim();
    return /^\d+$/.test(value) ? Number(value) : undefined;
  }
  return undefined;
}
