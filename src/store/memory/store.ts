import { ChangeFanout } from "../change-fanout.js";
import { CreationIndex } from "./creation-index.js";
import { encodeCursor, sequenceBelow } from "../cursor.js";
import { DeadlineHeap } from "./deadline-heap.js";
import {
  CwdMismatchError,
  LimitExceededError,
  MessageNotFoundError,
  RevisionConflictError,
  SessionExistsError,
  SessionNotFoundError,
} from "../errors.js";
import { History, HistoryStats } from "./history.js";
import { StringPool } from "./string-pool.js";
import { keptCount } from "../truncate.js";
import { DEFAULT_RETENTION } from "../types.js";
import { resolveWindow } from "../window.js";
import type {
  ChangeListener,
  ContextWindow,
  ExpiredSession,
  ForkRequest,
  ListPage,
  ListQuery,
  NewSession,
  RestoreRequest,
  RetentionPolicy,
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

interface MemorySession {
  readonly sessionId: string;
  readonly createdAt: number;
  /** Creation order, for listing: never changes, so cursors stay valid while sessions come and go. */
  readonly seq: number;
  readonly parentSessionId: string | null;
  readonly forkedAtMessageId: string | null;
  cwd: string;
  title: string | null;
  lastAccessed: number;
  clientCapabilities: unknown;
  /** JSON of clientCapabilities, to tell a real change from a repeat. */
  clientCapabilitiesJson: string;
  mcpServers: string[];
  additionalDirectories: string[];
  revision: number;
  archived: boolean;
  retention: RetentionPolicy;
  history: History;
  removed: boolean;
  /** Place in the idle-deadline heap; -1 when it never expires for idleness (pinned, archived). */
  heapIndex: number;
  idleDeadline: number;
  /** Its entry among the restored sessions, when it was restored. */
  restored: RestoredEntry | null;
}

/** A restored session, in the heap that finds those created before their place in creation order. */
interface RestoredEntry {
  readonly session: MemorySession;
  heapIndex: number;
}

/** What a restored session brings instead of the moment it is added. */
interface RestoredState {
  createdAt: number;
  lastAccessed: number;
  archived: boolean;
}

/**
 * The in-process store. Every method is synchronous, so each request applies atomically on the one
 * event loop. Idle deadlines sit in a heap and sessions in creation order, so a reaper pass touches
 * only the sessions it expires.
 */
export class MemoryStore implements SessionStore {
  private readonly sessions = new Map<string, MemorySession>();
  private readonly idle = new DeadlineHeap<MemorySession>((s) => s.idleDeadline);
  private readonly byCreation = new CreationIndex<MemorySession>();
  /** Restored sessions by createdAt: listed where they were restored, they may be older than sessions listed before them. */
  private readonly restored = new DeadlineHeap<RestoredEntry>((entry) => entry.session.createdAt);
  private nextSeq = 1;
  private readonly historyStats = new HistoryStats();
  /** cwds and capability JSON, which most sessions share with others. */
  private readonly strings = new StringPool();
  private readonly subscribers = new ChangeFanout();

  constructor(private readonly options: StoreOptions) {}

  create(input: NewSession, now: number): SessionRecord {
    this.checkCapacity();
    return record(this.add(input, now, History.empty(this.historyStats), null, null));
  }

  fork(request: ForkRequest, now: number): SessionRecord {
    const parent = this.require(request.parentSessionId);
    let count = parent.history.length;
    if (request.atMessageId !== undefined) {
      const index = parent.history.indexOf(request.atMessageId);
      if (index < 0) throw new MessageNotFoundError("atMessageId", request.atMessageId);
      count = index + 1;
    }
    this.checkCapacity();
    const history = parent.history.fork(count, this.historyStats);
    const input: NewSession = {
      sessionId: request.sessionId,
      cwd: request.cwd,
      title: request.title === undefined ? parent.title : request.title,
      clientCapabilities: parent.clientCapabilities,
      mcpServers: request.mcpServers,
      additionalDirectories: parent.additionalDirectories,
      retention: DEFAULT_RETENTION,
    };
    const forkedAt = request.atMessageId ?? parent.history.lastMessageId();
    const session = this.add(input, now, history, parent.sessionId, forkedAt);
    this.access(parent, now);
    return record(session);
  }

  restore(request: RestoreRequest, now: number): SessionRecord {
    const { session: input, shareHistoryOf: share } = request;
    if (this.sessions.has(input.sessionId)) throw new SessionExistsError(input.sessionId);
    let history: History;
    if (share) {
      const source = this.require(share.sessionId);
      const index = source.history.indexOf(share.atMessageId);
      if (index < 0) throw new MessageNotFoundError("atMessageId", share.atMessageId);
      this.checkCapacity();
      history = source.history.fork(index + 1, this.historyStats);
    } else {
      this.checkCapacity();
      history = History.empty(this.historyStats);
    }
    const session = this.add(input, now, history, input.parentSessionId, input.forkedAtMessageId, input);
    session.restored = { session, heapIndex: -1 };
    this.restored.set(session.restored);
    return record(session);
  }

  get(sessionId: string, window: ContextWindow, now: number): SessionSnapshot {
    const session = this.require(sessionId);
    const { start, count } = resolveWindow(window, session.history.length, (id) => session.history.indexOf(id));
    this.access(session, now);
    return { session: record(session), messages: session.history.slice(start, count), start };
  }

  update(request: UpdateRequest, now: number): UpdateResult {
    const session = this.require(request.sessionId);
    const fresh = request.messages.filter((m) => session.history.indexOf(m.messageId) < 0);
    const changes = effectiveChanges(session, request.changes);
    const changing = fresh.length > 0 || changes.length > 0;
    if (changing && request.expectedRevision !== undefined && request.expectedRevision !== session.revision) {
      throw new RevisionConflictError(session.sessionId, request.expectedRevision, session.revision);
    }
    const { drop, appended } = this.fitContext(session, fresh);
    for (const apply of changes) apply();
    if (drop > 0) session.history.dropOldest(Math.min(drop, session.history.length));
    session.history.append(appended);
    if (changing) session.revision++;
    this.access(session, now);
    if (appended.length > 0) {
      this.reportChange(session, () => ({
        type: "appended",
        messages: session.history.slice(session.history.length - appended.length, appended.length),
        trimmed: drop,
      }));
    }
    if (changes.length > 0) this.reportChange(session, () => ({ type: "updated", session: record(session) }));
    return { session: record(session), appended: fresh.length, trimmed: drop };
  }

  truncate(request: TruncateRequest, now: number): TruncateResult {
    const session = this.require(request.sessionId);
    const keep = keptCount(request, (messageId) => session.history.indexOf(messageId));
    const removed = session.history.length - keep;
    if (removed > 0 && request.expectedRevision !== undefined && request.expectedRevision !== session.revision) {
      throw new RevisionConflictError(session.sessionId, request.expectedRevision, session.revision);
    }
    if (removed > 0) {
      session.history.truncate(keep, this.historyStats);
      session.revision++;
    }
    this.access(session, now);
    if (removed > 0) this.reportChange(session, () => ({ type: "truncated", removed }));
    return { session: record(session), removed };
  }

  touch(sessionId: string, changes: SessionChanges, now: number, cwd?: string): SessionRecord {
    const session = this.require(sessionId);
    if (cwd !== undefined && cwd !== session.cwd) throw new CwdMismatchError(sessionId, session.cwd);
    const apply = effectiveChanges(session, changes);
    for (const change of apply) change();
    if (apply.length > 0) session.revision++;
    this.access(session, now);
    if (apply.length > 0) this.reportChange(session, () => ({ type: "updated", session: record(session) }));
    return record(session);
  }

  setArchived(sessionId: string, archived: boolean, now: number): SessionRecord {
    const session = this.require(sessionId);
    if (session.archived !== archived) {
      this.byCreation.archiveChanging(session, archived);
      session.archived = archived;
      session.revision++;
      this.reportChange(session, () => ({ type: archived ? "archived" : "unarchived" }));
    }
    if (archived) this.schedule(session);
    else this.access(session, now);
    return record(session);
  }

  setTitle(sessionId: string, title: string): SessionRecord {
    const session = this.require(sessionId);
    if (session.title !== title) {
      session.title = title;
      session.revision++;
      this.reportChange(session, () => ({ type: "updated", session: record(session) }));
    }
    return record(session);
  }

  readMessages(sessionId: string, from: number, count: number): Buffer[] {
    return this.sessions.get(sessionId)?.history.slice(from, count) ?? [];
  }

  has(sessionId: string): boolean {
    return this.sessions.has(sessionId);
  }

  remove(sessionId: string): boolean {
    const session = this.sessions.get(sessionId);
    if (!session) return false;
    this.reportChange(session, () => ({ type: "removed" }));
    this.drop(session);
    return true;
  }

  list(query: ListQuery): ListPage {
    const below = sequenceBelow(query.cursor, Infinity);
    const cwd = query.cwd;
    const page = this.byCreation.page(below, query.limit, query.archived ?? "exclude", (s) => cwd === undefined || s.cwd === cwd);
    const sessions = page.items.map(record);
    // Another page only if another match exists, so the last page never comes back empty.
    return page.more ? { sessions, nextCursor: encodeCursor(page.items[page.items.length - 1]!.seq) } : { sessions };
  }

  expireDue(now: number, limit: number): ExpiredSession[] {
    const expired: ExpiredSession[] = [];
    const { maxLifetimeMs, onExpire = "delete" } = this.options;
    for (
      let oldest = this.oldestCreated();
      maxLifetimeMs !== undefined && oldest && expired.length < limit;
      oldest = this.oldestCreated()
    ) {
      if (oldest.createdAt + maxLifetimeMs > now) break;
      expired.push(expiry(oldest, now, "delete"));
      this.reportChange(oldest, () => ({ type: "expired", action: "delete" }));
      this.drop(oldest);
    }
    for (let due = this.idle.peek(); due && expired.length < limit && due.idleDeadline <= now; due = this.idle.peek()) {
      expired.push(expiry(due, now, onExpire));
      if (onExpire === "archive") {
        this.byCreation.archiveChanging(due, true);
        due.archived = true;
        due.revision++;
        this.idle.delete(due);
        this.reportChange(due, () => ({ type: "expired", action: "archive" }));
      } else {
        this.reportChange(due, () => ({ type: "expired", action: "delete" }));
        this.drop(due);
      }
    }
    return expired;
  }

  subscribe(sessionId: string, afterMessageId: string | undefined, listener: ChangeListener): Subscription {
    const session = this.require(sessionId);
    let messages: Buffer[] = [];
    if (afterMessageId !== undefined) {
      const index = session.history.indexOf(afterMessageId);
      if (index < 0) throw new MessageNotFoundError("afterMessageId", afterMessageId);
      messages = session.history.slice(index + 1, Infinity);
    }
    const subscriber = this.subscribers.add(sessionId, listener);
    this.subscribers.start(subscriber, session.revision, session.history.length);
    return { session: record(session), messages, close: () => this.subscribers.remove(subscriber) };
  }

  footprint(): Record<string, number> {
    return {
      sessions: this.sessions.size,
      listSlots: this.byCreation.slots,
      idleEntries: this.idle.size,
      restoredEntries: this.restored.size,
      segments: this.historyStats.segments,
      messages: this.historyStats.messages,
    };
  }

  close(): void {}

  private add(
    input: NewSession,
    now: number,
    history: History,
    parentSessionId: string | null,
    forkedAtMessageId: string | null,
    restored?: RestoredState,
  ): MemorySession {
    const session: MemorySession = {
      sessionId: input.sessionId,
      createdAt: restored?.createdAt ?? now,
      seq: this.nextSeq++,
      parentSessionId,
      forkedAtMessageId,
      cwd: this.strings.intern(input.cwd),
      title: input.title,
      lastAccessed: restored?.lastAccessed ?? now,
      clientCapabilities: input.clientCapabilities,
      clientCapabilitiesJson: this.strings.intern(JSON.stringify(input.clientCapabilities ?? null)),
      mcpServers: shareEmpty(input.mcpServers),
      additionalDirectories: shareEmpty(input.additionalDirectories),
      revision: 1,
      archived: restored?.archived ?? false,
      retention: input.retention,
      history,
      removed: false,
      heapIndex: -1,
      idleDeadline: Infinity,
      restored: null,
    };
    this.sessions.set(session.sessionId, session);
    this.byCreation.add(session);
    this.schedule(session);
    return session;
  }

  /**
   * The session created first: the first in creation order, or a restored one created before it
   * (restored sessions are the only ones listed out of createdAt order).
   */
  private oldestCreated(): MemorySession | undefined {
    const listed = this.byCreation.oldest();
    const restored = this.restored.peek()?.session;
    if (!listed || !restored) return listed ?? restored;
    return restored.createdAt < listed.createdAt ? restored : listed;
  }

  /**
   * Every change a subscriber hears of goes out through here, once the session shows it (revision and
   * count after it). The change is made only when someone listens.
   */
  private reportChange(session: MemorySession, change: () => SessionChange): void {
    if (!this.subscribers.watching(session.sessionId)) return;
    this.subscribers.publish({
      sessionId: session.sessionId,
      revision: session.revision,
      messageCount: session.history.length,
      change: change(),
    });
  }

  private checkCapacity(): void {
    const max = this.options.maxSessions;
    if (max !== undefined && this.sessions.size >= max) throw new LimitExceededError("maxSessions", max);
  }

  /**
   * How many of the oldest messages must go for `fresh` to fit, and which of `fresh` are then kept.
   * With "trim", whole turns go (a turn starts at a user message); otherwise nothing may go.
   */
  private fitContext(session: MemorySession, fresh: StoredMessage[]): { drop: number; appended: StoredMessage[] } {
    const max = this.options.maxContextMessages;
    const count = session.history.length;
    const excess = count + fresh.length - (max ?? Infinity);
    if (max === undefined || excess <= 0 || fresh.length === 0) return { drop: 0, appended: fresh };
    if (this.options.onContextFull !== "trim") throw new LimitExceededError("maxContextMessages", max);
    const total = count + fresh.length;
    const roleAt = (i: number) => (i < count ? session.history.role(i) : fresh[i - count]!.role);
    let cut = Math.max(excess, 1);
    while (cut < total && roleAt(cut) !== "user") cut++;
    if (cut >= total) throw new LimitExceededError("maxContextMessages", max);
    return { drop: cut, appended: cut > count ? fresh.slice(cut - count) : fresh };
  }

  private require(sessionId: string): MemorySession {
    const session = this.sessions.get(sessionId);
    if (!session) throw new SessionNotFoundError(sessionId);
    return session;
  }

  private access(session: MemorySession, now: number): void {
    session.lastAccessed = Math.max(session.lastAccessed, now);
    this.schedule(session);
  }

  /** Puts the session's idle deadline in the heap, or takes it out when it never expires for idleness. */
  private schedule(session: MemorySession): void {
    if (session.archived || session.retention.pinned) {
      this.idle.delete(session);
      session.idleDeadline = Infinity;
      return;
    }
    session.idleDeadline = session.lastAccessed + (session.retention.maxIdleMs ?? this.options.maxIdleMs);
    this.idle.set(session);
  }

  private drop(session: MemorySession): void {
    this.sessions.delete(session.sessionId);
    this.idle.delete(session);
    if (session.restored) this.restored.delete(session.restored);
    session.history.release();
    this.byCreation.remove(session);
  }
}

/** The setters for the fields that really change; an empty list means the request changes nothing. */
function effectiveChanges(session: MemorySession, changes: SessionChanges): (() => void)[] {
  const out: (() => void)[] = [];
  const { title, clientCapabilities, mcpServers, additionalDirectories, retention } = changes;
  if (title !== undefined && title !== session.title) out.push(() => (session.title = title));
  if (clientCapabilities !== undefined) {
    const json = JSON.stringify(clientCapabilities);
    if (json !== session.clientCapabilitiesJson) {
      out.push(() => {
        session.clientCapabilities = clientCapabilities;
        session.clientCapabilitiesJson = json;
      });
    }
  }
  if (mcpServers !== undefined && !sameList(mcpServers, session.mcpServers)) out.push(() => (session.mcpServers = mcpServers));
  if (additionalDirectories !== undefined && !sameList(additionalDirectories, session.additionalDirectories)) {
    out.push(() => (session.additionalDirectories = additionalDirectories));
  }
  if (retention !== undefined) {
    const next = retention ?? DEFAULT_RETENTION;
    if (next.maxIdleMs !== session.retention.maxIdleMs || next.pinned !== session.retention.pinned) {
      out.push(() => (session.retention = next));
    }
  }
  return out;
}

/** Shared by every session with an empty list; frozen, since sessions replace their lists, never edit them. */
const NO_STRINGS = Object.freeze([]) as unknown as string[];

function shareEmpty(list: string[]): string[] {
  return list.length === 0 ? NO_STRINGS : list;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function expiry(session: MemorySession, now: number, action: ExpiredSession["action"]): ExpiredSession {
  return {
    sessionId: session.sessionId,
    createdAt: session.createdAt,
    lastAccessed: session.lastAccessed,
    expiredAt: now,
    messageCount: session.history.length,
    action,
  };
}

function record(session: MemorySession): SessionRecord {
  return {
    sessionId: session.sessionId,
    cwd: session.cwd,
    title: session.title,
    createdAt: session.createdAt,
    lastAccessed: session.lastAccessed,
    clientCapabilities: session.clientCapabilities,
    mcpServers: session.mcpServers,
    additionalDirectories: session.additionalDirectories,
    messageCount: session.history.length,
    revision: session.revision,
    archived: session.archived,
    retention: session.retention,
    parentSessionId: session.parentSessionId,
    forkedAtMessageId: session.forkedAtMessageId,
  };
}
