import { decodeCursor, encodeCursor } from "./cursor.js";
import { CwdMismatchError, InvalidCursorError, MessageNotFoundError, RevisionConflictError, SessionNotFoundError } from "./errors.js";
import { History } from "./memory-history.js";
import type {
  ContextWindow,
  ExpiredSession,
  ListPage,
  ListQuery,
  NewSession,
  SessionChanges,
  SessionRecord,
  SessionSnapshot,
  SessionStore,
  StoreOptions,
  UpdateRequest,
  UpdateResult,
} from "./types.js";

interface MemorySession {
  readonly sessionId: string;
  readonly createdAt: number;
  /** Creation order, for listing: never changes, so cursors stay valid while sessions come and go. */
  readonly seq: number;
  cwd: string;
  title: string | null;
  lastAccessed: number;
  clientCapabilities: unknown;
  /** JSON of clientCapabilities, to tell a real change from a repeat. */
  clientCapabilitiesJson: string;
  mcpServers: string[];
  additionalDirectories: string[];
  revision: number;
  history: History;
  removed: boolean;
  // The idle list: sessions from least to most recently accessed.
  older: MemorySession | null;
  newer: MemorySession | null;
}

/**
 * The in-process store. Every method is synchronous, so each request applies atomically on the one
 * event loop. Sessions are kept on a list ordered by last access, so a reaper pass touches only the
 * sessions it removes, and in creation order for listing.
 */
export class MemoryStore implements SessionStore {
  private readonly sessions = new Map<string, MemorySession>();
  private oldest: MemorySession | null = null;
  private newest: MemorySession | null = null;
  /** Ascending seq; removed sessions linger (flagged) until compaction. */
  private byCreation: MemorySession[] = [];
  private removedInOrder = 0;
  private nextSeq = 1;

  constructor(private readonly options: StoreOptions) {}

  /** For tests and the benchmark: how many sessions and list slots are held. */
  stats(): { sessions: number; listSlots: number } {
    return { sessions: this.sessions.size, listSlots: this.byCreation.length };
  }

  create(input: NewSession, now: number): SessionRecord {
    const session: MemorySession = {
      sessionId: input.sessionId,
      createdAt: now,
      seq: this.nextSeq++,
      cwd: input.cwd,
      title: input.title,
      lastAccessed: now,
      clientCapabilities: input.clientCapabilities,
      clientCapabilitiesJson: JSON.stringify(input.clientCapabilities ?? null),
      mcpServers: input.mcpServers,
      additionalDirectories: input.additionalDirectories,
      revision: 1,
      history: new History(),
      removed: false,
      older: null,
      newer: null,
    };
    this.sessions.set(session.sessionId, session);
    this.byCreation.push(session);
    this.linkNewest(session);
    return record(session);
  }

  get(sessionId: string, window: ContextWindow, now: number): SessionSnapshot {
    const session = this.require(sessionId);
    let from = window.offset ?? 0;
    if (window.afterMessageId !== undefined) {
      const index = session.history.indexOf(window.afterMessageId);
      if (index < 0) throw new MessageNotFoundError("afterMessageId", window.afterMessageId);
      from = index + 1;
    }
    this.access(session, now);
    return { session: record(session), messages: session.history.slice(from, window.limit ?? Infinity) };
  }

  update(request: UpdateRequest, now: number): UpdateResult {
    const session = this.require(request.sessionId);
    const fresh = request.messages.filter((m) => session.history.indexOf(m.messageId) < 0);
    const changes = effectiveChanges(session, request.changes);
    const changing = fresh.length > 0 || changes.length > 0;
    if (changing && request.expectedRevision !== undefined && request.expectedRevision !== session.revision) {
      throw new RevisionConflictError(session.sessionId, request.expectedRevision, session.revision);
    }
    for (const apply of changes) apply();
    session.history.append(fresh);
    if (changing) session.revision++;
    this.access(session, now);
    return { session: record(session), appended: fresh.length };
  }

  touch(sessionId: string, changes: SessionChanges, now: number, cwd?: string): SessionRecord {
    const session = this.require(sessionId);
    if (cwd !== undefined && cwd !== session.cwd) throw new CwdMismatchError(sessionId, session.cwd);
    const apply = effectiveChanges(session, changes);
    for (const change of apply) change();
    if (apply.length > 0) session.revision++;
    this.access(session, now);
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
    this.drop(session);
    return true;
  }

  list(query: ListQuery): ListPage {
    let below = Infinity;
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor);
      if (typeof position !== "number" || !Number.isSafeInteger(position)) throw new InvalidCursorError(query.cursor);
      below = position;
    }
    const sessions: SessionRecord[] = [];
    let i = this.indexBelow(below);
    for (; i >= 0 && sessions.length < query.limit; i--) {
      const session = this.byCreation[i]!;
      if (!session.removed && (query.cwd === undefined || session.cwd === query.cwd)) sessions.push(record(session));
    }
    // Another page only if another match exists, so the last page never comes back empty.
    for (; i >= 0; i--) {
      const session = this.byCreation[i]!;
      if (!session.removed && (query.cwd === undefined || session.cwd === query.cwd)) {
        const last = this.sessions.get(sessions[sessions.length - 1]!.sessionId)!;
        return { sessions, nextCursor: encodeCursor(last.seq) };
      }
    }
    return { sessions };
  }

  expireDue(now: number, limit: number): ExpiredSession[] {
    const expired: ExpiredSession[] = [];
    while (this.oldest && expired.length < limit && this.oldest.lastAccessed + this.options.maxIdleMs <= now) {
      const session = this.oldest;
      this.drop(session);
      expired.push({
        sessionId: session.sessionId,
        createdAt: session.createdAt,
        lastAccessed: session.lastAccessed,
        expiredAt: now,
        messageCount: session.history.length,
      });
    }
    return expired;
  }

  close(): void {}

  private require(sessionId: string): MemorySession {
    const session = this.sessions.get(sessionId);
    if (!session) throw new SessionNotFoundError(sessionId);
    return session;
  }

  private access(session: MemorySession, now: number): void {
    session.lastAccessed = Math.max(session.lastAccessed, now);
    if (this.newest === session) return;
    this.unlink(session);
    this.linkNewest(session);
  }

  private drop(session: MemorySession): void {
    this.sessions.delete(session.sessionId);
    this.unlink(session);
    session.removed = true;
    this.removedInOrder++;
    if (this.removedInOrder > 1024 && this.removedInOrder * 2 > this.byCreation.length) {
      this.byCreation = this.byCreation.filter((s) => !s.removed);
      this.removedInOrder = 0;
    }
  }

  /** Index of the last session in creation order whose seq is below `seq`. */
  private indexBelow(seq: number): number {
    let lo = 0;
    let hi = this.byCreation.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.byCreation[mid]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  private linkNewest(session: MemorySession): void {
    session.older = this.newest;
    session.newer = null;
    if (this.newest) this.newest.newer = session;
    else this.oldest = session;
    this.newest = session;
  }

  private unlink(session: MemorySession): void {
    if (session.older) session.older.newer = session.newer;
    else if (this.oldest === session) this.oldest = session.newer;
    if (session.newer) session.newer.older = session.older;
    else if (this.newest === session) this.newest = session.older;
    session.older = session.newer = null;
  }
}

/** The setters for the fields that really change; an empty list means the request changes nothing. */
function effectiveChanges(session: MemorySession, changes: SessionChanges): (() => void)[] {
  const out: (() => void)[] = [];
  const { title, clientCapabilities, mcpServers, additionalDirectories } = changes;
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
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
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
  };
}
