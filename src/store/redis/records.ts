/**
 * The session records this sidecar holds, decoded from the fields the scripts send (RECORD_FIELDS), so
 * that a reply may leave out what is held here: a script sends a session's fields only when the copy
 * named by its version (`known`) is out of date, and otherwise its counters alone.
 */
import type { SessionRecord } from "../types.js";
import type { RecordFields } from "./replies.js";
import { RECORD_FIELDS } from "./shared.js";

/** Sessions whose record this sidecar keeps. */
const CAPACITY = 10_000;

/** Where each field is in a record's fields. */
const FIELD = Object.fromEntries(RECORD_FIELDS.map((name, i) => [name, i])) as { [name in (typeof RECORD_FIELDS)[number]]: number };

/** A session's record as last read here, and its version (the field ve: see lua/shared.lua). */
export interface CachedRecord {
  record: SessionRecord;
  version: string;
  /** windowVersion() in store.ts, once asked. */
  windowVersion?: string;
}

/** What the scripts compare with the stored session to tell whether this copy is still right. */
export const known = (cached: CachedRecord | undefined) => cached?.version ?? "";

export class RecordCache {
  private readonly records = new Map<string, CachedRecord>();

  /** @param local converts the Redis server's clock to this sidecar's. */
  constructor(private readonly local: (serverMs: number) => number) {}

  get(sessionId: string): CachedRecord | undefined {
    return this.records.get(sessionId);
  }

  forget(sessionId: string): void {
    this.records.delete(sessionId);
  }

  /** A session from the fields a script returns; kept for later replies, least recently kept out first. */
  keep(sessionId: string, f: RecordFields): CachedRecord {
    const kept = { record: this.decode(sessionId, f), version: text(f[FIELD.ve]) ?? "" };
    this.records.delete(sessionId);
    if (this.records.size >= CAPACITY) this.records.delete(this.records.keys().next().value!);
    this.records.set(sessionId, kept);
    return kept;
  }

  /** A session from the fields a script returns, not kept (a change another sidecar made, read from the change stream). */
  decode(sessionId: string, f: RecordFields): SessionRecord {
    const idle = f[FIELD.idle];
    return {
      sessionId,
      cwd: text(f[FIELD.cwd])!,
      title: text(f[FIELD.title]),
      createdAt: this.local(Number(text(f[FIELD.created]))),
      lastAccessed: this.local(Number(text(f[FIELD.seen]))),
      clientCapabilities: JSON.parse(text(f[FIELD.caps]) ?? "null") as unknown,
      mcpServers: JSON.parse(text(f[FIELD.mcp]) ?? "[]") as string[],
      additionalDirectories: JSON.parse(text(f[FIELD.dirs]) ?? "[]") as string[],
      messageCount: Number(text(f[FIELD.n])),
      revision: Number(text(f[FIELD.rev])),
      archived: text(f[FIELD.arch]) === "1",
      retention: { maxIdleMs: idle ? Number(text(idle)) : null, pinned: text(f[FIELD.pin]) === "1" },
      parentSessionId: text(f[FIELD.parent]),
      forkedAtMessageId: text(f[FIELD.forked]),
    };
  }

  /**
   * `cached`, a copy the script found still right, with the revision, last access (server clock) and
   * count it read. A pipelined request's reply comes after earlier replies have replaced that copy:
   * start from the latest one when it is of the same version, so that replies saying the same share
   * one record.
   */
  refreshed(sessionId: string, cached: CachedRecord, revision: number, lastAccessedOnServer: number, messageCount: number): CachedRecord {
    const lastAccessed = this.local(lastAccessedOnServer);
    const latest = this.records.get(sessionId);
    const kept = latest !== undefined && latest.version === cached.version ? latest : cached;
    // Reads within one millisecond change nothing: the same (read-only) record serves them all.
    const record = kept.record;
    if (record.revision === revision && record.lastAccessed === lastAccessed && record.messageCount === messageCount) return kept;
    const updated = { record: withCounters(record, revision, lastAccessed, messageCount), version: kept.version };
    this.records.set(sessionId, updated);
    return updated;
  }
}

/**
 * `record` with a new revision, last access and count, every field spelled out in keep()'s order: a
 * spread overriding three fields costs far more, and this runs once per pipelined update.
 */
function withCounters(record: SessionRecord, revision: number, lastAccessed: number, messageCount: number): SessionRecord {
  return {
    sessionId: record.sessionId,
    cwd: record.cwd,
    title: record.title,
    createdAt: record.createdAt,
    lastAccessed,
    clientCapabilities: record.clientCapabilities,
    mcpServers: record.mcpServers,
    additionalDirectories: record.additionalDirectories,
    messageCount,
    revision,
    archived: record.archived,
    retention: record.retention,
    parentSessionId: record.parentSessionId,
    forkedAtMessageId: record.forkedAtMessageId,
  };
}

const text = (value: Buffer | null | undefined): string | null => (value === null || value === undefined ? null : value.toString());
