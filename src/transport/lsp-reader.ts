import type { FrameReader, FrameSink } from "./frames.js";

const HEADER_END = Buffer.from("\r\n\r\n");
const MAX_HEADER_BYTES = 8192;
/** Where a header starts, for finding the next frame after bytes that were not one. */
const FRAME_START = "content-length:";
const EMPTY = Buffer.alloc(0);

/** What the bytes being read are: a header, a body being collected or skipped, or junk up to the next header. */
type Mode = "header" | "body" | "skip" | "resync";

/**
 * Reads LSP base-protocol frames (`Content-Length: N\r\n\r\n` then N bytes), as stock vscode-jsonrpc
 * clients send them. A body is kept as the chunks it came in and joined once, when it is whole; one over
 * `maxBytes` is skipped without being buffered and reported once. A header that gives no valid length
 * within 8 KiB is handed on as it came (at most 8 KiB of it, to be answered as a parse error) and reading
 * resumes at the next `Content-Length:`. The header of a frame the end of input cuts short is handed on too.
 */
export class LspReader implements FrameReader {
  private mode: Mode = "header";
  /** Header bytes read so far (header), or bytes yet to search for the next header (resync). */
  private head: Buffer = EMPTY;
  /** The header of the body being collected: what is handed on if the input ends inside it. */
  private header: Buffer = EMPTY;
  private parts: Buffer[] = [];
  private bodyLength = 0;
  /** Body bytes still to come (body) or to skip (skip). */
  private remaining = 0;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxBytes: number,
    private readonly onBadHeader: (header: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length > 0) rest = this.read(rest);
  }

  end(): void {
    if (this.mode === "body") this.sink.frame(this.header);
    else if (this.mode === "header" && !isBlank(this.head)) this.sink.frame(this.head);
    this.mode = "header";
    this.head = EMPTY;
    this.header = EMPTY;
    this.parts = [];
    this.remaining = 0;
  }

  /** Consumes the start of `data` in the current mode; returns what is left for the next one. */
  private read(data: Buffer): Buffer {
    switch (this.mode) {
      case "header":
        return this.readHeader(data);
      case "body":
        return this.readBody(data);
      case "skip":
        return this.skip(data);
      case "resync":
        return this.resync(data);
    }
  }

  private readHeader(data: Buffer): Buffer {
    const seen = this.head.length;
    const limit = MAX_HEADER_BYTES + HEADER_END.length;
    // Only the bytes a header may span are copied; the rest of a large chunk stays where it is.
    const window = seen === 0 ? data.subarray(0, limit) : Buffer.concat([this.head, data.subarray(0, limit - seen)]);
    const end = window.indexOf(HEADER_END, Math.max(0, seen - HEADER_END.length + 1));
    if (end === -1) {
      if (window.length < limit) {
        this.head = window;
        return EMPTY;
      }
      this.rejectHeader(window.subarray(0, MAX_HEADER_BYTES), window.subarray(1));
      return this.resync(data.subarray(limit - seen));
    }
    const header = window.subarray(0, end);
    const rest = data.subarray(end + HEADER_END.length - seen);
    this.head = EMPTY;
    if (isBlank(header)) return rest;
    const { length, fieldEnd } = contentLength(header.toString("latin1"));
    if (length === undefined) {
      // A Content-Length later in this header may begin the next frame: bytes left over from a body
      // whose length was given too short run into the next header.
      this.rejectHeader(header, window.subarray(fieldEnd, end + HEADER_END.length));
      return this.resync(rest);
    }
    if (length > this.maxBytes) {
      this.sink.oversize(length);
      this.mode = "skip";
      this.remaining = length;
      return rest;
    }
    this.mode = "body";
    this.header = header;
    this.bodyLength = length;
    this.remaining = length;
    // An empty body is whole already, though no byte of it will come.
    return length === 0 ? this.readBody(rest) : rest;
  }

  private readBody(data: Buffer): Buffer {
    const taken = Math.min(this.remaining, data.length);
    if (taken > 0) this.parts.push(data.subarray(0, taken));
    this.remaining -= taken;
    if (this.remaining > 0) return EMPTY;
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bodyLength);
    this.parts = [];
    this.header = EMPTY;
    this.mode = "header";
    this.sink.frame(body);
    return data.subarray(taken);
  }

  private skip(data: Buffer): Buffer {
    const skipped = Math.min(this.remaining, data.length);
    this.remaining -= skipped;
    if (this.remaining === 0) this.mode = "header";
    return data.subarray(skipped);
  }

  /**
   * Answers a header that gives no body length. What follows is junk up to the next `Content-Length:`,
   * looked for from `searchFrom` (the rest of this header) on.
   */
  private rejectHeader(header: Buffer, searchFrom: Buffer): void {
    this.head = searchFrom;
    this.mode = "resync";
    this.onBadHeader(header.toString("latin1"));
    this.sink.frame(header);
  }

  private resync(data: Buffer): Buffer {
    const bytes = this.head.length === 0 ? data : Buffer.concat([this.head, data]);
    const start = bytes.toString("latin1").toLowerCase().indexOf(FRAME_START);
    if (start === -1) {
      // Keeps only what could be the beginning of a header cut by the chunk boundary, copied so
      // that the chunk itself is not held.
      this.head = Buffer.from(bytes.subarray(Math.max(0, bytes.length - FRAME_START.length + 1)));
      return EMPTY;
    }
    this.head = EMPTY;
    this.mode = "header";
    return bytes.subarray(start);
  }
}

/**
 * The body length a header gives, if valid, and where its Content-Length field name ends (past the
 * colon; 1 when it has none, so that the search for the next one starts past this header's start).
 */
function contentLength(header: string): { length: number | undefined; fieldEnd: number } {
  let lineStart = 0;
  for (const line of header.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon !== -1 && line.slice(0, colon).trim().toLowerCase() === "content-length") {
      const value = line.slice(colon + 1).trim();
      return { length: /^\d+$/.test(value) ? Number(value) : undefined, fieldEnd: lineStart + colon + 1 };
    }
    lineStart += line.length + 2;
  }
  return { length: undefined, fieldEnd: 1 };
}

function isBlank(bytes: Buffer): boolean {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) return false;
  return true;
}
