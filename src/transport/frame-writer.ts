import type { Framing } from "./frames.js";

/** A piece of an outgoing message: text, or bytes already encoded (stored messages are kept as bytes). */
export type Piece = string | Buffer;

export interface ByteSink {
  /** false when the sink wants the writer to wait for 'drain'. */
  write(chunk: Buffer): boolean;
}

/** Output is assembled in slabs of this size; a batch is written once it fills one. */
const SLAB_BYTES = 64 * 1024;

/**
 * Frames outgoing messages and batches them. Pieces are encoded or copied straight into a slab, never
 * into small buffers of their own, and what was framed between two flushes leaves in one write per
 * slab: a pipelined burst of requests costs a syscall per 64 KiB, not one per response.
 */
export class FrameWriter {
  framing: Framing = "ndjson";
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  /** Bytes of the slab already written out; the sink may still hold them. */
  private start = 0;
  private end = 0;
  private wantsDrain = false;

  constructor(private readonly sink: ByteSink) {}

  message(pieces: readonly Piece[]): void {
    if (this.framing === "lsp") {
      let length = 0;
      for (const piece of pieces) length += typeof piece === "string" ? Buffer.byteLength(piece) : piece.length;
      this.put(`Content-Length: ${length}\r\n\r\n`);
    }
    // Runs of text are joined and encoded in one call; bytes are copied as they are.
    let text = "";
    for (const piece of pieces) {
      if (typeof piece === "string") {
        text += piece;
      } else {
        if (text.length > 0) this.put(text);
        text = "";
        this.put(piece);
      }
    }
    if (this.framing === "ndjson") text += "\n";
    if (text.length > 0) this.put(text);
  }

  get pending(): boolean {
    return this.end > this.start;
  }

  /** Writes what is buffered; returns false when the sink asked to wait for 'drain' since the last flush. */
  flush(): boolean {
    this.write();
    const ok = !this.wantsDrain;
    this.wantsDrain = false;
    return ok;
  }

  private put(piece: Piece): void {
    // A string takes at most 3 bytes per UTF-16 unit.
    const room = typeof piece === "string" ? piece.length * 3 : piece.length;
    if (this.end + room > this.slab.length) {
      this.write();
      this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, room));
      this.start = this.end = 0;
    }
    if (typeof piece !== "string") {
      this.slab.set(piece, this.end);
      this.end += piece.length;
    } else if (piece.length === 1 && piece.charCodeAt(0) < 0x80) {
      this.slab[this.end++] = piece.charCodeAt(0);
    } else {
      this.end += this.slab.write(piece, this.end);
    }
  }

  private write(): void {
    if (this.end === this.start) return;
    const out = this.slab.subarray(this.start, this.end);
    this.start = this.end;
    if (!this.sink.write(out)) this.wantsDrain = true;
  }
}
