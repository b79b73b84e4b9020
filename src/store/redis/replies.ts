/**
 * The batch script's replies, as ioredis gives them to batchBuffer (Lua strings as Buffers, Lua
 * numbers as integers, false and nil as null), and the typed shapes operations.ts decodes them into.
 * Times in them are Redis server clock milliseconds.
 */
import {
  CwdMismatchError,
  LimitExceededError,
  MessageNotFoundError,
  RevisionConflictError,
  SessionExistsError,
  SessionNotFoundError,
  StoreError,
} from "../errors.js";
import { RECORD_FIELDS, STATUS } from "./shared.js";

/** A record's fields in RECORD_FIELDS order, as record() in lua/session.lua reads them (records.ts decodes them). */
export type RecordFields = readonly (Buffer | null)[];

type Ok = typeof STATUS.ok;

/** A reply that says why an operation did nothing. */
export type Failure =
  | { status: typeof STATUS.missing }
  | { status: typeof STATUS.redirect; bucket: number }
  | { status: typeof STATUS.conflict; revision: number }
  | { status: typeof STATUS.contextFull; limit: number }
  | { status: typeof STATUS.cwdMismatch; cwd: string }
  | { status: typeof STATUS.noMessage }
  | { status: typeof STATUS.idTaken };

export const MISSING: Failure = { status: STATUS.missing };

/** The bucket a redirect names; undefined for any other reply. */
export function redirectedTo(reply: { status: number }): number | undefined {
  return reply.status === STATUS.redirect ? (reply as Failure & { bucket: number }).bucket : undefined;
}

/** A session's counters as an operation left them, and its full record unless the caller's copy is still right. */
export interface Counters {
  revision: number;
  lastAccessed: number;
  messageCount: number;
  record: RecordFields | null;
}

export interface Done {
  status: Ok;
}
export interface Created {
  status: Ok;
  record: RecordFields;
}
export interface Updated extends Counters {
  status: Ok;
  appended: number;
  trimmed: number;
}
export interface Truncated extends Counters {
  status: Ok;
  removed: number;
}
/**
 * A get's answer: the window's messages and the index of its first, or only the last access when the
 * caller holds the rest.
 */
export type Read =
  | { status: Ok; stillRight: true; lastAccessed: number }
  | (Counters & { status: Ok; stillRight: false; messages: Buffer[]; start: number });
export interface Messages {
  status: Ok;
  messages: Buffer[];
}
export interface Expiry {
  id: string;
  created: number;
  seen: number;
  messageCount: number;
  action: "delete" | "archive";
  /** 0: the lifetime cap, 1: idleness. */
  phase: number;
  /** Within a phase: creation order for the lifetime cap, the deadline for idleness. */
  order: number;
}
/** A subscription's start: the session, the stream position of its snapshot, the messages after afterMessageId. */
export interface Subscribed {
  status: Ok;
  record: RecordFields;
  /** The id of the bucket's newest change stream entry then ("0-0" for none). */
  position: string;
  messages: Buffer[];
}
/** Where a bucket's watched sessions stood as of a change stream position; undefined for one that is gone. */
export interface Watched {
  position: string;
  states: ({ revision: number; messageCount: number } | undefined)[];
}
export interface ListBatch {
  /** The index holds no more below `frontier`. */
  exhausted: boolean;
  /** The last score looked at, where the next call resumes. */
  frontier: string;
  matches: { id: string; score: number; record: RecordFields }[];
}

/** [OK, record] */
export function replyWithRecord(r: unknown[]): Created | Failure {
  return r[0] === STATUS.ok ? { status: STATUS.ok, record: recordFields(r[1]) } : decodeFailure(r);
}

const DONE: Done = { status: STATUS.ok };

/** [OK] */
export function replyDone(r: unknown[]): Done | Failure {
  return r[0] === STATUS.ok ? DONE : decodeFailure(r);
}

/** A reply led by a status other than OK, and what it carries. */
export function decodeFailure(r: unknown[]): Failure {
  switch (r[0]) {
    case STATUS.missing:
      return MISSING;
    case STATUS.redirect:
      return { status: STATUS.redirect, bucket: integer(r[1]) };
    case STATUS.conflict:
      return { status: STATUS.conflict, revision: integer(r[1]) };
    case STATUS.contextFull:
      return { status: STATUS.contextFull, limit: integer(r[1]) };
    case STATUS.cwdMismatch:
      return { status: STATUS.cwdMismatch, cwd: String(r[1]) };
    case STATUS.noMessage:
      return { status: STATUS.noMessage };
    case STATUS.idTaken:
      return { status: STATUS.idTaken };
    default:
      throw unexpected(r);
  }
}

/** A full record: as many fields as RECORD_FIELDS names. */
export function recordFields(value: unknown): RecordFields {
  if (!Array.isArray(value) || value.length !== RECORD_FIELDS.length) throw unexpected(value);
  return value as RecordFields;
}

/** The full record, or null (Lua's false) when the caller's copy is still right. */
export const optionalRecord = (value: unknown): RecordFields | null => (value === null ? null : recordFields(value));

/** Messages as chunks (one per history segment read), in order. */
export function flatten(chunks: unknown): Buffer[] {
  const c = elements(chunks) as Buffer[][];
  return c.length === 1 ? c[0]! : c.flat();
}

/** A Lua table's elements. */
export function elements(reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw unexpected(reply);
  return reply;
}

/** A Lua number, or a number the script sent as text (times and scores, which int() formats). */
export function integer(value: unknown): number {
  return typeof value === "number" ? value : Number(String(value));
}

function unexpected(reply: unknown): StoreError {
  return new StoreError(`redis store: unexpected reply from the batch script: ${JSON.stringify(reply)?.slice(0, 200)}`);
}

/** The store error for a failure reply: which session, and for noMessage which field named which message. */
export function failureError(reply: Failure, sessionId: string, field?: string, messageId?: string, expectedRevision?: number): StoreError {
  switch (reply.status) {
    case STATUS.conflict:
      return new RevisionConflictError(sessionId, expectedRevision!, reply.revision);
    case STATUS.contextFull:
      return new LimitExceededError("maxContextMessages", reply.limit);
    case STATUS.cwdMismatch:
      return new CwdMismatchError(sessionId, reply.cwd);
    case STATUS.noMessage:
      return new MessageNotFoundError(field!, messageId!);
    case STATUS.idTaken:
      return new SessionExistsError(sessionId);
    default:
      return new SessionNotFoundError(sessionId);
  }
}
