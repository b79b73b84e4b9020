import { RawJson } from "../rpc/encode.js";
import type { Piece } from "../transport/frame-writer.js";
import type { SessionRecord, StoredMessage } from "../store/types.js";
import type { MessageInput, SessionInfo } from "./schemas.js";

const isoCache = new Array<[number, string] | undefined>(256);

/** ISO 8601 with milliseconds; memoized, since a burst of requests shares the same few milliseconds. */
export function iso(ms: number): string {
  const slot = ms & 255;
  const hit = isoCache[slot];
  if (hit && hit[0] === ms) return hit[1];
  const text = new Date(ms).toISOString();
  isoCache[slot] = [ms, text];
  return text;
}

/** Encodes a message once, when it is stored; reads then copy these bytes as they are. */
export function storedMessage(input: MessageInput, messageId: string, now: number): StoredMessage {
  const timestamp = input.timestamp === undefined ? iso(now) : new Date(input.timestamp).toISOString();
  const json = JSON.stringify({ messageId, role: input.role, content: input.content, timestamp });
  return { messageId, role: input.role, json };
}

/** The largest window whose whole answer is kept for reads that repeat it. */
const MAX_KEPT_WINDOW_BYTES = 16 * 1024;

/** What is kept of one session: the part that changes only with its revision, and its last window read. */
interface Kept {
  revision: number;
  createdAt: number;
  /** `{"session":{` and every field but lastAccessed and the window, with a trailing comma. */
  head: string;
  /** The stored messages of the last window read, as the store gave them, where it starts, and its lastAccessed. */
  window: readonly Buffer[] | undefined;
  contextStart: number;
  lastAccessed: number;
  /** The whole result of that read (one buffer), once the same read has come again. */
  result: RawJson | undefined;
  resultBytes: number;
  /** Bytes counted against the encoder's budget: the window's and the result's. */
  bytes: number;
}

/**
 * Encodes `{"session":{...,"context":[...]}}` with the messages copied in as stored bytes. Everything
 * but lastAccessed and the window (contextStart, context) changes only with the revision, so that part
 * is encoded once per revision and kept for the most recently read sessions. A small window read again
 * at the same lastAccessed (the same stored messages, which the stores hand out as the same buffers),
 * as a pipelined burst reads it, is joined into one buffer once and answered with it, instead of a
 * piece per message each time.
 */
export class SessionEncoder {
  private readonly kept = new Map<string, Kept>();
  private keptBytes = 0;

  /**
   * `capacity`: sessions kept; `budget`: bytes of windows and whole answers kept across them all, the
   * most that repeated reads hold besides the heads.
   */
  constructor(
    private readonly defaultMaxIdleMs: number,
    private readonly capacity = 4096,
    private readonly budget = 4 * 1024 * 1024,
  ) {}

  /** Drops what is kept of a session: it was closed, removed or expired. */
  forget(sessionId: string): void {
    const kept = this.kept.get(sessionId);
    if (kept === undefined) return;
    this.keptBytes -= kept.bytes;
    this.kept.delete(sessionId);
  }

  /** `contextStart`: the index in the session of the first of `messages` (SessionSnapshot.start). */
  result(session: SessionRecord, messages: readonly Buffer[], contextStart: number): RawJson {
    const kept = this.keep(session);
    const lastAccessed = session.lastAccessed;
    if (kept.window !== undefined && kept.contextStart === contextStart && sameBuffers(kept.window, messages)) {
      if (kept.lastAccessed === lastAccessed) {
        if (kept.result === undefined) this.keepResult(kept);
        if (kept.result !== undefined) return kept.result;
      } else {
        this.dropResult(kept);
        kept.lastAccessed = lastAccessed;
      }
    } else {
      this.keepWindow(kept, messages, contextStart, lastAccessed);
    }
    const pieces: Piece[] = [windowHead(kept.head, lastAccessed, contextStart)];
    for (let i = 0; i < messages.length; i++) {
      if (i > 0) pieces.push(",");
      pieces.push(messages[i]!);
    }
    pieces.push(WINDOW_END);
    return new RawJson(pieces);
  }

  private keep(session: SessionRecord): Kept {
    const cached = this.kept.get(session.sessionId);
    if (cached && cached.revision === session.revision && cached.createdAt === session.createdAt) return cached;
    const fields = JSON.stringify({
      sessionId: session.sessionId,
      cwd: session.cwd,
      title: session.title,
      createdAt: iso(session.createdAt),
      clientCapabilities: session.clientCapabilities ?? null,
      mcpServers: session.mcpServers,
      additionalDirectories: session.additionalDirectories,
      messageCount: session.messageCount,
      revision: session.revision,
      archived: session.archived,
      retention: { maxIdleMs: session.retention.maxIdleMs ?? this.defaultMaxIdleMs, pinned: session.retention.pinned },
      parentSessionId: session.parentSessionId,
      forkedAtMessageId: session.forkedAtMessageId,
    });
    this.forget(session.sessionId);
    if (this.kept.size >= this.capacity) this.forget(this.kept.keys().next().value!);
    const kept: Kept = {
      revision: session.revision,
      createdAt: session.createdAt,
      head: `{"session":${fields.slice(0, -1)},`,
      window: undefined,
      contextStart: 0,
      lastAccessed: 0,
      result: undefined,
      resultBytes: 0,
      bytes: 0,
    };
    this.kept.set(session.sessionId, kept);
    return kept;
  }

  /** Remembers the window just read, when it is small and the budget has room, to know a repeat of it. */
  private keepWindow(kept: Kept, messages: readonly Buffer[], contextStart: number, lastAccessed: number): void {
    this.keptBytes -= kept.bytes;
    kept.window = kept.result = undefined;
    kept.resultBytes = kept.bytes = 0;
    let bytes = 0;
    for (let i = 0; i < messages.length && bytes <= MAX_KEPT_WINDOW_BYTES; i++) bytes += messages[i]!.length;
    if (bytes > MAX_KEPT_WINDOW_BYTES || this.keptBytes + bytes > this.budget) return;
    // A copy of the list, compared by identity of its buffers: stores never write into bytes they handed out.
    kept.window = messages.slice();
    kept.contextStart = contextStart;
    kept.lastAccessed = lastAccessed;
    kept.bytes = bytes;
    this.keptBytes += bytes;
  }

  /** Joins the kept read's whole result; keeps nothing of the window when the budget has no room. */
  private keepResult(kept: Kept): void {
    const messages = kept.window!;
    const head = windowHead(kept.head, kept.lastAccessed, kept.contextStart);
    let length = Buffer.byteLength(head) + Math.max(0, messages.length - 1) + WINDOW_END.length;
    for (const message of messages) length += message.length;
    if (this.keptBytes + length > this.budget) {
      this.keptBytes -= kept.bytes;
      kept.window = undefined;
      kept.bytes = 0;
      return;
    }
    const result = Buffer.allocUnsafeSlow(length);
    let at = result.write(head, 0);
    for (let i = 0; i < messages.length; i++) {
      if (i > 0) result[at++] = COMMA;
      result.set(messages[i]!, at);
      at += messages[i]!.length;
    }
    result.write(WINDOW_END, at, "latin1");
    kept.result = new RawJson([result]);
    kept.resultBytes = length;
    kept.bytes += length;
    this.keptBytes += length;
  }

  private dropResult(kept: Kept): void {
    kept.bytes -= kept.resultBytes;
    this.keptBytes -= kept.resultBytes;
    kept.result = undefined;
    kept.resultBytes = 0;
  }
}

const WINDOW_END = "]}}";
const COMMA = 0x2c;

/** The kept head, then lastAccessed and contextStart, up to the context array's opening bracket. */
function windowHead(head: string, lastAccessed: number, contextStart: number): string {
  return `${head}"lastAccessed":"${iso(lastAccessed)}","contextStart":${contextStart},"context":[`;
}

/** Whether two windows hold the very same stored buffers, in the same order. */
function sameBuffers(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function sessionInfo(session: SessionRecord): SessionInfo {
  return {
    sessionId: session.sessionId,
    cwd: session.cwd,
    title: session.title,
    createdAt: iso(session.createdAt),
    updatedAt: iso(session.lastAccessed),
    messageCount: session.messageCount,
    revision: session.revision,
    additionalDirectories: session.additionalDirectories,
    archived: session.archived,
    parentSessionId: session.parentSessionId,
    pinned: session.retention.pinned,
  };
}
