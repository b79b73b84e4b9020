import type { FrameReader, FrameSink } from "./frames.js";

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines. Works on bytes, so a multi-byte character split across reads is
 * decoded only once its line is whole. A line longer than `maxBytes` is dropped as it streams in
 * (never buffered whole) and reported once.
 */
export class NdjsonReader implements FrameReader {
  private parts: Buffer[] = [];
  private partsLength = 0;
  private discarding = false;
  private discardedBytes = 0;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxBytes: number,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(LF, start);
      if (newline === -1) {
        this.keep(chunk.subarray(start));
        return;
      }
      // A line wholly inside this chunk, with nothing held before it, goes on without being held.
      if (this.partsLength === 0 && !this.discarding && newline - start <= this.maxBytes) this.handOn(chunk.subarray(start, newline));
      else {
        this.keep(chunk.subarray(start, newline));
        this.finishLine();
      }
      start = newline + 1;
    }
  }

  end(): void {
    this.finishLine();
  }

  private keep(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.discarding) {
      this.discardedBytes += piece.length;
      return;
    }
    if (this.partsLength + piece.length > this.maxBytes) {
      this.discarding = true;
      this.discardedBytes = this.partsLength + piece.length;
      this.parts = [];
      this.partsLength = 0;
      return;
    }
    this.parts.push(piece);
    this.partsLength += piece.length;
  }

  private finishLine(): void {
    if (this.discarding) {
      this.discarding = false;
      this.sink.oversize(this.discardedBytes);
      return;
    }
    if (this.partsLength === 0) return;
    const line = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partsLength);
    this.parts = [];
    this.partsLength = 0;
    this.handOn(line);
  }

  /** A whole line: without its CR, and unless blank, to the sink. */
  private handOn(line: Buffer): void {
    if (line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    if (isBlank(line)) return;
    this.sink.frame(line);
  }
}

function isBlank(line: Buffer): boolean {
  for (let i = 0; i < line.length; i++) {
    const b = line[i];
    if (b !== 0x20 && b !== 0x09 && b !== CR) return false;
  }
  return true;
}
