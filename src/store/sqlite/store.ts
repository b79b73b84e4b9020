import { closeSync, openSync } from "node:fs";
import type BetterSqlite3 from "better-sqlite3";
import { silentLogger, type Logger } from "../../log.js";
import { encodeCursor, sequenceBelow } from "../cursor.js";
import {
  CwdMismatchError,
  LimitExceededError,
  MessageNotFoundError,
  RevisionConflictError,
  SessionExistsError,
  SessionNotFoundError,
  StoreOpenError,
  oneLine,
} from "../errors.js";
import { keptCount } from "../truncate.js";
import { DEFAULT_RETENTION } from "../types.js";
import { resolveWindow } from "../window.js";
import type {
  BackendOptions,
  ChangeListener,
  ContextWindow,
  ExpiredSession,
  ForkRequest,
  ListPage,
  ListQuery,
  MaybePromise,
  NewSession,
  RestoreRequest,
  SessionChange,
  SessionChanges,
  SessionRecord,
  SessionSnapshot,
  SessionStore,
  StoredMessage,
  StoreOptions,
  TruncateRequest,
  TruncateResult,
  Subscription,
  UpdateRequest,
  UpdateResult,
} from "../types.js";
import type { Subscriber } from "../change-fanout.js";
import { ReadCache } from "./cache.js";
import { SqliteChangeFeed, WATCH_MS, type WatchRenewal } from "./change-feed.js";
import { ChangeLog, LOG_KEEP_MS } from "./change-log.js";
import { History } from "./history.js";
import { applyChanges, expiry, record, sessionRow, type Segment, type SessionColumns, type SessionRow } from "./rows.js";
import { SCHEMA_VERSION, TABLES, prepareDatabase } from "./schema.js";
import { prepareStatements, type Statements } from "./statements.js";
import { Transactions, guard } from "./transactions.js";

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
  return new SqliteStore(db, options, tuning.groupCommit ?? true, backend.log);
}

/** A window's message count when the request gives no limit. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * The SQLite store. Every write is atomic under the file's write lock (BEGIN IMMEDIATE), so revision
 * checks and expiries are exact across processes; with group commit the writes of one event-loop turn
 * share a transaction, each in a savepoint of its own (transactions.ts). Sidecars sharing the file see
 * each other's writes at once: what this connection keeps of its reads (cache.ts) is dropped whenever
 * another connection has committed. Forks share history through segments as the memory store does
 * (history.ts), and every operation costs in proportion to the rows it touches.
 */
export class SqliteStore implements SessionStore {
  private readonly sql: Statements;
  private readonly cache = new ReadCache<SessionRow>();
  private readonly transactions: Transactions;
  private readonly history: History;
  private readonly log: ChangeLog;
  private readonly feed: SqliteChangeFeed;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly options: StoreOptions,
    groupCommit: boolean,
    logger: Logger = silentLogger,
  ) {
    this.sql = prepareStatements(db);
    this.transactions = new Transactions(db, this.sql, this.cache, groupCommit);
    this.history = new History(this.sql, this.cache);
    this.log = new ChangeLog(db);
    this.feed = new SqliteChangeFeed(
      this.log,
      this.transactions,
      this.sql.dataVersion,
      (ids, until) => this.renewWatches(ids, until),
      logger,
    );
    this.transactions.onCommit = () => this.feed.committed();
  }

  create(input: NewSession, now: number): MaybePromise<SessionRecord> {
    return this.transactions.write(() => {
      this.checkCapacity();
      return this.insertSession(input, now, { parent: null, base: 0 }, 0, 0, null, null);
    });
  }

  get(sessionId: string, window: ContextWindow, now: number): MaybePromise<SessionSnapshot> {
    return this.transactions.write(() => {
      // Its one change to the row, an access, comes last: it may work on the cached row itself.
      const row = this.require(sessionId, true);
      const { start, count } = resolveWindow(window, row.message_count, (id) => this.history.indexOf(row, id));
      const messages = this.history.slice(row, start, count, true);
      this.access(row, now);
      return { session: record(row), messages, start };
    }, "access");
  }

  update(request: UpdateRequest, now: number): MaybePromise<UpdateResult> {
    return this.transactions.write(() => {
      const row = this.require(request.sessionId);
      const fresh = request.messages.filter((m) => this.history.indexOf(row, m.messageId) < 0);
      const changed = applyChanges(row, request.changes);
      const changing = fresh.length > 0 || changed;
      if (changing && request.expectedRevision !== undefined && request.expectedRevision !== row.revision) {
        throw new RevisionConflictError(row.session_id, request.expectedRevision, row.revision);
      }
      const { drop, appended } = this.fitContext(row, fresh);
      if (drop > 0) this.history.dropOldest(row, Math.min(drop, row.message_count));
      this.history.append(row, appended);
      if (changing) {
        row.revision++;
        row.last_accessed = Math.max(row.last_accessed, now);
        this.save(row, changed);
        if (appended.length > 0) {
          this.reportChange(row, () => ({ type: "appended", messages: appended.map((m) => Buffer.from(m.json)), trimmed: drop }));
        }
        if (changed) this.reportChange(row, () => ({ type: "updated", session: record(row) }));
      } else {
        this.access(row, now);
      }
      return { session: record(row), appended: fresh.length, trimmed: drop };
    });
  }

  truncate(request: TruncateRequest, now: number): MaybePromise<TruncateResult> {
    return this.transactions.write(() => {
      const row = this.require(request.sessionId);
      const keep = keptCount(request, (messageId) => this.history.indexOf(row, messageId));
      const removed = row.message_count - keep;
      if (removed === 0) {
        this.access(row, now);
        return { session: record(row), removed };
      }
      if (request.expectedRevision !== undefined && request.expectedRevision !== row.revision) {
        throw new RevisionConflictError(row.session_id, request.expectedRevision, row.revision);
      }
      this.history.truncate(row, keep);
      row.revision++;
      row.last_accessed = Math.max(row.last_accessed, now);
      this.save(row, false);
      this.reportChange(row, () => ({ type: "truncated", removed }));
      return { session: record(row), removed };
    });
  }

  touch(sessionId: string, changes: SessionChanges, now: number, cwd?: string): MaybePromise<SessionRecord> {
    return this.transactions.write(() => {
      const row = this.require(sessionId);
      if (cwd !== undefined && cwd !== row.cwd) throw new CwdMismatchError(sessionId, row.cwd);
      if (applyChanges(row, changes)) {
        row.revision++;
        row.last_accessed = Math.max(row.last_accessed, now);
        this.save(row);
        this.reportChange(row, () => ({ type: "updated", session: record(row) }));
      } else {
        this.access(row, now);
      }
      return record(row);
    });
  }

  readMessages(sessionId: string, from: number, count: number): Buffer[] {
    return this.transactions.read(() => {
      const row = this.find(sessionId, true);
      return row ? this.history.slice(row, from, count, false) : [];
    });
  }

  has(sessionId: string): boolean {
    return guard(() => this.sql.hasSession.get(sessionId) !== undefined);
  }

  fork(request: ForkRequest, now: number): MaybePromise<SessionRecord> {
    return this.transactions.write(() => {
      const parent = this.require(request.parentSessionId);
      let count = parent.message_count;
      if (request.atMessageId !== undefined) {
        const index = this.history.indexOf(parent, request.atMessageId);
        if (index < 0) throw new MessageNotFoundError("atMessageId", request.atMessageId);
        count = index + 1;
      }
      this.checkCapacity();
      const cut = parent.first_position + count;
      const base = this.history.forkBase(parent, count);
      const input: NewSession = {
        sessionId: request.sessionId,
        cwd: request.cwd,
        title: request.title === undefined ? parent.title : request.title,
        clientCapabilities: JSON.parse(parent.client_capabilities) as unknown,
        mcpServers: request.mcpServers,
        additionalDirectories: JSON.parse(parent.additional_directories) as string[],
        retention: DEFAULT_RETENTION,
      };
      const forkedAt = request.atMessageId ?? this.history.lastMessageId(parent);
      const segment = { parent: base?.id ?? null, base: cut };
      const fork = this.insertSession(input, now, segment, parent.first_position, count, parent.session_id, forkedAt);
      this.access(parent, now);
      return fork;
    });
  }

  restore(request: RestoreRequest, now: number): MaybePromise<SessionRecord> {
    return this.transactions.write(() => {
      const { session: input, shareHistoryOf: share } = request;
      if (this.find(input.sessionId, true)) throw new SessionExistsError(input.sessionId);
      let segment: Omit<Segment, "id"> = { parent: null, base: 0 };
      let firstPosition = 0;
      let count = 0;
      if (share) {
        const source = this.require(share.sessionId, true);
        const index = this.history.indexOf(source, share.atMessageId);
        if (index < 0) throw new MessageNotFoundError("atMessageId", share.atMessageId);
        count = index + 1;
        firstPosition = source.first_position;
        segment = { parent: this.history.forkBase(source, count)!.id, base: source.first_position + count };
      }
      this.checkCapacity();
      return this.insertSession(input, now, segment, firstPosition, count, input.parentSessionId, input.forkedAtMessageId, input);
    });
  }

  setArchived(sessionId: string, archived: boolean, now: number): MaybePromise<SessionRecord> {
    return this.transactions.write(() => {
      const row = this.require(sessionId);
      if (Boolean(row.archived) !== archived) {
        row.archived = archived ? 1 : 0;
        row.revision++;
        this.sql.setArchived.run(row.archived, row.revision, row.seq);
        this.reportChange(row, () => ({ type: archived ? "archived" : "unarchived" }));
      }
      if (!archived) this.access(row, now);
      return record(row);
    });
  }

  setTitle(sessionId: string, title: string): MaybePromise<SessionRecord> {
    return this.transactions.write(() => {
      const row = this.require(sessionId);
      if (row.title !== title) {
        row.title = title;
        row.revision++;
        this.sql.setTitle.run(title, row.revision, row.seq);
        this.reportChange(row, () => ({ type: "updated", session: record(row) }));
      }
      return record(row);
    });
  }

  remove(sessionId: string): MaybePromise<boolean> {
    return this.transactions.write(() => {
      const row = this.find(sessionId);
      if (!row) return false;
      this.reportChange(row, () => ({ type: "removed" }));
      this.deleteSession(row);
      return true;
    });
  }

  list(query: ListQuery): ListPage {
    const below = sequenceBelow(query.cursor, NO_LIMIT);
    const archived = query.archived ?? "exclude";
    const rows = guard(() => {
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
    return this.transactions.write(() => {
      const expired: ExpiredSession[] = [];
      const { maxLifetimeMs, maxIdleMs, onExpire = "delete" } = this.options;
      this.log.dropBefore(Date.now() - LOG_KEEP_MS);
      if (maxLifetimeMs !== undefined) {
        for (const row of this.rows(this.sql.pastLifetime, now - maxLifetimeMs, limit)) {
          expired.push(expiry(row, now, "delete"));
          this.reportChange(row, () => ({ type: "expired", action: "delete" }));
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
          row.archived = 1;
          row.revision++;
          this.sql.setArchived.run(1, row.revision, row.seq);
          this.cache.forget(row.session_id);
          this.reportChange(row, () => ({ type: "expired", action: "archive" }));
        } else {
          this.reportChange(row, () => ({ type: "expired", action: "delete" }));
          this.deleteSession(row);
        }
      }
      return expired;
    });
  }

  subscribe(sessionId: string, afterMessageId: string | undefined, listener: ChangeListener): MaybePromise<Subscription> {
    let added: Subscriber | undefined;
    const close = (subscriber: Subscriber) => () => this.feed.remove(subscriber);
    try {
      const started = this.transactions.write(() => {
        const row = this.require(sessionId);
        let messages: Buffer[] = [];
        if (afterMessageId !== undefined) {
          const index = this.history.indexOf(row, afterMessageId);
          if (index < 0) throw new MessageNotFoundError("afterMessageId", afterMessageId);
          messages = this.history.slice(row, index + 1, NO_LIMIT, false);
        }
        // Renewed here only when a third of the watch has passed: most subscriptions write nothing.
        const until = Date.now() + WATCH_MS;
        if (row.watched_until < until - WATCH_MS / 3) {
          row.watched_until = until;
          this.log.watch(row.seq, until);
        }
        // Last, after anything that may throw: the feed reads the log from this transaction's view on.
        added = this.feed.add(sessionId, listener, row.revision, row.message_count);
        return { session: record(row), messages, close: close(added) };
      });
      if (started instanceof Promise) return started.catch((err: unknown) => this.dropSubscriber(added, err));
      return started;
    } catch (err) {
      return this.dropSubscriber(added, err);
    }
  }

  footprint(): Record<string, number> {
    return this.transactions.read(() => Object.fromEntries(TABLES.map((table) => [table, this.sql.count[table].get() as number])));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.feed.stop();
    this.transactions.commitBatch();
    this.db.close();
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
    const values = this.sql.sessionById.get(sessionId) as SessionColumns | undefined;
    return values && this.cache.lend(sessionRow(values));
  }

  /**
   * Every change subscribers hear of goes through here, inside the write that makes it and after the
   * row shows it: logged only while someone watches the session, so that unwatched writes cost nothing.
   */
  private reportChange(row: SessionRow, change: () => SessionChange): void {
    if (ChangeLog.watched(row)) this.log.append(row, change());
  }

  /** A subscription whose transaction failed (its commit, even) was never started. */
  private dropSubscriber(subscriber: Subscriber | undefined, err: unknown): never {
    if (subscriber) this.feed.remove(subscriber);
    throw err;
  }

  /** The change feed's renewal, in a write: each watched session's watch, and where it stands. */
  private renewWatches(sessionIds: string[], until: number): WatchRenewal {
    const states: WatchRenewal["states"] = new Map();
    for (const sessionId of sessionIds) {
      const row = this.find(sessionId);
      if (!row) {
        states.set(sessionId, undefined);
        continue;
      }
      if (row.watched_until < until) {
        row.watched_until = until;
        this.log.watch(row.seq, until);
      }
      states.set(sessionId, { revision: row.revision, messageCount: row.message_count });
    }
    this.log.dropBefore(Date.now() - LOG_KEEP_MS);
    return { states, lastEntry: this.log.last() };
  }

  private rows(statement: BetterSqlite3.Statement, ...params: unknown[]): SessionRow[] {
    return (statement.all(...params) as SessionColumns[]).map(sessionRow);
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
    restored?: { createdAt: number; lastAccessed: number; archived: boolean },
  ): SessionRecord {
    const row: SessionRow = {
      seq: 0,
      session_id: input.sessionId,
      cwd: input.cwd,
      title: input.title,
      created_at: restored?.createdAt ?? now,
      last_accessed: restored?.lastAccessed ?? now,
      client_capabilities: JSON.stringify(input.clientCapabilities ?? null),
      mcp_servers: JSON.stringify(input.mcpServers),
      additional_directories: JSON.stringify(input.additionalDirectories),
      revision: 1,
      archived: restored?.archived ? 1 : 0,
      max_idle_ms: input.retention.maxIdleMs,
      pinned: input.retention.pinned ? 1 : 0,
      parent_session_id: parentSessionId,
      forked_at_message_id: forkedAtMessageId,
      segment: Number(this.sql.insertSegment.run(segment.parent, segment.base).lastInsertRowid),
      first_position: firstPosition,
      message_count: messageCount,
      segment_parent: segment.parent,
      segment_base: segment.base,
      watched_until: 0,
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
    this.transactions.countAccessWrite();
  }

  private deleteSession(row: SessionRow): void {
    this.cache.forget(row.session_id);
    this.sql.deleteSession.run(row.seq);
    this.sql.uncountSession.run();
    this.sql.dropEmptyCount.run();
    this.sql.disown.run(row.segment);
    this.history.collect(row.segment);
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
      const user = this.history.firstUserFrom(row, cut);
      cut = user < 0 ? count : user;
    }
    if (cut >= count) while (cut < count + fresh.length && fresh[cut - count]!.role !== "user") cut++;
    if (cut >= count + fresh.length) throw new LimitExceededError("maxContextMessages", max);
    return { drop: cut, appended: cut > count ? fresh.slice(cut - count) : fresh };
  }
}
