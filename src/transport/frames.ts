/** What a frame reader hands on: a complete message body, or word that an oversize one was dropped. */
export interface FrameSink {
  frame(body: Buffer): void;
  oversize(bytes: number): void;
}

export interface FrameReader {
  push(chunk: Buffer): void;
  /** The input ended: a final line without a newline still counts. */
  end(): void;
}

export type Framing = "ndjson" | "lsp";
