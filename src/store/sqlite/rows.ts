import { DEFAULT_RETENTION } from "../types.js";
import type { ExpiredSession, SessionChanges, SessionRecord } from "../types.js";

/** A sessions row, with its head segment's parent and base. */
export interface SessionRow {
  seq: number;
  session_id: string;
  cwd: string;
  title: string | null;
  created_at: number;
  last_accessed: number;
  client_capabilities: string;
  mcp_servers: string;
  additional_directories: string;
  revision: number;
  archived: number;
  max_idle_ms: number | null;
  pinned: number;
  parent_session_id: string | null;
  forked_at_message_id: string | null;
  segment: number;
  first_position: number;
  message_count: number;
  segment_parent: number | null;
  segment_base: number;
  /** Changes are logged while this (Unix ms, wall clock) lies ahead: someone watches the session. */
  watched_until: number;
}

/** A segments row: messages at positions from `base` on, the ones below read from `parent`. */
export interface Segment {
  id: number;
  parent: number | null;
  base: number;
}

/**
 * What every session query selects, in the order sessionRow() reads it. Rows come back as arrays:
 * better-sqlite3 builds no object per row then.
 */
export const SESSION_COLUMNS = `s.seq, s.session_id, s.cwd, s.title, s.created_at, s.last_accessed, s.client_capabilities, s.mcp_servers,
  s.additional_directories, s.revision, s.archived, s.max_idle_ms, s.pinned, s.parent_session_id, s.forked_at_message_id,
  s.segment, s.first_position, s.message_count, g.parent, g.base, s.watched_until`;

/** A session query's row as better-sqlite3 returns it in raw mode: SESSION_COLUMNS, in order. */
export type SessionColumns = [
  seq: number,
  session_id: string,
  cwd: string,
  title: string | null,
  created_at: number,
  last_accessed: number,
  client_capabilities: string,
  mcp_servers: string,
  additional_directories: string,
  revision: number,
  archived: number,
  max_idle_ms: number | null,
  pinned: number,
  parent_session_id: string | null,
  forked_at_message_id: string | null,
  segment: number,
  first_position: number,
  message_count: number,
  segment_parent: number | null,
  segment_base: number,
  watched_until: number,
];

export function sessionRow(v: SessionColumns): SessionRow {
  return {
    seq: v[0],
    session_id: v[1],
    cwd: v[2],
    title: v[3],
    created_at: v[4],
    last_accessed: v[5],
    client_capabilities: v[6],
    mcp_servers: v[7],
    additional_directories: v[8],
    revision: v[9],
    archived: v[10],
    max_idle_ms: v[11],
    pinned: v[12],
    parent_session_id: v[13],
    forked_at_message_id: v[14],
    segment: v[15],
    first_position: v[16],
    message_count: v[17],
    segment_parent: v[18],
    segment_base: v[19],
    watched_until: v[20],
  };
}

/** The segment a session appends to. */
export function head(row: SessionRow): Segment {
  return { id: row.segment, parent: row.segment_parent, base: row.segment_base };
}

/** Sets the fields that really change on the row; false when the request changes nothing. */
export function applyChanges(row: SessionRow, changes: SessionChanges): boolean {
  let changed = false;
  const { title, clientCapabilities, mcpServers, additionalDirectories, retention } = changes;
  if (title !== undefined && title !== row.title) {
    row.title = title;
    changed = true;
  }
  const setJson = (column: "client_capabilities" | "mcp_servers" | "additional_directories", value: unknown) => {
    if (value === undefined) return;
    const json = JSON.stringify(value);
    if (json === row[column]) return;
    row[column] = json;
    changed = true;
  };
  setJson("client_capabilities", clientCapabilities);
  setJson("mcp_servers", mcpServers);
  setJson("additional_directories", additionalDirectories);
  if (retention !== undefined) {
    const next = retention ?? DEFAULT_RETENTION;
    const pinned = next.pinned ? 1 : 0;
    if (next.maxIdleMs !== row.max_idle_ms || pinned !== row.pinned) {
      row.max_idle_ms = next.maxIdleMs;
      row.pinned = pinned;
      changed = true;
    }
  }
  return changed;
}

const parsed = new Map<string, unknown>();

/**
 * JSON columns decoded once per distinct text: sessions mostly share the same few capability objects
 * and lists. Keyed by the text itself, so it can never be stale. Callers treat records as read-only.
 */
function decode<T>(json: string): T {
  let value = parsed.get(json) as T | undefined;
  if (value === undefined) {
    if (parsed.size >= 1024) parsed.clear();
    value = JSON.parse(json) as T;
    parsed.set(json, value);
  }
  return value;
}

export function record(row: SessionRow): SessionRecord {
  return {
    sessionId: row.session_id,
    cwd: row.cwd,
    title: row.title,
    createdAt: row.created_at,
    lastAccessed: row.last_accessed,
    clientCapabilities: decode<unknown>(row.client_capabilities),
    mcpServers: decode<string[]>(row.mcp_servers),
    additionalDirectories: decode<string[]>(row.additional_directories),
    messageCount: row.message_count,
    revision: row.revision,
    archived: row.archived === 1,
    retention: row.max_idle_ms === null && row.pinned === 0 ? DEFAULT_RETENTION : { maxIdleMs: row.max_idle_ms, pinned: row.pinned === 1 },
    parentSessionId: row.parent_session_id,
    forkedAtMessageId: row.forked_at_message_id,
  };
}

export function expiry(row: SessionRow, now: number, action: ExpiredSession["action"]): ExpiredSession {
  return {
    sessionId: row.session_id,
    createdAt: row.created_at,
    lastAccessed: row.last_accessed,
    expiredAt: now,
    messageCount: row.message_count,
    action,
  };
}
