import type { Logger } from "../log.js";

/**
 * The storage contract every backend implements (memory, SQLite, Redis). Times are Unix epoch
 * milliseconds; durations are milliseconds. Methods may answer synchronously (the in-process store
 * does, which keeps the request path free of promise hops) or with a promise (remote stores).
 * Every method is atomic: it either applies whole or throws a StoreError and changes nothing.
 */
export type MaybePromise<T> = T | Promise<T>;

/** What a backend needs beyond StoreOptions: where to log, and the Redis deployment's settings. */
export interface BackendOptions {
  log: Logger;
  /** Key prefix in Redis, so deployments sharing one server do not see each other's sessions. */
  redisPrefix: string;
  /** How many buckets sessions are spread over in Redis (recorded on first use). */
  redisBuckets: number;
  /** How long to wait for the backend at start-up; 0 = fail at once. */
  storeWaitMs: number;
}

export type Role = "user" | "assistant" | "system";

/** A message as stored: id and role in the clear, the whole message pre-encoded as JSON bytes. */
export interface StoredMessage {
  messageId: string;
  role: Role;
  /** `{"messageId","role","content","timestamp"}` as JSON text; each store keeps it as it sees fit. */
  json: string;
}

export interface SessionRecord {
  sessionId: string;
  cwd: string;
  title: string | null;
  createdAt: number;
  lastAccessed: number;
  clientCapabilities: unknown;
  /** MCP server names only: their commands, env values and headers can hold secrets. */
  mcpServers: string[];
  additionalDirectories: string[];
  messageCount: number;
  /** 1 at creation, +1 for each request that changed what a read returns (other than lastAccessed). */
  revision: number;
  archived: boolean;
  /** The session's own policy; null fields fall back to the store's defaults. */
  retention: RetentionPolicy;
  /** Set on a fork: where its history came from (kept after the parent is gone). */
  parentSessionId: string | null;
  forkedAtMessageId: string | null;
}

/** A per-session override of the idle policy. */
export interface RetentionPolicy {
  /** Idle age for this session; null = the store's default (StoreOptions.maxIdleMs). */
  maxIdleMs: number | null;
  /** A pinned session never expires for idleness (the lifetime cap still applies). */
  pinned: boolean;
}

export const DEFAULT_RETENTION: RetentionPolicy = { maxIdleMs: null, pinned: false };

/** A `now` before every session's last access: a get dated then reads without being an access. */
export const NOT_AN_ACCESS = 0;

export interface NewSession {
  sessionId: string;
  cwd: string;
  title: string | null;
  clientCapabilities: unknown;
  mcpServers: string[];
  additionalDirectories: string[];
  retention: RetentionPolicy;
}

export interface ForkRequest {
  parentSessionId: string;
  /** The new session's id. */
  sessionId: string;
  cwd: string;
  mcpServers: string[];
  /** undefined = the parent's title; null = no title. */
  title: string | null | undefined;
  /** The fork keeps the parent's messages up to and including this one; undefined = all of them. */
  atMessageId?: string;
}

/** Fields to set; an absent field is left as it is. */
export interface SessionChanges {
  title?: string | null;
  clientCapabilities?: unknown;
  mcpServers?: string[];
  additionalDirectories?: string[];
  /** null = back to the defaults. */
  retention?: RetentionPolicy | null;
}

export interface UpdateRequest {
  sessionId: string;
  /** Appended in order, skipping any whose messageId the session already holds. Ids are unique here. */
  messages: StoredMessage[];
  changes: SessionChanges;
  /** When set and the update would change something, the stored revision must equal it. */
  expectedRevision?: number;
}

export interface UpdateResult {
  session: SessionRecord;
  appended: number;
  /** Oldest messages dropped to stay within maxContextMessages (onContextFull "trim"). */
  trimmed: number;
}

/**
 * Which messages a read returns: from `offset` (default 0) or after `afterMessageId`, at most `limit`;
 * or the last `tail`; or the `limit` (default all) just before `beforeMessageId`. Callers never combine
 * `tail` or `beforeMessageId` with another start.
 */
export interface ContextWindow {
  offset?: number;
  afterMessageId?: string;
  tail?: number;
  beforeMessageId?: string;
  limit?: number;
}

export interface SessionSnapshot {
  session: SessionRecord;
  /** The window's messages, each as its stored JSON. */
  messages: Buffer[];
  /**
   * The index in the session of the first message returned; for an empty window, where it would have
   * started (never past messageCount).
   */
  start: number;
}

/** Where a truncate cuts: exactly one of the two is set. */
export interface TruncateRequest {
  sessionId: string;
  /** Keeps this message and drops every later one; null drops every message. */
  afterMessageId?: string | null;
  /** Drops this message and every later one. */
  fromMessageId?: string;
  /** When set and the truncate would drop something, the stored revision must equal it. */
  expectedRevision?: number;
}

export interface TruncateResult {
  session: SessionRecord;
  /** How many messages were dropped; 0 leaves the session (revision included) as it was. */
  removed: number;
}

/** A session as an export holds it, to be created again with its own times (restore). */
export interface RestoredSession {
  sessionId: string;
  cwd: string;
  title: string | null;
  clientCapabilities: unknown;
  mcpServers: string[];
  additionalDirectories: string[];
  retention: RetentionPolicy;
  createdAt: number;
  lastAccessed: number;
  archived: boolean;
  parentSessionId: string | null;
  forkedAtMessageId: string | null;
}

export interface RestoreRequest {
  session: RestoredSession;
  /**
   * The session starts with this session's messages up to and including `atMessageId`, shared as a
   * fork shares them; absent: with no messages.
   */
  shareHistoryOf?: { sessionId: string; atMessageId: string };
}

export interface ListQuery {
  /** Opaque, from a previous page's nextCursor. */
  cursor?: string;
  limit: number;
  cwd?: string;
  /** Archived sessions: left out (default), included, or the only ones listed. */
  archived?: "exclude" | "include" | "only";
}

export interface ListPage {
  sessions: SessionRecord[];
  nextCursor?: string;
}

export interface ExpiredSession {
  sessionId: string;
  createdAt: number;
  lastAccessed: number;
  expiredAt: number;
  messageCount: number;
  /** What the reaper did: deleted it, or archived it (onExpire "archive"). */
  action: "delete" | "archive";
}

export interface StoreOptions {
  /** A session idle this long (since lastAccessed) is due for expiry, unless its own policy says otherwise. */
  maxIdleMs: number;
  /** What expiry for idleness does. Default "delete". */
  onExpire?: "delete" | "archive";
  /** Hard cap since creation, whatever the activity or archive state; undefined = none. */
  maxLifetimeMs?: number;
  /** Most sessions held; create and fork beyond it throw LimitExceededError. */
  maxSessions?: number;
  /** Most messages one session holds. */
  maxContextMessages?: number;
  /** At maxContextMessages: refuse the update (default), or drop the oldest whole turns. */
  onContextFull?: "reject" | "trim";
}

export interface SessionStore {
  /** Creates a session; `now` becomes createdAt and lastAccessed. */
  create(session: NewSession, now: number): MaybePromise<SessionRecord>;
  /**
   * An access: reads the session and a window of its messages. lastAccessed never moves back, so a read
   * dated at or before it (NOT_AN_ACCESS) changes nothing: the idle deadline stays where it was.
   */
  get(sessionId: string, window: ContextWindow, now: number): MaybePromise<SessionSnapshot>;
  /** An access: appends messages and sets fields, all or nothing. */
  update(request: UpdateRequest, now: number): MaybePromise<UpdateResult>;
  /**
   * An access: drops the messages after a cut, all or nothing. Throws SessionNotFoundError,
   * MessageNotFoundError naming afterMessageId or fromMessageId, or RevisionConflictError.
   */
  truncate(request: TruncateRequest, now: number): MaybePromise<TruncateResult>;
  /**
   * An access without a read (resume, load): sets the given fields and returns the session. When
   * `cwd` is given and differs from the session's, throws CwdMismatchError and changes nothing.
   */
  touch(sessionId: string, changes: SessionChanges, now: number, cwd?: string): MaybePromise<SessionRecord>;
  /** Not an access: messages [from, from + count) as stored JSON, for streaming a replay. */
  readMessages(sessionId: string, from: number, count: number): MaybePromise<Buffer[]>;
  /** Not an access. */
  has(sessionId: string): MaybePromise<boolean>;
  /**
   * Creates a session as an export holds it (import): its times, fields, archive state and fork origin
   * as given, revision 1. It is listed as created at `now`, newest first, while the lifetime cap counts
   * from its createdAt. Not an access to the session it shares history with. Throws SessionExistsError
   * when the id is in use; SessionNotFoundError or MessageNotFoundError ("atMessageId") for the history.
   */
  restore(request: RestoreRequest, now: number): MaybePromise<SessionRecord>;
  /** A new session sharing the parent's history up to a message, without copying it. An access to the parent. */
  fork(request: ForkRequest, now: number): MaybePromise<SessionRecord>;
  /** Archiving is not an access; unarchiving is (the idle clock starts again). */
  setArchived(sessionId: string, archived: boolean, now: number): MaybePromise<SessionRecord>;
  /**
   * Not an access (it is done from a list view): sets the title, already normalized by the caller, and
   * moves the revision only when that changes it. Archived sessions take a title too.
   */
  setTitle(sessionId: string, title: string): MaybePromise<SessionRecord>;
  /** Deletes the session and everything of it; false when there was none. */
  remove(sessionId: string): MaybePromise<boolean>;
  /** Not an access. Newest first; a cursor pages stably while sessions come and go. */
  list(query: ListQuery): MaybePromise<ListPage>;
  /**
   * Applies up to `limit` expiries due at or before `now` (idle past the session's policy, or past the
   * lifetime cap) and says which; across processes each expiry is applied exactly once.
   */
  expireDue(now: number, limit: number): MaybePromise<ExpiredSession[]>;
  /**
   * Stores shared by many sidecars (Redis) announce every expiry, whoever applied it, to every
   * subscriber. When a store has this, notifications come from here, not from expireDue's result.
   */
  onExpired?(listener: (expired: ExpiredSession) => void): void;
  /**
   * Not an access. Reports to `listener` every later change to the session made through any handle on
   * the same data (this one included), in order and each once, until `close()`, or until the session is
   * gone ("removed", or "expired" with action "delete"). Answers the session as the subscription starts,
   * every reported change coming after its revision, and with `afterMessageId` the messages after that
   * one at that point. Throws SessionNotFoundError, or MessageNotFoundError for an afterMessageId the
   * session does not hold; nothing is subscribed then.
   */
  subscribe(sessionId: string, afterMessageId: string | undefined, listener: ChangeListener): MaybePromise<Subscription>;
  /** Counts of everything the backend holds, by kind: all zero once every session is gone. */
  footprint(): MaybePromise<Record<string, number>>;
  close(): MaybePromise<void>;
}

/** One change to a session, as a subscriber hears of it (subscribe). */
export type SessionChange =
  /** Messages appended, each as its stored JSON; `trimmed`: the oldest dropped to make room (onContextFull "trim"). */
  | { type: "appended"; messages: Buffer[]; trimmed: number }
  /** Fields changed (title, retention, capabilities, directories, MCP names): the session after the change. */
  | { type: "updated"; session: SessionRecord }
  /** Messages dropped from a point on. */
  | { type: "truncated"; removed: number }
  | { type: "archived" }
  | { type: "unarchived" }
  /** Deleted; the subscription ends. */
  | { type: "removed" }
  /** Expired by a reaper; with action "delete" the subscription ends. */
  | { type: "expired"; action: ExpiredSession["action"] }
  /** Changes were missed (the feed fell behind): what the session holds must be read again. */
  | { type: "lagged" };

export interface ChangeEvent {
  sessionId: string;
  /** The session's revision after the change; for removed, expired and lagged, the last it had. */
  revision: number;
  messageCount: number;
  change: SessionChange;
}

export type ChangeListener = (event: ChangeEvent) => void;

export interface Subscription {
  /** The session as the subscription started: every change reported comes after this revision. */
  session: SessionRecord;
  /** With afterMessageId, the messages after it as of that revision, as stored JSON; otherwise none. */
  messages: Buffer[];
  /** Stops the reports; more calls do nothing. */
  close(): void;
}
