import type { RequestContext } from "../rpc/connection.js";
import type { SessionRecord, SessionStore } from "../store/types.js";
import { Notification } from "./methods.js";
import type { Message } from "./schemas.js";

const SLICE = 256;

/**
 * Streams a session's context as ACP `session/update` notifications, a slice at a time, waiting for
 * the output to drain between slices: a 100,000-message replay never sits in memory whole.
 */
export async function replay(store: SessionStore, session: SessionRecord, ctx: RequestContext): Promise<void> {
  for (let from = 0; from < session.messageCount; from += SLICE) {
    const slice = await store.readMessages(session.sessionId, from, Math.min(SLICE, session.messageCount - from));
    if (slice.length === 0) return;
    for (const json of slice) {
      const message = JSON.parse(json.toString("utf8")) as Message;
      for (const update of replayUpdates(message)) ctx.notify(Notification.sessionUpdate, { sessionId: session.sessionId, update });
    }
    await ctx.drained();
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
