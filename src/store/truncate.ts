import { MessageNotFoundError } from "./errors.js";
import type { TruncateRequest } from "./types.js";

/** Where a truncate cuts, as every store reads it. */
export interface Cut {
  field: "afterMessageId" | "fromMessageId";
  /** null: before the first message (afterMessageId null drops them all). */
  messageId: string | null;
  /** 1 when the named message stays (afterMessageId), 0 when it goes too (fromMessageId). */
  keeps: 0 | 1;
}

export function cutOf({ afterMessageId, fromMessageId }: TruncateRequest): Cut {
  if ((afterMessageId === undefined) === (fromMessageId === undefined)) {
    throw new TypeError("a truncate names exactly one of afterMessageId and fromMessageId");
  }
  return fromMessageId !== undefined
    ? { field: "fromMessageId", messageId: fromMessageId, keeps: 0 }
    : { field: "afterMessageId", messageId: afterMessageId!, keeps: 1 };
}

/**
 * How many of the session's messages a truncate keeps. `indexOf` gives a visible message's index, or -1
 * (never held, or trimmed away): that throws MessageNotFoundError naming the field.
 */
export function keptCount(request: TruncateRequest, indexOf: (messageId: string) => number): number {
  const cut = cutOf(request);
  if (cut.messageId === null) return 0;
  const index = indexOf(cut.messageId);
  if (index < 0) throw new MessageNotFoundError(cut.field, cut.messageId);
  return index + cut.keeps;
}
