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

/**
 * Encodes `{"session":{...,"context":[...]}}` with the messages copied in as stored bytes. Everything
 * but lastAccessed and the window (contextStart, context) changes only with the revision, so that part
 * is encoded once per revision and kept for the most recently read sessions.
 */
export class SessionEncoder {
  private readonly heads = new Map<string, { revision: number; createdAt: number; json: string }>();

  constructor(
    private readonly defaultMaxIdleMs: number,
    private readonly capacity = 4096,
  ) {}

  /** Drops what is kept of a session: it was closed, removed or expired. */
  forget(sessionId: string): void {
    this.heads.delete(sessionId);
  }

  /** `contextStart`: the index in the session of the first of `messages` (SessionSnapshot.start). */
  result(session: SessionRecord, messages: readonly Buffer[], contextStart: number): RawJson {
    const pieces: Piece[] = [
      this.head(session),
      `"lastAccessed":"${iso(session.lastAccessed)}","contextStart":${contextStart},"context":[`,
    ];
    for (let i = 0; i < messages.length; i++) {
      if (i > 0) pieces.push(",");
      pieces.push(messages[i]!);
    }
    pieces.push("]}}");
    return new RawJson(pieces);
  }

  private head(session: SessionRecord): string {
    const cached = this.heads.get(session.sessionId);
    if (cached && cached.revision === session.revision && cached.createdAt === session.createdAt) return cached.json;
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
    const json = `{"session":${fields.slice(0, -1)},`;
    this.heads.delete(session.sessionId);
    if (this.heads.size >= this.capacity) this.heads.delete(this.heads.keys().next().value!);
    this.heads.set(session.sessionId, { revision: session.revision, createdAt: session.createdAt, json });
    return json;
  }
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
