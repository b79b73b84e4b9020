/** What a frame reader hands on: a complete message body, or word that an oversize one was dropped. */
export interface FrameSink {
  /**
   * A message body. What frames no message comes here too, as it was read, to be answered as a parse
   * error: a line that is not JSON, an LSP header without a valid length, the header of a frame that
   * the input ended inside.
   */
  frame(body: Buffer): void;
  oversize(bytes: number): void;
}

export interface FrameReader {
  push(chunk: Buffer): void;
  /** The input ended: a final line without a newline still counts. */
  end(): void;
}

export type Framing = "ndjson" | "lsp";
