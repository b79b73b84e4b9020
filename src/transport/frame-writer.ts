import type { Framing } from "./frames.js";

/** A piece of an outgoing message: text, or bytes already encoded (stored messages are kept as bytes). */
export type Piece = string | Buffer;

export interface ByteSink {
  /** false when the sink wants the writer to wait for 'drain'. */
  write(chunk: Buffer): boolean;
}

/** Output is assembled in slabs of this size; a batch is written once it fills one. */
const SLAB_BYTES = 64 * 1024;

/** Text up to this many UTF-16 units is stored byte by byte when it is ASCII. */
const SHORT_TEXT = 16;

/**
 * Frames outgoing messages and batches them. Pieces are encoded or copied straight into a slab, never
 * into small buffers of their own, and what was framed between two flushes leaves in one write per
 * slab: a pipelined burst of requests costs a syscall per 64 KiB, not one per response.
 *
 * A message can also be given in parts, as they come (a batch's answers): with NDJSON framing each part
 * leaves at once, so the message is never held whole; an LSP frame starts with its length, so there the
 * parts are held until the message ends. Messages framed meanwhile follow it.
 */
export class FrameWriter {
  framing: Framing = "ndjson";
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  /** Bytes of the slab already written out; the sink may still hold them. */
  private written = 0;
  private filled = 0;
  private sinkFull = false;
  /** The message being given in parts: its parts held so far (LSP), or null while they leave as they come. */
  private partial: Piece[] | null | undefined;
  private queued: (readonly Piece[])[] = [];

  constructor(private readonly sink: ByteSink) {}

  message(pieces: readonly Piece[]): void {
    if (this.partial !== undefined) this.queued.push(pieces);
    else this.frame(pieces);
  }

  /** Starts a message given in parts: appendToMessage() each, then endMessage(). */
  beginMessage(): void {
    this.partial = this.framing === "lsp" ? [] : null;
  }

  appendToMessage(pieces: readonly Piece[]): void {
    if (this.partial) for (const piece of pieces) this.partial.push(piece);
    else this.putAll(pieces, "");
  }

  endMessage(): void {
    const held = this.partial;
    this.partial = undefined;
    if (held) this.frame(held);
    else this.put("\n");
    const queued = this.queued;
    this.queued = [];
    for (const pieces of queued) this.frame(pieces);
  }

  /** True from a write after which the sink asked to wait, until drained() tells of its 'drain'. */
  get blocked(): boolean {
    return this.sinkFull;
  }

  drained(): void {
    this.sinkFull = false;
  }

  /** Writes what is buffered; returns false while the sink wants the writer to wait for 'drain'. */
  flush(): boolean {
    this.write();
    return !this.sinkFull;
  }

  private frame(pieces: readonly Piece[]): void {
    if (this.framing === "lsp") {
      let length = 0;
      for (const piece of pieces) length += typeof piece === "string" ? Buffer.byteLength(piece) : piece.length;
      this.put(`Content-Length: ${length}\r\n\r\n`);
    }
    this.putAll(pieces, this.framing === "ndjson" ? "\n" : "");
  }

  /** Runs of text are joined and encoded in one call; bytes are copied as they are. */
  private putAll(pieces: readonly Piece[], trailer: string): void {
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
    text += trailer;
    if (text.length > 0) this.put(text);
  }

  private put(piece: Piece): void {
    if (typeof piece !== "string") {
      this.reserve(piece.length);
      this.slab.set(piece, this.filled);
      this.filled += piece.length;
    } else {
      // A UTF-16 unit takes at most 3 bytes: text that surely fits is encoded without being measured,
      // longer text gets room for its exact length (a long ASCII text needs a third of the worst case).
      if (piece.length * 3 > this.slab.length - this.filled) this.reserve(Buffer.byteLength(piece));
      if (piece.length > SHORT_TEXT || !this.putAscii(piece)) this.filled += this.slab.write(piece, this.filled);
    }
    // A full slab leaves at once, so that what waits here for a flush stays under one slab.
    if (this.filled === this.slab.length) this.write();
  }

  /**
   * Stores short ASCII text (a request id, a closing brace) byte by byte, which costs less than a call
   * to Buffer#write. False, having stored nothing, for text that is not ASCII.
   */
  private putAscii(text: string): boolean {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
    for (let i = 0; i < text.length; i++) this.slab[this.filled++] = text.charCodeAt(i);
    return true;
  }

  private reserve(bytes: number): void {
    if (this.filled + bytes <= this.slab.length) return;
    this.write();
    this.slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, bytes));
    this.written = this.filled = 0;
  }

  private write(): void {
    if (this.filled === this.written) return;
    const out = this.slab.subarray(this.written, this.filled);
    this.written = this.filled;
    if (!this.sink.write(out)) this.sinkFull = true;
  }
}
