import type BetterSqlite3 from "better-sqlite3";
import { oneLine } from "../errors.js";
import { StoreOpenError } from "../errors.js";

/**
 * The SQLite file's schema: a public contract once people have data in it. Each entry migrates from
 * the version before it (index 0 makes version 1 from an empty file); never edit a released entry,
 * append a new one. The version lives in `PRAGMA user_version`.
 */
const MIGRATIONS: readonly string[] = [
  `
  -- One row per session. seq is the creation order listing pages by (it never changes).
  -- Times are Unix ms; JSON columns hold what the protocol sent (mcp_servers: names only).
  CREATE TABLE sessions (
    seq INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE,
    cwd TEXT NOT NULL,
    title TEXT,
    created_at INTEGER NOT NULL,
    last_accessed INTEGER NOT NULL,
    client_capabilities TEXT NOT NULL,
    mcp_servers TEXT NOT NULL,
    additional_directories TEXT NOT NULL,
    revision INTEGER NOT NULL,
    archived INTEGER NOT NULL,
    max_idle_ms INTEGER,
    pinned INTEGER NOT NULL,
    parent_session_id TEXT,
    forked_at_message_id TEXT,
    -- The segment (segments.id) this session appends to; its visible history is the absolute
    -- positions [first_position, first_position + message_count) of that segment's chain.
    segment INTEGER NOT NULL,
    first_position INTEGER NOT NULL,
    message_count INTEGER NOT NULL
  );
  CREATE INDEX sessions_by_archived ON sessions (archived, seq);
  CREATE INDEX sessions_by_cwd ON sessions (cwd, archived, seq);
  CREATE INDEX sessions_by_creation ON sessions (created_at);
  -- Idle expiry: sessions on the store's default idle age (which each sidecar brings) are due by
  -- last access; sessions with an age of their own by their deadline. Pinned and archived ones never.
  CREATE INDEX sessions_idle_default ON sessions (last_accessed)
    WHERE max_idle_ms IS NULL AND pinned = 0 AND archived = 0;
  CREATE INDEX sessions_idle_own ON sessions (last_accessed + max_idle_ms)
    WHERE max_idle_ms IS NOT NULL AND pinned = 0 AND archived = 0;

  -- An append-only run of messages at absolute positions from base on; positions below base are
  -- read from parent (a segments.id). A fork starts a segment over its parent's, so forks share
  -- history, never copy it. A segment lives while a session owns it or another segment is based on it.
  -- (No foreign keys: their checks would scan tables on every delete.)
  CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    parent INTEGER,
    base INTEGER NOT NULL,
    owned INTEGER NOT NULL
  );
  CREATE INDEX segments_by_parent ON segments (parent, base) WHERE parent IS NOT NULL;

  -- key = segment * 2^32 + position, so a window of a segment is one range of the table's own
  -- b-tree (segment and position are computed, not stored). json: the whole message as UTF-8 JSON
  -- bytes, returned as stored.
  CREATE TABLE messages (
    key INTEGER PRIMARY KEY,
    segment INTEGER GENERATED ALWAYS AS (key >> 32) VIRTUAL,
    position INTEGER GENERATED ALWAYS AS (key & 4294967295) VIRTUAL,
    message_id TEXT NOT NULL,
    role TEXT NOT NULL,
    json BLOB NOT NULL
  );
  -- Not unique: a trimmed message that a fork still reads may be appended again.
  CREATE INDEX messages_by_id ON messages (segment, message_id);

  -- How many sessions there are (for maxSessions without counting); no row when there are none.
  CREATE TABLE counters (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sessions INTEGER NOT NULL
  );
  `,
  `
  -- Live observers (session/subscribe). Changes to a session are logged only while it is watched:
  -- until watched_until (Unix ms, wall clock), which subscribing sidecars keep moving forward.
  ALTER TABLE sessions ADD COLUMN watched_until INTEGER NOT NULL DEFAULT 0;

  -- The change log of watched sessions, read by every sidecar with subscribers: the revision and count
  -- after each change, the change as JSON (change-log.ts), an append's messages as their stored JSON,
  -- one per line. Entries are dropped a minute after they were written; ids only grow (the newest
  -- entry is never dropped, so no id is used twice).
  CREATE TABLE changes (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    message_count INTEGER NOT NULL,
    change TEXT NOT NULL,
    messages BLOB
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Every table the store writes, for footprint(): all empty once every session is gone. */
export const TABLES = ["sessions", "segments", "messages", "counters"] as const;

/** The change log: bookkeeping that empties itself within a minute, so footprint() leaves it out. */
export const CHANGE_LOG_TABLE = "changes";

/**
 * Checks that the file is ours and not from a newer release before writing anything to it, then sets
 * the connection up and migrates. Throws StoreOpenError naming the file and the problem.
 */
export function prepareDatabase(db: BetterSqlite3.Database, path: string): void {
  const fail = (problem: string) => new StoreOpenError(`sqlite store ${path}: ${problem}`);
  db.pragma("busy_timeout = 5000");
  let version: number;
  try {
    version = db.pragma("user_version", { simple: true }) as number;
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw fail(code === "SQLITE_NOTADB" ? "not a SQLite database" : oneLine(err));
  }
  if (version > SCHEMA_VERSION) {
    throw fail(`schema version ${version} is newer than this acp-sessions understands (${SCHEMA_VERSION}); upgrade acp-sessions`);
  }
  if (version === 0 && db.prepare("SELECT count(*) FROM sqlite_schema").pluck().get() !== 0) {
    throw fail("a SQLite database of another application (it has tables but no acp-sessions schema version)");
  }
  try {
    db.pragma("journal_mode = WAL");
    // In WAL mode NORMAL loses nothing when the process is killed, only on power loss.
    db.pragma("synchronous = NORMAL");
    // Checkpoints (copying the log back into the file, with fsync) dominate a busy store's cost;
    // rarer ones copy each often-written page once instead of many times. The log stays under ~40 MiB.
    db.pragma("wal_autocheckpoint = 10000");
    db.pragma(`journal_size_limit = ${64 * 2 ** 20}`);
    db.transaction(() => migrate(db)).immediate();
  } catch (err) {
    throw fail(oneLine(err));
  }
}

/** Inside a write transaction, so two sidecars starting on one file migrate it once. */
function migrate(db: BetterSqlite3.Database): void {
  const from = db.pragma("user_version", { simple: true }) as number;
  if (from > SCHEMA_VERSION) throw new Error(`schema version ${from} is newer than this acp-sessions understands (${SCHEMA_VERSION})`);
  for (let version = from; version < SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version]!);
  if (from !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
}
