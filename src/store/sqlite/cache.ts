/**
 * What one SQLite connection has read, kept so that a read need not ask the file again: session rows
 * by id, and message bytes by (segment, position). It is right only while no other connection has
 * committed, which `PRAGMA data_version` tells: the store checks it at the start of every transaction
 * and calls `clear()` when it moved. Within this connection the store keeps it right itself: a
 * request that may change a row works on a copy and stores it back only when it succeeded, and a
 * segment whose messages are deleted is dropped (segment ids can be reused once the highest is gone).
 * A message's bytes change at a (segment, position) only where a truncate dropped the segment's tail
 * and a later append reused the position: the store drops that segment's run when it truncates.
 * Otherwise appends always go past the end, and trims only delete.
 */
const ROW_CAPACITY = 4096;
const MESSAGE_BYTES = 32 * 2 ** 20;
/** A run grows as reads adjoin, but no further than this: one long history must not push out the rest. */
const RUN_BYTES = 4 * 2 ** 20;

const NONE: Buffer[] = [];

/** One contiguous run of a segment's messages: positions [from, from + messages.length). */
interface Run {
  from: number;
  messages: Buffer[];
  bytes: number;
}

export class ReadCache<Row extends { session_id: string }> {
  /** Least recently used first. */
  private readonly rows = new Map<string, Row>();
  private newestRow: string | undefined;
  /** Least recently read first. */
  private readonly runs = new Map<number, Run>();
  private newestRun: number | undefined;
  private bytes = 0;
  /** Rows handed out during the current request, to keep if it succeeds. */
  private lent: Row[] = [];

  /** A copy of the cached row, or undefined; the copy is kept if the request succeeds. */
  borrow(sessionId: string): Row | undefined {
    const row = this.rows.get(sessionId);
    if (!row) return undefined;
    const copy = { ...row };
    this.lent.push(copy);
    return copy;
  }

  /**
   * The cached row itself, for work that only reads it, and records an access last of all: it may set
   * the row's access time once the statement that stores it has succeeded.
   */
  peek(sessionId: string): Row | undefined {
    const row = this.rows.get(sessionId);
    if (row && sessionId !== this.newestRow) {
      this.rows.delete(sessionId);
      this.rows.set(sessionId, row);
      this.newestRow = sessionId;
    }
    return row;
  }

  /** A row just read from the file or written by this request: kept if the request succeeds. */
  lend(row: Row): Row {
    this.lent.push(row);
    return row;
  }

  /** The request succeeded: its rows, as it left them, are what the file now holds. */
  keep(): void {
    if (this.lent.length === 0) return;
    for (const row of this.lent) {
      this.rows.delete(row.session_id);
      if (this.rows.size >= ROW_CAPACITY) this.rows.delete(this.rows.keys().next().value!);
      this.rows.set(row.session_id, row);
      this.newestRow = row.session_id;
    }
    this.lent = [];
  }

  /** The request failed and was undone: the cached rows are still right. */
  discard(): void {
    this.lent = [];
  }

  /** The session was deleted (or changed behind the rows' backs) in this request. */
  forget(sessionId: string): void {
    this.rows.delete(sessionId);
    this.lent = this.lent.filter((row) => row.session_id !== sessionId);
  }

  /**
   * The kept messages that start [from, to) of a segment: all of them, the first few (a history read
   * before and appended to since), or none. Read-only.
   */
  leading(segment: number, from: number, to: number): Buffer[] {
    const run = this.runs.get(segment);
    const runEnd = run ? run.from + run.messages.length : 0;
    if (!run || from < run.from || from >= runEnd) return NONE;
    if (segment !== this.newestRun) {
      this.runs.delete(segment);
      this.runs.set(segment, run);
      this.newestRun = segment;
    }
    const end = Math.min(to, runEnd);
    return from === run.from && end === runEnd ? run.messages : run.messages.slice(from - run.from, end - run.from);
  }

  /** Messages read from the file at positions [from, from + messages.length), in bytes of their own (ownedCopies). */
  storeMessages(segment: number, from: number, messages: Buffer[]): void {
    let bytes = 0;
    for (const m of messages) bytes += m.length;
    const run = this.runs.get(segment);
    const end = from + messages.length;
    if (run && from <= run.from + run.messages.length && end >= run.from && run.bytes + bytes <= RUN_BYTES) {
      // Overlapping or adjoining: one run over both.
      const before = from > run.from ? run.messages.slice(0, from - run.from) : [];
      const after = end < run.from + run.messages.length ? run.messages.slice(end - run.from) : [];
      for (const m of [...before, ...after]) bytes += m.length;
      messages = [...before, ...messages, ...after];
      from = Math.min(from, run.from);
    }
    this.dropSegment(segment);
    if (bytes > RUN_BYTES) return;
    this.runs.set(segment, { from, messages, bytes });
    this.newestRun = segment;
    this.bytes += bytes;
    while (this.bytes > MESSAGE_BYTES && this.runs.size > 1) this.dropSegment(this.runs.keys().next().value!);
  }

  /** Some of the segment's messages were deleted, or the segment itself. */
  dropSegment(segment: number): void {
    const run = this.runs.get(segment);
    if (!run) return;
    this.bytes -= run.bytes;
    this.runs.delete(segment);
    if (this.newestRun === segment) this.newestRun = undefined;
  }

  /** Another connection committed, or a commit of ours failed: nothing kept can be trusted. */
  clear(): void {
    this.rows.clear();
    this.newestRow = undefined;
    this.runs.clear();
    this.newestRun = undefined;
    this.bytes = 0;
    this.lent = [];
  }
}
