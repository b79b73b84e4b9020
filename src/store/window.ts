import { MessageNotFoundError } from "./errors.js";
import type { ContextWindow } from "./types.js";

/** The messages a window selects: indexes [start, start + count) of the session. */
export interface WindowRange {
  start: number;
  count: number;
}

/**
 * Where `window` lies in a session of `total` messages, given `anchor`, the index of the message it
 * names (afterMessageId or beforeMessageId; ignored when it names none). A window placed by its start
 * (offset, afterMessageId) takes at most `limit` from there on; one placed by its end (tail, or
 * beforeMessageId) at most `tail` and at most `limit` back from there. An empty window starts where
 * it would have, never past `total`. lua/window.lua does the same arithmetic for the Redis store.
 */
export function windowRange(window: ContextWindow, total: number, anchor: number): WindowRange {
  const { offset, limit, afterMessageId, tail, beforeMessageId } = window;
  if (tail !== undefined || beforeMessageId !== undefined) {
    const end = beforeMessageId !== undefined ? anchor : total;
    const size = Math.min(end, tail ?? end, limit ?? end);
    return { start: end - size, count: size };
  }
  const start = Math.min(total, afterMessageId !== undefined ? anchor + 1 : (offset ?? 0));
  return { start, count: Math.min(total - start, limit ?? total) };
}

/**
 * windowRange for a store that finds a message's index with `indexOf` (-1 when the session does not
 * show it). Throws MessageNotFoundError naming the field when the window names a message it lacks.
 */
export function resolveWindow(window: ContextWindow, total: number, indexOf: (messageId: string) => number): WindowRange {
  const field = anchorField(window);
  if (field === undefined) return windowRange(window, total, -1);
  const messageId = window[field]!;
  const anchor = indexOf(messageId);
  if (anchor < 0) throw new MessageNotFoundError(field, messageId);
  return windowRange(window, total, anchor);
}

/** The field naming the message a window is placed by, for the store error when the session lacks it. */
export function anchorField(window: ContextWindow): "afterMessageId" | "beforeMessageId" | undefined {
  return window.beforeMessageId !== undefined ? "beforeMessageId" : window.afterMessageId !== undefined ? "afterMessageId" : undefined;
}
