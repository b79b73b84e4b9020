/**
 * Splits an export into lines as its bytes arrive, and each session line's context into its messages,
 * so that a session of any length is imported holding one message at a time, never its whole line.
 * It reads just enough JSON to find them (containers, strings, the keys "session" and "context"); the
 * importer parses and checks each part.
 */
export type ScanEvent =
  /** A whole line whose context was not found where an export puts it: the header, or any other line. */
  | { kind: "line"; line: number; text: string }
  /** A session line up to and including the `[` of its context: with `]}}` appended it parses. */
  | { kind: "head"; line: number; text: string }
  /** One element of that context. */
  | { kind: "message"; line: number; text: string }
  /** The rest of the session line, from the context's closing `]` on. */
  | { kind: "end"; line: number; text: string }
  /** A line that cannot be read: too long to hold, or cut short. */
  | { kind: "bad"; line: number; reason: string };

/** The most of a line held at once outside its messages, and the most of one message (give or take a chunk). */
export const MAX_PART_BYTES = 64 * 1024 * 1024;

const NEWLINE = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** Where a session line's context elements sit: inside the line's object, its session object, the array. */
const CONTEXT_DEPTH = 3;
/** Enough of a key to tell "session" and "context". */
const KEY_BYTES = 16;

const indexOrEnd = (chunk: Buffer, byte: number, from: number) => {
  const at = chunk.indexOf(byte, from);
  return at < 0 ? chunk.length : at;
};

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** Bytes of one part of a line, gathered across chunks. */
class Part {
  private pieces: Buffer[] = [];
  private bytes = 0;
  /** Where the part starts in the current chunk; -1 when nothing is being gathered. */
  private from = -1;

  /** The part's size so far, once carried: what it holds of the chunks before. */
  size(): number {
    return this.bytes;
  }

  start(at: number): void {
    this.pieces = [];
    this.bytes = 0;
    this.from = at;
  }

  /** Keeps what the chunk holds of the part: the chunk is about to be replaced by the next one. */
  carry(chunk: Buffer): void {
    if (this.from < 0) return;
    if (this.from < chunk.length) {
      this.pieces.push(chunk.subarray(this.from));
      this.bytes += chunk.length - this.from;
    }
    this.from = 0;
  }

  /** The part's text up to `end` (exclusive) in the current chunk; gathering stops. */
  take(chunk: Buffer, end: number): string {
    const last = chunk.subarray(this.from, end);
    const text = this.pieces.length === 0 ? last.toString("utf8") : Buffer.concat([...this.pieces, last]).toString("utf8");
    this.stop();
    return text;
  }

  stop(): void {
    this.pieces = [];
    this.bytes = 0;
    this.from = -1;
  }
}

export class ExportScanner {
  private line = 1;
  /** The open containers, outermost first: OPEN_OBJECT or OPEN_ARRAY. */
  private readonly stack: number[] = [];
  private inString = false;
  private escaped = false;
  /** In an object, the next string is a key. */
  private expectKey = false;
  /** The key being read, when it is at a depth whose keys matter (1 and 2). */
  private key: number[] | undefined;
  /** The last key read at depths 1 and 2. */
  private readonly keys: (string | undefined)[] = [];
  /** line: looking for the context; context: inside it; rest: after it; skip: a bad line, to its end. */
  private mode: "line" | "context" | "rest" | "skip" = "line";
  private blank = true;
  /** In context mode, an element is being read. */
  private inElement = false;
  /** Where the current chunk's next quote, backslash and newline are, as far as found (nextInString). */
  private quoteAt = -1;
  private backslashAt = -1;
  private newlineAt = -1;
  /** The part of the line being gathered; a line is gathered from its start until its context begins. */
  private readonly part = new Part();

  constructor() {
    this.part.start(0);
  }

  push(chunk: Buffer): ScanEvent[] {
    const events: ScanEvent[] = [];
    this.quoteAt = this.backslashAt = this.newlineAt = -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === NEWLINE) {
        this.endLine(chunk, i, events);
        continue;
      }
      if (this.mode === "skip") continue;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.endString();
        else if (this.key) {
          if (this.key.length < KEY_BYTES) this.key.push(b);
        }
        // Most of an export is the text inside strings: jump to the next byte that ends or escapes them.
        else i = this.nextInString(chunk, i + 1) - 1;
        continue;
      }
      if (isSpace(b)) continue;
      this.blank = false;
      const depth = this.stack.length;
      if (this.mode === "context" && depth === CONTEXT_DEPTH && !this.inElement && b !== COMMA && b !== CLOSE_ARRAY) {
        this.inElement = true;
        this.part.start(i);
      }
      if (b === QUOTE) {
        this.inString = true;
        if (this.stack[depth - 1] === OPEN_OBJECT && this.expectKey && depth <= 2) this.key = [];
      } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
        if (b === OPEN_ARRAY && this.mode === "line" && this.atContext()) {
          events.push({ kind: "head", line: this.line, text: this.part.take(chunk, i + 1) });
          this.mode = "context";
        }
        this.stack.push(b);
        this.expectKey = b === OPEN_OBJECT;
        if (depth < 2) this.keys[depth + 1] = undefined;
      } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
        if (this.mode === "context" && depth === CONTEXT_DEPTH) {
          if (this.inElement) this.emitMessage(chunk, i, events);
          this.mode = "rest";
          this.part.start(i);
        }
        this.stack.pop();
        this.expectKey = false;
        if (this.mode === "context" && depth === CONTEXT_DEPTH + 1 && this.inElement) this.emitMessage(chunk, i + 1, events);
      } else if (b === COMMA) {
        if (this.stack[depth - 1] === OPEN_OBJECT) this.expectKey = true;
        if (this.mode === "context" && depth === CONTEXT_DEPTH && this.inElement) this.emitMessage(chunk, i, events);
      }
    }
    this.part.carry(chunk);
    if (this.part.size() > MAX_PART_BYTES) this.skipLine(`longer than ${MAX_PART_BYTES / 2 ** 20} MiB`, events);
    return events;
  }

  /** The input has ended: a last line without a newline is read as if it had one. */
  end(): ScanEvent[] {
    const events: ScanEvent[] = [];
    this.endLine(Buffer.alloc(0), 0, events);
    return events;
  }

  /** The first quote, backslash or newline in the chunk from `from` on (its length when there is none). */
  private nextInString(chunk: Buffer, from: number): number {
    if (this.quoteAt < from) this.quoteAt = indexOrEnd(chunk, QUOTE, from);
    if (this.backslashAt < from) this.backslashAt = indexOrEnd(chunk, BACKSLASH, from);
    if (this.newlineAt < from) this.newlineAt = indexOrEnd(chunk, NEWLINE, from);
    return Math.min(this.quoteAt, this.backslashAt, this.newlineAt);
  }

  /** At a `[` that opens `{"session":{…,"context":[`. */
  private atContext(): boolean {
    const s = this.stack;
    return s.length === 2 && s[0] === OPEN_OBJECT && s[1] === OPEN_OBJECT && this.keys[1] === "session" && this.keys[2] === "context";
  }

  private endString(): void {
    this.inString = false;
    if (this.key) {
      this.keys[this.stack.length] = Buffer.from(this.key).toString("utf8");
      this.key = undefined;
    }
    if (this.stack[this.stack.length - 1] === OPEN_OBJECT) this.expectKey = false;
  }

  private emitMessage(chunk: Buffer, end: number, events: ScanEvent[]): void {
    events.push({ kind: "message", line: this.line, text: this.part.take(chunk, end) });
    this.inElement = false;
  }

  private skipLine(reason: string, events: ScanEvent[]): void {
    events.push({ kind: "bad", line: this.line, reason });
    this.part.stop();
    this.mode = "skip";
  }

  private endLine(chunk: Buffer, at: number, events: ScanEvent[]): void {
    if (this.mode === "line" && !this.blank) events.push({ kind: "line", line: this.line, text: this.part.take(chunk, at) });
    else if (this.mode === "rest") events.push({ kind: "end", line: this.line, text: this.part.take(chunk, at) });
    else if (this.mode === "context") events.push({ kind: "bad", line: this.line, reason: "cut short: its context does not end" });
    this.line++;
    this.stack.length = 0;
    this.keys.length = 0;
    this.inString = this.escaped = this.expectKey = this.inElement = false;
    this.key = undefined;
    this.mode = "line";
    this.blank = true;
    this.part.start(at + 1);
  }
}
