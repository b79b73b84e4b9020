import { RawJson } from "../rpc/encode.js";
import type { Piece } from "../transport/frame-writer.js";
import type { SessionRecord, StoredMessage, Role } from "../store/types.js";
import type { MessageInput, SessionInfo } from "./schemas.js";

export const iso = (ms: number): string => new Date(ms).toISOString();

/** Encodes a message once, when it is stored; reads then copy these bytes as they are. */
export function storedMessage(input: MessageInput, messageId: string, now: number): StoredMessage {
  const timestamp = input.timestamp === undefined ? iso(now) : new Date(input.timestamp).toISOString();
  const json = JSON.stringify({ messageId, role: input.role, content: input.content, timestamp });
  return { messageId, role: input.role as Role, json: ownBytes(json) };
}

/**
 * Bytes in an allocation of their own. Buffer.from puts small strings in shared 8 KiB slabs, and one
 * long-lived message would keep its whole slab alive after every neighbour is deleted.
 */
function ownBytes(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  bytes.write(text);
  return bytes;
}

/** `{"session":{...,"context":[...]}}` with the messages copied in as stored bytes. */
export function sessionResult(session: SessionRecord, messages: readonly Buffer[], defaultMaxIdleMs: number): RawJson {
  const head = JSON.stringify({
    sessionId: session.sessionId,
    cwd: session.cwd,
    title: session.title,
    createdAt: iso(session.createdAt),
    lastAccessed: iso(session.lastAccessed),
    clientCapabilities: session.clientCapabilities ?? null,
    mcpServers: session.mcpServers,
    additionalDirectories: session.additionalDirectories,
    messageCount: session.messageCount,
    revision: session.revision,
    archived: session.archived,
    retention: { maxIdleMs: session.retention.maxIdleMs ?? defaultMaxIdleMs, pinned: session.retention.pinned },
    parentSessionId: session.parentSessionId,
    forkedAtMessageId: session.forkedAtMessageId,
  });
  const pieces: Piece[] = [`{"session":${head.slice(0, -1)},"context":[`];
  for (let i = 0; i < messages.length; i++) {
    if (i > 0) pieces.push(",");
    pieces.push(messages[i]!);
  }
  pieces.push("]}}");
  return new RawJson(pieces);
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
  };
}
