import type { Framing } from "./frames.js";

/** A piece of an outgoing message: text, or bytes already encoded (stored messages are kept as bytes). */
export type Piece = string | Buffer;

export interface ByteSink {
  /** false when the sink wants the writer to wait for 'drain'. */
  write(chunk: Buffer): boolean;
}

/** Past this many buffered bytes a batch is written at once: big one-off buffers fragment the heap. */
const MAX_BATCH_BYTES = 64 * 1024;

/**
 * Frames outgoing messages and batches them: what is framed between two flushes leaves in as few
 * writes as its size allows, so a pipelined burst of requests costs a syscall per 64 KiB, not one per
 * response.
 */
export class FrameWriter {
  framing: Framing = "ndjson";
  private chunks: Buffer[] = [];
  private text = "";
  private size = 0;
  private wantsDrain = false;

  constructor(private readonly sink: ByteSink) {}

  message(pieces: readonly Piece[]): void {
    if (this.framing === "lsp") {
      let length = 0;
      for (const piece of pieces) length += typeof piece === "string" ? Buffer.byteLength(piece) : piece.length;
      this.text += `Content-Length: ${length}\r\n\r\n`;
    }
    for (const piece of pieces) {
      if (typeof piece === "string") {
        this.text += piece;
      } else {
        this.takeText();
        this.chunks.push(piece);
        this.size += piece.length;
      }
    }
    if (this.framing === "ndjson") this.text += "\n";
    if (this.size + this.text.length >= MAX_BATCH_BYTES) this.write();
  }

  get pending(): boolean {
    return this.text.length > 0 || this.chunks.length > 0;
  }

  /** Writes what is buffered; returns false when the sink asked to wait for 'drain' since the last flush. */
  flush(): boolean {
    this.write();
    const ok = !this.wantsDrain;
    this.wantsDrain = false;
    return ok;
  }

  private write(): void {
    this.takeText();
    if (this.chunks.length === 0) return;
    const out = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    if (!this.sink.write(out)) this.wantsDrain = true;
  }

  private takeText(): void {
    if (this.text.length === 0) return;
    const bytes = Buffer.from(this.text);
    this.chunks.push(bytes);
    this.size += bytes.length;
    this.text = "";
  }
}
