import type { FrameReader, FrameSink, Framing } from "./frames.js";
import { LspReader } from "./lsp-reader.js";
import { NdjsonReader } from "./ndjson-reader.js";

const LSP_PREFIX = "content-length:";

/**
 * Decides the framing from the first bytes: an LSP header switches both directions to LSP framing
 * (so stock vscode-jsonrpc clients work), anything else is newline-delimited JSON as ACP sends it.
 */
export class AutoFrameReader implements FrameReader {
  private inner: FrameReader | undefined;
  private head: Buffer = Buffer.alloc(0);

  constructor(
    private readonly sink: FrameSink,
    private readonly maxBytes: number,
    private readonly onFraming: (framing: Framing) => void,
    private readonly onBadHeader: (header: string) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.inner) return this.inner.push(chunk);
    // Leading whitespace means nothing to either framing; dropping it keeps what is held a few bytes long.
    this.head = this.head.length === 0 ? chunk.subarray(leadingWhitespace(chunk)) : Buffer.concat([this.head, chunk]);
    const framing = detect(this.head);
    if (framing) this.start(framing);
  }

  end(): void {
    if (!this.inner) this.start("ndjson");
    this.inner!.end();
  }

  private start(framing: Framing): void {
    this.inner = framing === "lsp" ? new LspReader(this.sink, this.maxBytes, this.onBadHeader) : new NdjsonReader(this.sink, this.maxBytes);
    this.onFraming(framing);
    const head = this.head;
    this.head = Buffer.alloc(0);
    if (head.length > 0) this.inner.push(head);
  }
}

/** undefined while the bytes seen so far could still be either framing. */
function detect(head: Buffer): Framing | undefined {
  const seen = head.subarray(0, LSP_PREFIX.length).toString("latin1").toLowerCase();
  if (!LSP_PREFIX.startsWith(seen)) return "ndjson";
  return seen.length === LSP_PREFIX.length ? "lsp" : undefined;
}

function leadingWhitespace(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return i;
}
