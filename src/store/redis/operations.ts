/**
 * The boundary between the store and its Lua: for each operation of the batch script, what it reads
 * (an encoder from typed input to its arguments, in the order lua/<name>.lua reads them) and what it
 * answers (a decoder from the raw reply to a typed one: replies.ts). An optional argument travels as a
 * flag and a value, written `name?` below. Times are Redis server clock milliseconds.
 */
import type { Cut } from "../truncate.js";
import type { ContextWindow, ForkRequest, NewSession, RestoreRequest, SessionChanges, StoredMessage } from "../types.js";
import type { Arg } from "./batcher.js";
import {
  elements,
  decodeFailure,
  flatten,
  integer,
  optionalRecord,
  recordFields,
  replyDone,
  replyWithRecord,
  type Created,
  type Done,
  type Expiry,
  type Failure,
  type ListBatch,
  type Messages,
  type Read,
  type Truncated,
  type Subscribed,
  type Updated,
  type Watched,
} from "./replies.js";
import type { OperationName } from "./script.js";
import { CHANGE_LETTER, ROLE_LETTER, STATUS } from "./shared.js";

export interface Operation<Input, Reply> {
  readonly name: OperationName;
  encode(input: Input): Arg[];
  /** A plain function, handed to the batcher as it is. */
  readonly decode: (reply: unknown) => Reply;
}

export interface ListInput {
  index: "live" | "arch";
  /** Redis score range syntax. */
  max: string;
  want: number;
  budget: number;
  cwd: string | undefined;
}

/** The start of the update and append operations' arguments. */
export interface AppendInput {
  sessionId: string;
  /** The version of the caller's copy of the record, or "". */
  known: string;
  now: number;
  defaultIdle: number;
  /** -1: no limit. */
  maxContext: number;
  trim: boolean;
  messages: readonly StoredMessage[];
}

export interface UpdateInput extends AppendInput {
  expectedRevision: number | undefined;
  /** Given by touch: the session's cwd must be this. */
  cwd: string | undefined;
  changes: SessionChanges;
}

/**
 * Messages longer than this (in UTF-16 units: up to three bytes each) travel as bytes of their own, an
 * ARGV each, rather than inside the packed arguments, whose encoder keeps the largest buffer it ever
 * needed.
 */
const INLINE_TEXT = 16 * 1024;

/** id, now, defaultIdle, cwd, title?, caps, mcp, dirs, maxIdle?, pinned, nonce → Created | idTaken. */
export const create: Operation<{ session: NewSession; now: number; defaultIdle: number; nonce: string }, Created | Failure> = {
  name: "create",
  encode: ({ session, now, defaultIdle, nonce }) => [
    session.sessionId,
    now,
    defaultIdle,
    session.cwd,
    ...optional(session.title),
    JSON.stringify(session.clientCapabilities ?? null),
    JSON.stringify(session.mcpServers),
    JSON.stringify(session.additionalDirectories),
    ...optional(session.retention.maxIdleMs),
    flag(session.retention.pinned),
    nonce,
  ],
  decode: (reply) => replyWithRecord(elements(reply)),
};

/**
 * id, known, now, defaultIdle, maxContext, trim, expectedRevision ("" for none), cwd?, the changes
 * (changeValues), then a count and that many (id, role letter, json) → Updated | missing, redirect,
 * cwdMismatch, conflict, contextFull. Also serves touch (no messages, a cwd to check).
 */
export const update: Operation<UpdateInput, Updated | Failure> = {
  name: "update",
  encode: (input) =>
    withMessages(
      [...appendStart(input), input.expectedRevision ?? "", ...optional(input.cwd), ...changeValues(input.changes)],
      input.messages,
    ),
  decode: decodeUpdated,
};

/** An update that only appends, with no revision expected: update's arguments without those three. */
export const append: Operation<AppendInput, Updated | Failure> = {
  name: "append",
  encode: (input) => withMessages(appendStart(input), input.messages),
  decode: decodeUpdated,
};

/** True when an update changes no field: with no revision expected, it can go as an append. */
export function changesNothing({ title, clientCapabilities, mcpServers, additionalDirectories, retention }: SessionChanges): boolean {
  return (
    title === undefined &&
    clientCapabilities === undefined &&
    mcpServers === undefined &&
    additionalDirectories === undefined &&
    retention === undefined
  );
}

/**
 * id, known, held (the revision at which the caller read this window's messages, or ""), now,
 * defaultIdle, offset, limit (-1: all), tail (-1: none), afterMessageId?, beforeMessageId? → Read |
 * missing, redirect, noMessage.
 */
export const get: Operation<
  { sessionId: string; known: string; held: number | ""; now: number; defaultIdle: number; window: ContextWindow },
  Read | Failure
> = {
  name: "get",
  encode: ({ sessionId, known, held, now, defaultIdle, window }) => [
    sessionId,
    known,
    held,
    now,
    defaultIdle,
    window.offset ?? 0,
    window.limit ?? -1,
    window.tail ?? -1,
    ...optional(window.afterMessageId),
    ...optional(window.beforeMessageId),
  ],
  decode: (reply) => {
    // A bare number: the last access, the caller's copies of the record and of the window being right.
    if (typeof reply === "number") return { status: STATUS.ok, stillRight: true, lastAccessed: reply };
    const r = elements(reply);
    if (r[0] !== STATUS.ok) return decodeFailure(r);
    return {
      status: STATUS.ok,
      stillRight: false,
      revision: integer(r[1]),
      lastAccessed: integer(r[2]),
      messageCount: integer(r[3]),
      record: optionalRecord(r[4]),
      messages: flatten(r[5]),
      start: integer(r[6]),
    };
  },
};

/** id, from, count → Messages | missing, redirect. Not an access. */
export const read: Operation<{ sessionId: string; from: number; count: number }, Messages | Failure> = {
  name: "read",
  encode: ({ sessionId, from, count }) => [sessionId, from, count],
  decode: (reply) => {
    const r = elements(reply);
    return r[0] === STATUS.ok ? { status: STATUS.ok, messages: flatten(r[1]) } : decodeFailure(r);
  },
};

/** id → Done | missing, redirect. */
export const has: Operation<{ sessionId: string }, Done | Failure> = {
  name: "has",
  encode: ({ sessionId }) => [sessionId],
  decode: (reply) => replyDone(elements(reply)),
};

/** id, archived, now, defaultIdle → Created (the record) | missing, redirect. */
export const archive: Operation<{ sessionId: string; archived: boolean; now: number; defaultIdle: number }, Created | Failure> = {
  name: "archive",
  encode: ({ sessionId, archived, now, defaultIdle }) => [sessionId, flag(archived), now, defaultIdle],
  decode: (reply) => replyWithRecord(elements(reply)),
};

/** id, title → Created (the record) | missing, redirect. Not an access. */
export const title: Operation<{ sessionId: string; title: string }, Created | Failure> = {
  name: "title",
  encode: ({ sessionId, title }) => [sessionId, title],
  decode: (reply) => replyWithRecord(elements(reply)),
};

/** id → Done once deleted | missing, redirect. */
export const remove: Operation<{ sessionId: string }, Done | Failure> = {
  name: "remove",
  encode: ({ sessionId }) => [sessionId],
  decode: (reply) => replyDone(elements(reply)),
};

/**
 * parent, id, now, defaultIdle, atMessageId?, cwd, mcp, title (set, value?), nonce → Created |
 * missing, redirect (of the parent), idTaken, noMessage.
 */
export const fork: Operation<{ request: ForkRequest; now: number; defaultIdle: number; nonce: string }, Created | Failure> = {
  name: "fork",
  encode: ({ request, now, defaultIdle, nonce }) => [
    request.parentSessionId,
    request.sessionId,
    now,
    defaultIdle,
    ...optional(request.atMessageId),
    request.cwd,
    JSON.stringify(request.mcpServers),
    flag(request.title !== undefined),
    ...optional(request.title),
    nonce,
  ],
  decode: (reply) => replyWithRecord(elements(reply)),
};

export interface TruncateInput {
  sessionId: string;
  /** The version of the caller's copy of the record, or "". */
  known: string;
  now: number;
  defaultIdle: number;
  cut: Cut;
  expectedRevision: number | undefined;
}

/**
 * id, known, now, defaultIdle, keeps (the named message stays), messageId? (none: before every message),
 * expectedRevision ("" for none) → Truncated | missing, redirect, noMessage, conflict.
 */
export const truncate: Operation<TruncateInput, Truncated | Failure> = {
  name: "truncate",
  encode: ({ sessionId, known, now, defaultIdle, cut, expectedRevision }) => [
    sessionId,
    known,
    now,
    defaultIdle,
    flag(cut.keeps === 1),
    ...optional(cut.messageId),
    expectedRevision ?? "",
  ],
  decode: (reply) => {
    const r = elements(reply);
    if (r[0] !== STATUS.ok) return decodeFailure(r);
    return {
      status: STATUS.ok,
      revision: integer(r[1]),
      lastAccessed: integer(r[2]),
      messageCount: integer(r[3]),
      record: optionalRecord(r[4]),
      removed: integer(r[5]),
    };
  },
};

/**
 * id, now, created, seen, defaultIdle, cwd, title?, caps, mcp, dirs, maxIdle?, pinned, archived, parent?,
 * forked?, source?, at ("" without a source), nonce → Created | idTaken, or of the source: missing,
 * redirect, noMessage.
 */
export const restore: Operation<
  { request: RestoreRequest; now: number; created: number; seen: number; defaultIdle: number; nonce: string },
  Created | Failure
> = {
  name: "restore",
  encode: ({ request: { session, shareHistoryOf }, now, created, seen, defaultIdle, nonce }) => [
    session.sessionId,
    now,
    created,
    seen,
    defaultIdle,
    session.cwd,
    ...optional(session.title),
    JSON.stringify(session.clientCapabilities ?? null),
    JSON.stringify(session.mcpServers),
    JSON.stringify(session.additionalDirectories),
    ...optional(session.retention.maxIdleMs),
    flag(session.retention.pinned),
    flag(session.archived),
    ...optional(session.parentSessionId),
    ...optional(session.forkedAtMessageId),
    ...optional(shareHistoryOf?.sessionId),
    shareHistoryOf?.atMessageId ?? "",
    nonce,
  ],
  decode: (reply) => replyWithRecord(elements(reply)),
};

/**
 * now, defaultIdle, createdBefore? (the lifetime cap's bound), limit, onExpire, stream length → the
 * expiries applied: lifetime first, oldest first; then idle, earliest deadline first.
 */
export const expire: Operation<
  { now: number; defaultIdle: number; createdBefore: number | undefined; limit: number; onExpire: string; streamLength: number },
  Expiry[]
> = {
  name: "expire",
  encode: ({ now, defaultIdle, createdBefore, limit, onExpire, streamLength }) => [
    now,
    defaultIdle,
    ...optional(createdBefore),
    limit,
    onExpire,
    streamLength,
  ],
  decode: (reply) =>
    elements(reply).map((entry) => {
      const [id, created, seen, count, action, phase, order] = elements(entry);
      return {
        id: String(id),
        created: integer(created),
        seen: integer(seen),
        messageCount: integer(count),
        action: String(action) as Expiry["action"],
        phase: integer(phase),
        order: integer(order),
      };
    }),
};

/** → the bucket's session count, active and archived. */
export const count: Operation<void, number> = {
  name: "count",
  encode: () => [],
  decode: integer,
};

/** now, createdBefore? → how many expiries are due (an upper bound: a session may be due twice). */
export const due: Operation<{ now: number; createdBefore: number | undefined }, number> = {
  name: "due",
  encode: ({ now, createdBefore }) => [now, ...optional(createdBefore)],
  decode: integer,
};

/**
 * index, max score (Redis range syntax), want, budget, cwd? → newest first from max, scanning at most
 * budget entries and stopping at want matches.
 */
export const list: Operation<ListInput, ListBatch> = {
  name: "list",
  encode: ({ index, max, want, budget, cwd }) => [index, max, want, budget, ...optional(cwd)],
  decode: (reply) => {
    const r = elements(reply);
    const matches: ListBatch["matches"] = [];
    for (let i = 2; i < r.length; i += 3) matches.push({ id: String(r[i]), score: integer(r[i + 1]), record: recordFields(r[i + 2]) });
    return { exhausted: r[0] === 1, frontier: String(r[1]), matches };
  },
};

/**
 * id, ttl (ms the watch lasts), afterMessageId? → Subscribed | missing, redirect, noMessage. Not an
 * access; watches the session (lua/feed.lua).
 */
export const subscribe: Operation<{ sessionId: string; ttl: number; afterMessageId: string | undefined }, Subscribed | Failure> = {
  name: "subscribe",
  encode: ({ sessionId, ttl, afterMessageId }) => [sessionId, ttl, ...optional(afterMessageId)],
  decode: (reply) => {
    const r = elements(reply);
    if (r[0] !== STATUS.ok) return decodeFailure(r);
    return { status: STATUS.ok, record: recordFields(r[1]), position: String(r[2]), messages: flatten(r[3]) };
  },
};

/** ttl, a count, that many session ids → Watched: renews the watches, says where each session stands. */
export const watch: Operation<{ ttl: number; sessionIds: string[] }, Watched> = {
  name: "watch",
  encode: ({ ttl, sessionIds }) => [ttl, sessionIds.length, ...sessionIds],
  decode: (reply) => {
    const r = elements(reply);
    const states: Watched["states"] = [];
    for (let i = 1; i < r.length; i += 2) {
      const revision = integer(r[i]);
      states.push(revision < 0 ? undefined : { revision, messageCount: integer(r[i + 1]) });
    }
    return { position: String(r[0]), states };
  },
};

/** update's and append's arguments up to what update adds. */
function appendStart({ sessionId, known, now, defaultIdle, maxContext, trim }: AppendInput): Arg[] {
  return [sessionId, known, now, defaultIdle, maxContext, flag(trim)];
}

/** A count, then each message's id, role letter and JSON. */
function withMessages(args: Arg[], messages: readonly StoredMessage[]): Arg[] {
  args.push(messages.length);
  for (const m of messages) args.push(m.messageId, ROLE_LETTER[m.role], m.json.length > INLINE_TEXT ? Buffer.from(m.json) : m.json);
  return args;
}

/** The fields an update sets: the letters of those given (in CHANGE_LETTER order), then their values. */
function changeValues({ title, clientCapabilities, mcpServers, additionalDirectories, retention }: SessionChanges): Arg[] {
  let given = "";
  const values: Arg[] = [];
  if (title !== undefined) {
    given += CHANGE_LETTER.title;
    values.push(...optional(title));
  }
  if (clientCapabilities !== undefined) {
    given += CHANGE_LETTER.caps;
    values.push(JSON.stringify(clientCapabilities ?? null));
  }
  if (mcpServers !== undefined) {
    given += CHANGE_LETTER.mcp;
    values.push(JSON.stringify(mcpServers));
  }
  if (additionalDirectories !== undefined) {
    given += CHANGE_LETTER.dirs;
    values.push(JSON.stringify(additionalDirectories));
  }
  if (retention !== undefined) {
    given += CHANGE_LETTER.retention;
    values.push(...optional(retention?.maxIdleMs), flag(retention?.pinned ?? false));
  }
  return [given, ...values];
}

/**
 * An optional argument: a presence flag, then the value, always as text: the scripts store these as
 * they come and compare them with what they stored.
 */
function optional(value: string | number | null | undefined): Arg[] {
  return value === undefined || value === null ? ["0", ""] : ["1", String(value)];
}

const flag = (value: boolean) => (value ? "1" : "0");

/** [OK, rev, seen, n, record or null when the caller's copy is still right, appended, trimmed] */
function decodeUpdated(reply: unknown): Updated | Failure {
  const r = elements(reply);
  if (r[0] !== STATUS.ok) return decodeFailure(r);
  return {
    status: STATUS.ok,
    revision: integer(r[1]),
    lastAccessed: integer(r[2]),
    messageCount: integer(r[3]),
    record: optionalRecord(r[4]),
    appended: integer(r[5]),
    trimmed: integer(r[6]),
  };
}
