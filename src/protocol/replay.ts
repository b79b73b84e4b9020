import type { RequestContext } from "../rpc/connection.js";
import type { SessionRecord, SessionStore } from "../store/types.js";
import { Notification } from "./methods.js";
import type { Message } from "./schemas.js";

/** Messages read at once, at most. */
const SLICE_MESSAGES = 256;
/** Bytes of stored messages read at once, about: a slice of large messages is a few of them. */
const SLICE_BYTES = 1024 * 1024;

/**
 * Streams a session's context from index `start` on as ACP `session/update` notifications, a slice
 * at a time, waiting for the output to drain between slices: a 100,000-message replay never sits in
 * memory whole, and a replay of its tail reads only the tail. Message sizes are known only once read,
 * so the first slice is one message and each next one is sized from the last (growing at most fourfold).
 */
export async function replay(store: SessionStore, session: SessionRecord, ctx: RequestContext, start = 0): Promise<void> {
  let count = 1;
  for (let from = start; from < session.messageCount;) {
    const slice = await store.readMessages(session.sessionId, from, Math.min(count, session.messageCount - from));
    if (slice.length === 0) return;
    let bytes = 0;
    for (const json of slice) {
      bytes += json.length;
      const message = JSON.parse(json.toString("utf8")) as Message;
      for (const update of replayUpdates(message)) ctx.notify(Notification.sessionUpdate, { sessionId: session.sessionId, update });
    }
    await ctx.drained();
    from += slice.length;
    count = Math.max(1, Math.min(SLICE_MESSAGES, count * 4, Math.floor((slice.length * SLICE_BYTES) / Math.max(bytes, 1))));
  }
}

/**
 * ACP has user and agent message chunks only: a system message replays as an agent chunk marked
 * `_meta.role: "system"`. A message of several content blocks becomes one chunk per block, all
 * carrying the message's id.
 */
export function replayUpdates(message: Message): object[] {
  const sessionUpdate = message.role === "user" ? "user_message_chunk" : "agent_message_chunk";
  const meta = message.role === "system" ? { _meta: { role: "system" } } : undefined;
  const blocks = typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content;
  return blocks.map((content) => ({ sessionUpdate, messageId: message.messageId, content, ...meta }));
}
