import type BetterSqlite3 from "better-sqlite3";
import { SESSION_COLUMNS } from "./rows.js";
import { TABLES } from "./schema.js";

type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;

/** Every statement the store runs, spelled out: better-sqlite3 does not export the type it infers. */
export interface Statements {
  begin: Statement;
  commit: Statement;
  rollback: Statement;
  totalChanges: Statement;
  dataVersion: Statement;
  sessionById: Statement;
  hasSession: Statement;
  insertSession: Statement;
  saveSession: Statement;
  saveCounts: Statement;
  access: Statement;
  setArchived: Statement;
  setTitle: Statement;
  deleteSession: Statement;
  sessionCount: Statement;
  countSession: Statement;
  uncountSession: Statement;
  dropEmptyCount: Statement;
  list: Statement;
  listInCwd: Statement;
  listAll: Statement;
  listAllInCwd: Statement;
  pastLifetime: Statement;
  idleDefault: Statement;
  idleOwn: Statement;
  insertSegment: Statement;
  segmentById: Statement;
  highestChildBase: Statement;
  disown: Statement;
  detachSegment: Statement;
  moveToSegment: Statement;
  deleteSegment: Statement;
  insertMessage: Statement;
  positionOf: Statement;
  messageRange: Statement;
  messageIdAt: Statement;
  firstUser: Statement;
  deleteMessagesFrom: Statement;
  deleteMessagesBelow: Statement;
  deleteSegmentMessages: Statement;
  count: Record<(typeof TABLES)[number], Statement>;
}

/** Prepares every statement once. */
export function prepareStatements(db: Database): Statements {
  const FROM_SESSIONS = "FROM sessions s JOIN segments g ON g.id = s.segment";
  const session = (where: string, index?: string) =>
    db
      .prepare(
        `SELECT ${SESSION_COLUMNS} ${index ? FROM_SESSIONS.replace("sessions s", `sessions s INDEXED BY ${index}`) : FROM_SESSIONS} ${where}`,
      )
      .raw();
  return {
    begin: db.prepare("BEGIN IMMEDIATE"),
    commit: db.prepare("COMMIT"),
    rollback: db.prepare("ROLLBACK"),
    totalChanges: db.prepare("SELECT total_changes()").pluck(),
    dataVersion: db.prepare("PRAGMA data_version").pluck(),

    sessionById: session("WHERE s.session_id = ?"),
    hasSession: db.prepare("SELECT 1 FROM sessions WHERE session_id = ?").pluck(),
    insertSession: db.prepare(
      `INSERT INTO sessions (session_id, cwd, title, created_at, last_accessed, client_capabilities, mcp_servers,
         additional_directories, revision, archived, max_idle_ms, pinned, parent_session_id, forked_at_message_id,
         segment, first_position, message_count)
       VALUES (@session_id, @cwd, @title, @created_at, @last_accessed, @client_capabilities, @mcp_servers,
         @additional_directories, @revision, @archived, @max_idle_ms, @pinned, @parent_session_id, @forked_at_message_id,
         @segment, @first_position, @message_count)`,
    ),
    saveSession: db.prepare(
      `UPDATE sessions SET title = @title, last_accessed = @last_accessed, client_capabilities = @client_capabilities,
         mcp_servers = @mcp_servers, additional_directories = @additional_directories, revision = @revision,
         max_idle_ms = @max_idle_ms, pinned = @pinned, first_position = @first_position, message_count = @message_count
       WHERE seq = @seq`,
    ),
    saveCounts: db.prepare(
      `UPDATE sessions SET last_accessed = @last_accessed, revision = @revision, first_position = @first_position,
         message_count = @message_count WHERE seq = @seq`,
    ),
    access: db.prepare("UPDATE sessions SET last_accessed = ? WHERE seq = ?"),
    setArchived: db.prepare("UPDATE sessions SET archived = ?, revision = ? WHERE seq = ?"),
    setTitle: db.prepare("UPDATE sessions SET title = ?, revision = ? WHERE seq = ?"),
    deleteSession: db.prepare("DELETE FROM sessions WHERE seq = ?"),

    sessionCount: db.prepare("SELECT sessions FROM counters WHERE id = 1").pluck(),
    countSession: db.prepare("INSERT INTO counters (id, sessions) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET sessions = sessions + 1"),
    uncountSession: db.prepare("UPDATE counters SET sessions = sessions - 1 WHERE id = 1"),
    dropEmptyCount: db.prepare("DELETE FROM counters WHERE id = 1 AND sessions <= 0"),

    list: session("WHERE s.archived = ? AND s.seq < ? ORDER BY s.seq DESC LIMIT ?"),
    listInCwd: session("WHERE s.cwd = ? AND s.archived = ? AND s.seq < ? ORDER BY s.seq DESC LIMIT ?"),
    listAll: session("WHERE s.seq < ? ORDER BY s.seq DESC LIMIT ?"),
    // Two index ranges merged in order, rather than sorting every session of the cwd.
    listAllInCwd: db
      .prepare(
        `SELECT ${SESSION_COLUMNS} ${FROM_SESSIONS} WHERE s.cwd = ? AND s.archived = 0 AND s.seq < ?
         UNION ALL SELECT ${SESSION_COLUMNS} ${FROM_SESSIONS} WHERE s.cwd = ? AND s.archived = 1 AND s.seq < ?
         ORDER BY 1 DESC LIMIT ?`,
      )
      .raw(),

    pastLifetime: session("WHERE s.created_at <= ? ORDER BY s.created_at, s.seq LIMIT ?"),
    // INDEXED BY: without statistics the planner would rather scan sessions_by_archived.
    idleDefault: session(
      "WHERE s.max_idle_ms IS NULL AND s.pinned = 0 AND s.archived = 0 AND s.last_accessed <= ? ORDER BY s.last_accessed LIMIT ?",
      "sessions_idle_default",
    ),
    idleOwn: session(
      `WHERE s.max_idle_ms IS NOT NULL AND s.pinned = 0 AND s.archived = 0 AND s.last_accessed + s.max_idle_ms <= ?
       ORDER BY s.last_accessed + s.max_idle_ms LIMIT ?`,
      "sessions_idle_own",
    ),

    insertSegment: db.prepare("INSERT INTO segments (parent, base, owned) VALUES (?, ?, 1)"),
    segmentById: db.prepare("SELECT id, parent, base, owned FROM segments WHERE id = ?"),
    highestChildBase: db.prepare("SELECT max(base) FROM segments WHERE parent = ?").pluck(),
    disown: db.prepare("UPDATE segments SET owned = 0 WHERE id = ?"),
    detachSegment: db.prepare("UPDATE segments SET parent = NULL WHERE id = ?"),
    moveToSegment: db.prepare("UPDATE sessions SET segment = ? WHERE seq = ?"),
    deleteSegment: db.prepare("DELETE FROM segments WHERE id = ?"),

    // Keys are computed in SQL: segment * 2^32 + position passes 2^53 long before SQLite's 2^63.
    insertMessage: db.prepare("INSERT INTO messages (key, message_id, role, json) VALUES ((? << 32) + ?, ?, ?, ?)"),
    positionOf: db
      .prepare("SELECT max(key) & 4294967295 FROM messages WHERE segment = ? AND message_id = ? AND key < (? << 32) + ?")
      .pluck(),
    messageRange: db
      .prepare("SELECT CAST(json AS TEXT) FROM messages WHERE key >= (? << 32) + ? AND key < (? << 32) + ? ORDER BY key")
      .pluck(),
    messageIdAt: db.prepare("SELECT message_id FROM messages WHERE key = (? << 32) + ?").pluck(),
    firstUser: db
      .prepare(
        `SELECT key & 4294967295 FROM messages WHERE key >= (? << 32) + ? AND key < (? << 32) + ? AND role = 'user'
         ORDER BY key LIMIT 1`,
      )
      .pluck(),
    deleteMessagesFrom: db.prepare("DELETE FROM messages WHERE key >= (? << 32) + ? AND key < (? + 1) << 32"),
    deleteMessagesBelow: db.prepare("DELETE FROM messages WHERE key >= ? << 32 AND key < (? << 32) + ?"),
    deleteSegmentMessages: db.prepare("DELETE FROM messages WHERE key >= ? << 32 AND key < (? + 1) << 32"),

    count: Object.fromEntries(TABLES.map((table) => [table, db.prepare(`SELECT count(*) FROM ${table}`).pluck()])) as Statements["count"],
  };
}
