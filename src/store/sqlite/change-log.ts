import type BetterSqlite3 from "better-sqlite3";
import { joinLines, splitLines } from "../message-lines.js";
import type { ChangeEvent, SessionChange } from "../types.js";
import type { SessionRow } from "./rows.js";

/** How long a log entry is kept: every sidecar with subscribers reads the log many times a second. */
export const LOG_KEEP_MS = 60_000;

/** A change as the log holds it, with where it stands in the log. */
export interface LogEntry {
  id: number;
  event: ChangeEvent;
}

/**
 * The change log (the `changes` table) and the watch mark that turns it on for a session (the
 * column `watched_until`). A write to a watched session logs its change in the same transaction, so
 * an entry exists exactly when the change was committed; the change feed (change-feed.ts) reads it.
 * An append's messages are kept as their stored JSON, one per line (message-lines.ts).
 */
export class ChangeLog {
  private readonly insert: BetterSqlite3.Statement;
  private readonly after: BetterSqlite3.Statement;
  private readonly newest: BetterSqlite3.Statement;
  private readonly prune: BetterSqlite3.Statement;
  private readonly setWatched: BetterSqlite3.Statement;
  /** Set once this connection has logged a change, until the feed reads the log after the commit. */
  written = false;

  constructor(db: BetterSqlite3.Database) {
    this.insert = db.prepare("INSERT INTO changes (at, session_id, revision, message_count, change, messages) VALUES (?, ?, ?, ?, ?, ?)");
    this.after = db.prepare("SELECT id, session_id, revision, message_count, change, messages FROM changes WHERE id > ? ORDER BY id").raw();
    this.newest = db.prepare("SELECT coalesce(max(id), 0) FROM changes").pluck();
    // Never the newest entry: with it gone the next id could be one a reader has already passed.
    this.prune = db.prepare(
      "DELETE FROM changes WHERE id < coalesce((SELECT min(id) FROM changes WHERE at >= ?), (SELECT max(id) FROM changes))",
    );
    this.setWatched = db.prepare("UPDATE sessions SET watched_until = ? WHERE seq = ?");
  }

  /** Whether changes to the session are logged now: its watch has not lapsed. */
  static watched(row: SessionRow): boolean {
    return row.watched_until !== 0 && row.watched_until > Date.now();
  }

  /** Logs a change, inside the write that makes it, with the revision and count the row now has. */
  append(row: SessionRow, change: SessionChange): void {
    let messages: Buffer | null = null;
    let rest: object = change;
    if (change.type === "appended") {
      const { messages: list, ...others } = change;
      messages = joinLines(list);
      rest = others;
    }
    this.insert.run(Date.now(), row.session_id, row.revision, row.message_count, JSON.stringify(rest), messages);
    this.written = true;
  }

  /**
   * Entries after `id`, oldest first: up to `limit` of them or, about, `maxBytes` of messages, so that
   * a reader far behind never holds the whole log at once. `more`: some are left.
   */
  read(id: number, limit: number, maxBytes: number): { entries: LogEntry[]; more: boolean } {
    const entries: LogEntry[] = [];
    let bytes = 0;
    const rows = this.after.iterate(id) as IterableIterator<[number, string, number, number, string, Buffer | null]>;
    for (const [entry, sessionId, revision, messageCount, text, messages] of rows) {
      const change = JSON.parse(text) as SessionChange;
      if (change.type === "appended") change.messages = splitLines(messages);
      entries.push({ id: entry, event: { sessionId, revision, messageCount, change } });
      bytes += messages?.length ?? 0;
      // Leaving the loop early closes the statement.
      if (entries.length >= limit || bytes >= maxBytes) return { entries, more: true };
    }
    return { entries, more: false };
  }

  /** The newest entry's id (0 for none): a reader that has read up to it has read everything logged. */
  last(): number {
    return this.newest.get() as number;
  }

  /** Turns logging on for the session until `until` (Unix ms); the caller sets the row's field. */
  watch(seq: number, until: number): void {
    this.setWatched.run(until, seq);
  }

  /** Drops entries written before `before` (Unix ms). */
  dropBefore(before: number): void {
    this.prune.run(before);
  }
}
