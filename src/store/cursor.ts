import { InvalidCursorError } from "./errors.js";

/** List cursors are opaque to clients: a position in the store's own order, base64url-encoded. */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

export function decodeCursor(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

/** The creation sequence a page starts below: none given means from the newest. */
export function sequenceBelow(cursor: string | undefined, newest: number): number {
  if (cursor === undefined) return newest;
  const position = decodeCursor(cursor);
  if (typeof position !== "number" || !Number.isSafeInteger(position)) throw new InvalidCursorError(cursor);
  return position;
}
