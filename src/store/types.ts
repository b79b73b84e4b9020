/**
 * The storage contract every backend implements (memory, SQLite, Redis). Times are Unix epoch
 * milliseconds; durations are milliseconds. Methods may answer synchronously (the in-process store
 * does, which keeps the request path free of promise hops) or with a promise (remote stores).
 * Every method is atomic: it either applies whole or throws a StoreError and changes nothing.
 */
export type MaybePromise<T> = T | Promise<T>;

export type Role = "user" | "assistant" | "system";

/** A message as stored: id and role in the clear, the whole message pre-encoded as JSON bytes. */
export interface StoredMessage {
  messageId: string;
  role: Role;
  /** `{"messageId","role","content","timestamp"}` as UTF-8 JSON. */
  json: Buffer;
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
}

export interface NewSession {
  sessionId: string;
  cwd: string;
  title: string | null;
  clientCapabilities: unknown;
  mcpServers: string[];
  additionalDirectories: string[];
}

/** Fields to set; an absent field is left as it is. */
export interface SessionChanges {
  title?: string | null;
  clientCapabilities?: unknown;
  mcpServers?: string[];
  additionalDirectories?: string[];
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
}

/** Which messages a read returns: from `offset` (default 0) or after `afterMessageId`, at most `limit`. */
export interface ContextWindow {
  offset?: number;
  afterMessageId?: string;
  limit?: number;
}

export interface SessionSnapshot {
  session: SessionRecord;
  /** The window's messages, each as its stored JSON. */
  messages: Buffer[];
}

export interface ListQuery {
  /** Opaque, from a previous page's nextCursor. */
  cursor?: string;
  limit: number;
  cwd?: string;
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
}

export interface StoreOptions {
  /** A session idle this long (since lastAccessed) is due for expiry. */
  maxIdleMs: number;
}

export interface SessionStore {
  /** Creates a session; `now` becomes createdAt and lastAccessed. */
  create(session: NewSession, now: number): MaybePromise<SessionRecord>;
  /** An access: reads the session and a window of its messages. */
  get(sessionId: string, window: ContextWindow, now: number): MaybePromise<SessionSnapshot>;
  /** An access: appends messages and sets fields, all or nothing. */
  update(request: UpdateRequest, now: number): MaybePromise<UpdateResult>;
  /**
   * An access without a read (resume, load): sets the given fields and returns the session. When
   * `cwd` is given and differs from the session's, throws CwdMismatchError and changes nothing.
   */
  touch(sessionId: string, changes: SessionChanges, now: number, cwd?: string): MaybePromise<SessionRecord>;
  /** Not an access: messages [from, from + count) as stored JSON, for streaming a replay. */
  readMessages(sessionId: string, from: number, count: number): MaybePromise<Buffer[]>;
  /** Not an access. */
  has(sessionId: string): MaybePromise<boolean>;
  /** Deletes the session and everything of it; false when there was none. */
  remove(sessionId: string): MaybePromise<boolean>;
  /** Not an access. Newest first; a cursor pages stably while sessions come and go. */
  list(query: ListQuery): MaybePromise<ListPage>;
  /** Deletes up to `limit` sessions whose idle deadline is at or before `now`, and says which. */
  expireDue(now: number, limit: number): MaybePromise<ExpiredSession[]>;
  close(): MaybePromise<void>;
}
