/**
 * What one SQLite connection has read, kept so that a read need not ask the file again: session rows
 * by id, and message bytes by (segment, position). It is right only while no other connection has
 * committed, which `PRAGMA data_version` tells: the store checks it at the start of every transaction
 * and calls `foreignCommit()` when it moved. Within this connection the store keeps it right itself:
 * a request works on copies of cached rows and stores them back only when it succeeded, and a segment
 * whose messages are deleted is dropped (segment ids can be reused once the highest is gone).
 * A message's bytes never change at a (segment, position) while the segment lives: appends always go
 * past the end, and trims only delete.
 */
const ROW_CAPACITY = 4096;
const MESSAGE_BYTES = 32 * 2 ** 20;

export class ReadCache<Row extends { session_id: string }> {
  private readonly rows = new Map<string, Row>();
  /** Oldest used first: a read moves its segment to the end. */
  private readonly segments = new Map<number, Map<number, Buffer>>();
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

  /** A row just read from the file or written by this request: kept if the request succeeds. */
  lend(row: Row): Row {
    this.lent.push(row);
    return row;
  }

  /** The request succeeded: its rows, as it left them, are what the file now holds. */
  keep(): void {
    for (const row of this.lent) {
      this.rows.delete(row.session_id);
      if (this.rows.size >= ROW_CAPACITY) this.rows.delete(this.rows.keys().next().value!);
      this.rows.set(row.session_id, row);
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

  /** Messages [from, to) of a segment if every one is cached, else undefined. */
  messages(segment: number, from: number, to: number): Buffer[] | undefined {
    const cached = this.segments.get(segment);
    if (!cached) return undefined;
    const out = new Array<Buffer>(to - from);
    for (let position = from; position < to; position++) {
      const bytes = cached.get(position);
      if (!bytes) return undefined;
      out[position - from] = bytes;
    }
    this.segments.delete(segment);
    this.segments.set(segment, cached);
    return out;
  }

  /** Messages read from the file at positions [from, from + messages.length), in bytes of their own (ownedCopies). */
  storeMessages(segment: number, from: number, messages: readonly Buffer[]): void {
    let cached = this.segments.get(segment);
    if (!cached) this.segments.set(segment, (cached = new Map()));
    for (let i = 0; i < messages.length; i++) {
      if (cached.has(from + i)) continue;
      cached.set(from + i, messages[i]!);
      this.bytes += messages[i]!.length;
    }
    while (this.bytes > MESSAGE_BYTES && this.segments.size > 1) this.dropSegment(this.segments.keys().next().value!);
  }

  /** Some of the segment's messages were deleted, or the segment itself. */
  dropSegment(segment: number): void {
    const cached = this.segments.get(segment);
    if (!cached) return;
    for (const bytes of cached.values()) this.bytes -= bytes.length;
    this.segments.delete(segment);
  }

  /** Another connection committed, or a commit of ours failed: nothing kept can be trusted. */
  clear(): void {
    this.rows.clear();
    this.segments.clear();
    this.bytes = 0;
    this.lent = [];
  }
}
