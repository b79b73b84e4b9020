import { closeSync, openSync } from "node:fs";
import type BetterSqlite3 from "better-sqlite3";
import { encodeCursor, sequenceBelow } from "../cursor.js";
import {
  CwdMismatchError,
  LimitExceededError,
  MessageNotFoundError,
  RevisionConflictError,
  SessionNotFoundError,
  StoreError,
  StoreUnavailableError,
  oneLine,
} from "../errors.js";
import type { BackendOptions } from "../types.js";
import { StoreOpenError } from "../errors.js";
import { ownedCopies } from "../owned-bytes.js";
import { ReadCache } from "./cache.js";
import { SCHEMA_VERSION, TABLES, prepareDatabase } from "./schema.js";
import { DEFAULT_RETENTION } from "../types.js";
import type {
  ContextWindow,
  ExpiredSession,
  ForkRequest,
  ListPage,
  ListQuery,
  MaybePromise,
  NewSession,
  SessionChanges,
  SessionRecord,
  SessionSnapshot,
  SessionStore,
  StoredMessage,
  StoreOptions,
  UpdateRequest,
  UpdateResult,
} from "../types.js";

type Database = BetterSqlite3.Database;

export interface SqliteTuning {
  /**
   * Commit the writes of one event-loop turn together (default true). Write methods then answer with
   * a promise that settles after the commit, so nothing is acknowledged before it is on disk.
   */
  groupCommit?: boolean;
}

/**
 * Opens (creating it, mode 0600) the SQLite file at `path`. better-sqlite3 is an optional dependency,
 * loaded only here, so users of the other stores never need its native build.
 */
export async function openSqliteStore(
  path: string,
  options: StoreOptions,
  backend: BackendOptions,
  tuning: SqliteTuning = {},
): Promise<SqliteStore> {
  if (path === "") throw new StoreOpenError("sqlite store: no file given (expected sqlite:<path>)");
  let Sqlite: typeof BetterSqlite3;
  try {
    Sqlite = (await import("better-sqlite3")).default;
  } catch (err) {
    throw new StoreOpenError(`sqlite store needs the optional package better-sqlite3: run npm install better-sqlite3 (${oneLine(err)})`);
  }
  try {
    // Created here so its mode is 0600 before SQLite writes anything; an existing file is left as it is.
    closeSync(openSync(path, "a", 0o600));
  } catch (err) {
    throw new StoreOpenError(`sqlite store ${path}: cannot open for writing (${oneLine(err)})`);
  }
  let db: Database;
  try {
    db = new Sqlite(path, { fileMustExist: true });
  } catch (err) {
    throw new StoreOpenError(`sqlite store ${path}: ${oneLine(err)}`);
  }
  try {
    prepareDatabase(db, path);
  } catch (err) {
    db.close();
    throw err;
  }
  backend.log.debug(`sqlite store ${path}: schema version ${SCHEMA_VERSION}`);
  return new SqliteStore(db, options, tuning.groupCommit ?? true);
}

/** A sessions row, with its head segment's parent and base. */
interface SessionRow {
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
}

/** What every session query selects, in the order sessionRow() reads it (rows come as arrays: much cheaper). */
const SESSION_COLUMNS = `s.seq, s.session_id, s.cwd, s.title, s.created_at, s.last_accessed, s.client_capabilities, s.mcp_servers,
  s.additional_directories, s.revision, s.archived, s.max_idle_ms, s.pinned, s.parent_session_id, s.forked_at_message_id,
  s.segment, s.first_position, s.message_count, g.parent, g.base`;

function sessionRow(v: any[]): SessionRow {
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
  };
}

interface Segment {
  id: number;
  parent: number | null;
  base: number;
}

/** Stores whose group commit holds the write lock now: another handle in this process commits them first. */
const openBatches = new Set<SqliteStore>();

/** A window's message count when the request gives no limit. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * The SQLite store. Every write is atomic under the file's write lock (BEGIN IMMEDIATE), so revision
 * checks and expiries are exact across processes; with group commit the writes of one event-loop turn
 * share a transaction, each in a savepoint of its own. Sidecars sharing the file see each other's
 * writes at once: what this connection keeps of its reads (sqlite-cache.ts) is dropped whenever
 * another connection has committed. Forks share history through segments as the memory store does,
 * and every operation costs in proportion to the rows it touches.
 */
export class SqliteStore implements SessionStore {
  private readonly sql: ReturnType<typeof statements>;
  private readonly transaction: BetterSqlite3.Transaction<(work: () => unknown) => unknown>;
  /** The turn's open transaction; `changed` once a request in it changed more than access times. */
  private batch: { done: Promise<void>; settle: (err?: unknown) => void; changed: boolean } | undefined;
  /** Rows written to record an access, so write() can tell them from real changes. */
  private accessWrites = 0;
  private readonly cache = new ReadCache<SessionRow>();
  /** PRAGMA data_version when the cache was last known right. */
  private cacheVersion: unknown;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly options: StoreOptions,
    private readonly groupCommit: boolean,
  ) {
    this.sql = statements(db);
    this.transaction = db.transaction((work: () => unknown) => work());
  }

  create(input: NewSession, now: number): MaybePromise<SessionRecord> {
    return this.write(() => {
      this.checkCapacity();
      return this.insertSession(input, now, { parent: null, base: 0 }, 0, 0, null, null);
    });
  }

  get(sessionId: string, window: ContextWindow, now: number): MaybePromise<SessionSnapshot> {
    return this.write(() => {
      // Its one change to the row, an access, comes last: it may work on the cached row itself.
      const row = this.require(sessionId, true);
      let from = window.offset ?? 0;
      if (window.afterMessageId !== undefined) {
        const index = this.indexOf(row, window.afterMessageId);
        if (index < 0) throw new MessageNotFoundError("afterMessageId", window.afterMessageId);
        from = index + 1;
      }
      const messages = this.slice(row, from, window.limit ?? NO_LIMIT, true);
      this.access(row, now);
      return { session: record(row), messages };
    }, "access");
  }

  update(request: UpdateRequest, now: number): MaybePromise<UpdateResult> {
    return this.write(() => {
      const row = this.require(request.sessionId);
      const fresh = request.messages.filter((m) => this.indexOf(row, m.messageId) < 0);
      const changed = applyChanges(row, request.changes);
      const changing = fresh.length > 0 || changed;
      if (changing && request.expectedRevision !== undefined && request.expectedRevision !== row.revision) {
        throw new RevisionConflictError(row.session_id, request.expectedRevision, row.revision);
      }
      const { drop, appended } = this.fitContext(row, fresh);
      if (drop > 0) this.dropOldest(row, Math.min(drop, row.message_count));
      let position = row.first_position + row.message_count;
      for (const m of appended) this.sql.insertMessage.run(row.segment, position++, m.messageId, m.role, Buffer.from(m.json));
      row.message_count += appended.length;
      if (changing) {
        row.revision++;
        row.last_accessed = Math.max(row.last_accessed, now);
        this.save(row, changed);
      } else {
        this.access(row, now);
      }
      return { session: record(row), appended: fresh.length, trimmed: drop };
    });
  }

  touch(sessionId: string, changes: SessionChanges, now: number, cwd?: string): MaybePromise<SessionRecord> {
    return this.write(() => {
      const row = this.require(sessionId);
      if (cwd !== undefined && cwd !== row.cwd) throw new CwdMismatchError(sessionId, row.cwd);
      if (applyChanges(row, changes)) {
        row.revision++;
        row.last_accessed = Math.max(row.last_accessed, now);
        this.save(row);
      } else {
        this.access(row, now);
      }
      return record(row);
    });
  }

  readMessages(sessionId: string, from: number, count: number): Buffer[] {
    return this.read(() => {
      const row = this.find(sessionId, true);
      return row ? this.slice(row, from, count, false) : [];
    });
  }

  has(sessionId: string): boolean {
    return this.guard(() => this.sql.hasSession.get(sessionId) !== undefined);
  }

  fork(request: ForkRequest, now: number): MaybePromise<SessionRecord> {
    return this.write(() => {
      const parent = this.require(request.parentSessionId);
      let count = parent.message_count;
      if (request.atMessageId !== undefined) {
        const index = this.indexOf(parent, request.atMessageId);
        if (index < 0) throw new MessageNotFoundError("atMessageId", request.atMessageId);
        count = index + 1;
      }
      this.checkCapacity();
      const cut = parent.first_position + count;
      let base: Segment | undefined;
      if (count > 0) for (base = head(parent); cut <= base.base;) base = this.segment(base.parent!);
      const input: NewSession = {
        sessionId: request.sessionId,
        cwd: request.cwd,
        title: request.title === undefined ? parent.title : request.title,
        clientCapabilities: JSON.parse(parent.client_capabilities),
        mcpServers: request.mcpServers,
        additionalDirectories: JSON.parse(parent.additional_directories),
        retention: DEFAULT_RETENTION,
      };
      const forkedAt = request.atMessageId ?? this.lastMessageId(parent);
      const segment = { parent: base?.id ?? null, base: cut };
      const fork = this.insertSession(input, now, segment, parent.first_position, count, parent.session_id, forkedAt);
      this.access(parent, now);
      return fork;
    });
  }

  setArchived(sessionId: string, archived: boolean, now: number): MaybePromise<SessionRecord> {
    return this.write(() => {
      const row = this.require(sessionId);
      if (Boolean(row.archived) !== archived) {
        row.archived = archived ? 1 : 0;
        row.revision++;
        this.sql.setArchived.run(row.archived, row.revision, row.seq);
      }
      if (!archived) this.access(row, now);
      return record(row);
    });
  }

  remove(sessionId: string): MaybePromise<boolean> {
    return this.write(() => {
      const row = this.find(sessionId);
      if (!row) return false;
      this.deleteSession(row);
      return true;
    });
  }

  list(query: ListQuery): ListPage {
    const below = sequenceBelow(query.cursor, NO_LIMIT);
    const archived = query.archived ?? "exclude";
    const rows = this.guard(() => {
      const take = query.limit + 1;
      if (archived === "include") {
        return query.cwd === undefined
          ? this.rows(this.sql.listAll, below, take)
          : this.rows(this.sql.listAllInCwd, query.cwd, below, query.cwd, below, take);
      }
      const flag = archived === "only" ? 1 : 0;
      return query.cwd === undefined
        ? this.rows(this.sql.list, flag, below, take)
        : this.rows(this.sql.listInCwd, query.cwd, flag, below, take);
    });
    // Another page only if another match exists, so the last page never comes back empty.
    const more = rows.length > query.limit;
    if (more) rows.length = query.limit;
    const sessions = rows.map(record);
    return more ? { sessions, nextCursor: encodeCursor(rows[rows.length - 1]!.seq) } : { sessions };
  }

  expireDue(now: number, limit: number): MaybePromise<ExpiredSession[]> {
    return this.write(() => {
      const expired: ExpiredSession[] = [];
      const { maxLifetimeMs, maxIdleMs, onExpire = "delete" } = this.options;
      if (maxLifetimeMs !== undefined) {
        for (const row of this.rows(this.sql.pastLifetime, now - maxLifetimeMs, limit)) {
          expired.push(expiry(row, now, "delete"));
          this.deleteSession(row);
        }
      }
      const room = limit - expired.length;
      if (room <= 0) return expired;
      const idle = [
        ...this.rows(this.sql.idleDefault, now - maxIdleMs, room).map((row) => ({ row, deadline: row.last_accessed + maxIdleMs })),
        ...this.rows(this.sql.idleOwn, now, room).map((row) => ({ row, deadline: row.last_accessed + row.max_idle_ms! })),
      ];
      idle.sort((a, b) => a.deadline - b.deadline || a.row.seq - b.row.seq);
      for (const { row } of idle.slice(0, room)) {
        expired.push(expiry(row, now, onExpire));
        if (onExpire === "archive") {
          this.sql.setArchived.run(1, row.revision + 1, row.seq);
          this.cache.forget(row.session_id);
        } else {
          this.deleteSession(row);
        }
      }
      return expired;
    });
  }

  footprint(): Record<string, number> {
    return this.read(() => Object.fromEntries(TABLES.map((table) => [table, this.sql.count[table].get() as number])));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.commitBatch();
    this.db.close();
  }

  // --- transactions ---

  /**
   * Runs `work` as one write. Without group commit it is a transaction of its own. With it, it is a
   * savepoint in the turn's transaction (a failure undoes only this request), and once the turn has
   * changed anything but access times its results are released only after the commit: an answer
   * never shows what a kill could still undo. (Access times alone hold no answer back; losing the
   * last milliseconds of them only lets a session expire a little sooner.) Work of kind "access"
   * writes nothing but an access time, as its last statement: one statement applies whole or not at
   * all, so it needs no savepoint, and it adds nothing a commit must come before (though what it read
   * may need one).
   */
  private write<T>(work: () => T, kind: "change" | "access" = "change"): MaybePromise<T> {
    if (!this.groupCommit) {
      return this.guard(() => this.cached(() => this.transaction.immediate(() => this.afterBegin(work)) as T));
    }
    const batch = this.guard(() => this.openBatch());
    if (kind === "access") {
      const read = this.guard(() => this.cached(work));
      return batch.changed ? batch.done.then(() => read) : read;
    }
    const changesBefore = this.sql.totalChanges.get() as number;
    const accessesBefore = this.accessWrites;
    const result = this.guard(() => this.cached(() => this.transaction(work) as T));
    if ((this.sql.totalChanges.get() as number) - changesBefore > this.accessWrites - accessesBefore) batch.changed = true;
    return batch.changed ? batch.done.then(() => result) : result;
  }

  /** A read in one snapshot; inside an open batch it sees that batch's writes. */
  private read<T>(work: () => T): T {
    return this.guard(() => this.cached(() => this.transaction.deferred(() => this.afterBegin(work)) as T));
  }

  private afterBegin<T>(work: () => T): T {
    this.checkCache();
    return work();
  }

  /**
   * Keeps the cache right around one request: the rows it leaves are kept once `run` has returned
   * (after its commit or savepoint). A store error undid only this request; anything else is SQLite's
   * own failure, which may have rolled back more (the whole turn's transaction), so nothing kept is
   * trusted after it.
   */
  private cached<T>(run: () => T): T {
    try {
      const result = run();
      this.cache.keep();
      return result;
    } catch (err) {
      if (err instanceof StoreError) this.cache.discard();
      else this.cache.clear();
      throw err;
    }
  }

  /** Inside a transaction: drops the cache if another connection has committed since it was filled. */
  private checkCache(): void {
    const version = this.sql.dataVersion.get();
    if (version === this.cacheVersion) return;
    this.cache.clear();
    this.cacheVersion = version;
  }

  private openBatch(): NonNullable<SqliteStore["batch"]> {
    // A statement error that rolled the whole transaction back has lost the batch: fail it now.
    if (this.batch && !this.db.inTransaction) this.settleBatch(new Error("the transaction was rolled back"));
    if (this.batch) return this.batch;
    for (const other of openBatches) other.commitBatch();
    this.sql.begin.run();
    try {
      this.checkCache();
    } catch (err) {
      this.sql.rollback.run();
      throw err;
    }
    let settle!: (err?: unknown) => void;
    const done = new Promise<void>((resolve, reject) => (settle = (err) => (err === undefined ? resolve() : reject(err))));
    // Each request's own promise carries a failure; this one alone must not count as unhandled.
    done.catch(() => {});
    this.batch = { done, settle, changed: false };
    openBatches.add(this);
    // After the loop's I/O phase, which hands over every input chunk already waiting (libuv reads a
    // busy pipe several times over): one commit for all of them. A commit writes each page its requests
    // dirtied once, so requests spread over many sessions cost far less in big commits than in small.
    setImmediate(() => this.commitBatch());
    return this.batch;
  }

  private commitBatch(): void {
    if (!this.batch) return;
    try {
      if (!this.db.inTransaction) throw new Error("the transaction was rolled back");
      this.sql.commit.run();
      this.settleBatch();
    } catch (err) {
      if (this.db.inTransaction) this.sql.rollback.run();
      this.settleBatch(err);
    }
  }

  private settleBatch(err?: unknown): void {
    // The cache holds what the lost transaction wrote.
    if (err !== undefined) this.cache.clear();
    const batch = this.batch!;
    this.batch = undefined;
    openBatches.delete(this);
    batch.settle(err === undefined ? undefined : new StoreUnavailableError("sqlite", err));
  }

  /** Store errors pass through; anything SQLite throws becomes StoreUnavailableError. */
  private guard<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreUnavailableError("sqlite", err);
    }
  }

  // --- sessions ---

  private require(sessionId: string, readOnly = false): SessionRow {
    const row = this.find(sessionId, readOnly);
    if (!row) throw new SessionNotFoundError(sessionId);
    return row;
  }

  /** The session's row: a copy of the cached one, or with `readOnly` (see ReadCache.peek) that row itself. */
  private find(sessionId: string, readOnly = false): SessionRow | undefined {
    const cached = readOnly ? this.cache.peek(sessionId) : this.cache.borrow(sessionId);
    if (cached) return cached;
    const values = this.sql.sessionById.get(sessionId) as unknown[] | undefined;
    return values && this.cache.lend(sessionRow(values));
  }

  private rows(statement: BetterSqlite3.Statement, ...params: unknown[]): SessionRow[] {
    return (statement.all(...params) as unknown[][]).map(sessionRow);
  }

  private checkCapacity(): void {
    const max = this.options.maxSessions;
    if (max === undefined) return;
    const count = (this.sql.sessionCount.get() as number | undefined) ?? 0;
    if (count >= max) throw new LimitExceededError("maxSessions", max);
  }

  private insertSession(
    input: NewSession,
    now: number,
    segment: Omit<Segment, "id">,
    firstPosition: number,
    messageCount: number,
    parentSessionId: string | null,
    forkedAtMessageId: string | null,
  ): SessionRecord {
    const row: SessionRow = {
      seq: 0,
      session_id: input.sessionId,
      cwd: input.cwd,
      title: input.title,
      created_at: now,
      last_accessed: now,
      client_capabilities: JSON.stringify(input.clientCapabilities ?? null),
      mcp_servers: JSON.stringify(input.mcpServers),
      additional_directories: JSON.stringify(input.additionalDirectories),
      revision: 1,
      archived: 0,
      max_idle_ms: input.retention.maxIdleMs,
      pinned: input.retention.pinned ? 1 : 0,
      parent_session_id: parentSessionId,
      forked_at_message_id: forkedAtMessageId,
      segment: Number(this.sql.insertSegment.run(segment.parent, segment.base).lastInsertRowid),
      first_position: firstPosition,
      message_count: messageCount,
      segment_parent: segment.parent,
      segment_base: segment.base,
    };
    row.seq = Number(this.sql.insertSession.run(row).lastInsertRowid);
    this.sql.countSession.run();
    this.cache.lend(row);
    return record(row);
  }

  /** Writes the fields a request may change (never cwd, archived or the creation fields). */
  private save(row: SessionRow, fieldsChanged = true): void {
    // An append changes only the counts and times: the narrower statement leaves the other columns,
    // and the indexes on them, alone.
    if (fieldsChanged) this.sql.saveSession.run(row);
    else this.sql.saveCounts.run(row);
  }

  /** A burst of requests shares a millisecond: only the first of them writes. The row changes once stored. */
  private access(row: SessionRow, now: number): void {
    if (now <= row.last_accessed) return;
    this.sql.access.run(now, row.seq);
    row.last_accessed = now;
    this.accessWrites++;
  }

  private deleteSession(row: SessionRow): void {
    this.cache.forget(row.session_id);
    this.sql.deleteSession.run(row.seq);
    this.sql.uncountSession.run();
    this.sql.dropEmptyCount.run();
    this.sql.disown.run(row.segment);
    this.collect(row.segment);
  }

  // --- history ---

  private segment(id: number): Segment {
    return this.sql.segmentById.get(id) as Segment;
  }

  /** Frees what no session can read any more, from `id` up its parents. */
  private collect(id: number | null): void {
    while (id !== null) {
      const segment = this.sql.segmentById.get(id) as (Segment & { owned: number }) | undefined;
      if (!segment || segment.owned) return;
      const needed = this.sql.highestChildBase.get(id) as number | null;
      this.cache.dropSegment(id);
      if (needed !== null) {
        this.sql.deleteMessagesFrom.run(id, needed, id);
        return;
      }
      this.sql.deleteSegmentMessages.run(id, id);
      this.sql.deleteSegment.run(id);
      id = segment.parent;
    }
  }

  /** The index of a visible message, or -1: the newest copy in the chain, as a retry would see it. */
  private indexOf(row: SessionRow, messageId: string): number {
    const start = row.first_position;
    let limit = start + row.message_count;
    for (let segment: Segment | null = head(row); segment && limit > start;) {
      const position = this.sql.positionOf.get(segment.id, messageId, segment.id, limit) as number | null;
      if (position !== null) return position >= start ? position - start : -1;
      limit = segment.base;
      segment = segment.parent === null ? null : this.segment(segment.parent);
    }
    return -1;
  }

  /**
   * Visible messages [from, from + count) as stored JSON: walks back only as far as the window reaches.
   * Reads may `cache` what they read; a replay streaming a long history does not.
   */
  private slice(row: SessionRow, from: number, count: number, cache: boolean): Buffer[] {
    const first = row.first_position + from;
    const end = row.first_position + row.message_count;
    const last = count >= end - first ? end : first + count;
    if (first >= last) return [];
    const runs: Buffer[][] = [];
    let upto = last;
    for (let segment: Segment | null = head(row); segment && upto > first;) {
      const begin = Math.min(upto, Math.max(first, segment.base));
      if (begin < upto) runs.push(this.messages(segment.id, begin, upto, cache));
      upto = begin;
      segment = segment.parent === null ? null : this.segment(segment.parent);
    }
    return runs.length === 1 ? runs[0]! : runs.reverse().flat();
  }

  /**
   * Messages [from, to) of a segment. Read as text and copied into pooled buffers (a buffer of its own
   * per message costs several times more; answers are written and dropped, so no slab outlives its
   * request), or, for a read that may `cache`, taken from the cache as far as it reaches and the rest
   * read into one block that the cache keeps (a get after an append reads only the new message).
   */
  private messages(segment: number, from: number, to: number, cache: boolean): Buffer[] {
    if (cache) {
      const kept = this.cache.leading(segment, from, to);
      if (kept.length === to - from) return kept;
      const start = from + kept.length;
      const read = ownedCopies(this.sql.messageRange.all(segment, start, segment, to) as string[]);
      this.cache.storeMessages(segment, start, read);
      return kept.length === 0 ? read : kept.concat(read);
    }
    const texts = this.sql.messageRange.all(segment, from, segment, to) as string[];
    const out = new Array<Buffer>(texts.length);
    for (let i = 0; i < texts.length; i++) out[i] = Buffer.from(texts[i]!);
    return out;
  }

  /** The segment of this session's chain that holds an absolute position. */
  private locate(row: SessionRow, position: number): Segment {
    let segment = head(row);
    while (position < segment.base) segment = this.segment(segment.parent!);
    return segment;
  }

  private lastMessageId(row: SessionRow): string | null {
    if (row.message_count === 0) return null;
    const position = row.first_position + row.message_count - 1;
    return this.sql.messageIdAt.get(this.locate(row, position).id, position) as string;
  }

  /** The index of the first user message at or after `index` in the stored history, or -1. */
  private firstUserFrom(row: SessionRow, index: number): number {
    const end = row.first_position + row.message_count;
    const from = row.first_position + index;
    const chain: Segment[] = [head(row)];
    while (from < chain[chain.length - 1]!.base) chain.push(this.segment(chain[chain.length - 1]!.parent!));
    for (let i = chain.length - 1; i >= 0; i--) {
      const upto = i === 0 ? end : chain[i - 1]!.base;
      const position = this.sql.firstUser.get(chain[i]!.id, Math.max(from, chain[i]!.base), chain[i]!.id, upto) as number | undefined;
      if (position !== undefined) return position - row.first_position;
    }
    return -1;
  }

  /**
   * How many of the oldest messages must go for `fresh` to fit, and which of `fresh` are then kept.
   * With "trim", whole turns go (a turn starts at a user message); otherwise nothing may go.
   */
  private fitContext(row: SessionRow, fresh: StoredMessage[]): { drop: number; appended: StoredMessage[] } {
    const max = this.options.maxContextMessages;
    const count = row.message_count;
    const excess = count + fresh.length - (max ?? Infinity);
    if (max === undefined || excess <= 0 || fresh.length === 0) return { drop: 0, appended: fresh };
    if (this.options.onContextFull !== "trim") throw new LimitExceededError("maxContextMessages", max);
    let cut = Math.max(excess, 1);
    if (cut < count) {
      const user = this.firstUserFrom(row, cut);
      cut = user < 0 ? count : user;
    }
    if (cut >= count) while (cut < count + fresh.length && fresh[cut - count]!.role !== "user") cut++;
    if (cut >= count + fresh.length) throw new LimitExceededError("maxContextMessages", max);
    return { drop: cut, appended: cut > count ? fresh.slice(cut - count) : fresh };
  }

  /**
   * Hides the oldest `count` messages and frees what no fork still reads. While forks are based on
   * this segment they may read through it into its parents, so nothing is let go of then.
   */
  private dropOldest(row: SessionRow, count: number): void {
    row.first_position += count;
    row.message_count -= count;
    if (this.sql.highestChildBase.get(row.segment) !== null) return;
    if (row.segment_parent !== null && row.first_position >= row.segment_base) {
      const parent = row.segment_parent;
      row.segment_parent = null;
      this.sql.detachSegment.run(row.segment);
      this.collect(parent);
    }
    this.cache.dropSegment(row.segment);
    this.sql.deleteMessagesBelow.run(row.segment, row.segment, row.first_position);
  }
}

function head(row: SessionRow): Segment {
  return { id: row.segment, parent: row.segment_parent, base: row.segment_base };
}

/** Sets the fields that really change on the row; false when the request changes nothing. */
function applyChanges(row: SessionRow, changes: SessionChanges): boolean {
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
function decode(json: string): any {
  let value = parsed.get(json);
  if (value === undefined) {
    if (parsed.size >= 1024) parsed.clear();
    value = JSON.parse(json);
    parsed.set(json, value);
  }
  return value;
}

function record(row: SessionRow): SessionRecord {
  return {
    sessionId: row.session_id,
    cwd: row.cwd,
    title: row.title,
    createdAt: row.created_at,
    lastAccessed: row.last_accessed,
    clientCapabilities: decode(row.client_capabilities),
    mcpServers: decode(row.mcp_servers),
    additionalDirectories: decode(row.additional_directories),
    messageCount: row.message_count,
    revision: row.revision,
    archived: row.archived === 1,
    retention: row.max_idle_ms === null && row.pinned === 0 ? DEFAULT_RETENTION : { maxIdleMs: row.max_idle_ms, pinned: row.pinned === 1 },
    parentSessionId: row.parent_session_id,
    forkedAtMessageId: row.forked_at_message_id,
  };
}

function expiry(row: SessionRow, now: number, action: ExpiredSession["action"]): ExpiredSession {
  return {
    sessionId: row.session_id,
    createdAt: row.created_at,
    lastAccessed: row.last_accessed,
    expiredAt: now,
    messageCount: row.message_count,
    action,
  };
}

/** Every statement the store runs, prepared once. */
function statements(db: Database) {
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

    count: Object.fromEntries(TABLES.map((table) => [table, db.prepare(`SELECT count(*) FROM ${table}`).pluck()])) as Record<
      (typeof TABLES)[number],
      BetterSqlite3.Statement
    >,
  };
}
