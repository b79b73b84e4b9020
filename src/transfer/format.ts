/**
 * The JSON Lines export: a first line naming the format, then one line per session, `{"session": …}`,
 * holding the session exactly as session/get answers it, its context last.
 */
export const EXPORT_FORMAT = "acp-sessions-export";
export const EXPORT_VERSION = 1;
export const EXPORT_HEADER = JSON.stringify({ format: EXPORT_FORMAT, version: EXPORT_VERSION });

/** A session line up to its first message, from the session's fields in session/get's order (no context). */
export function sessionLineStart(head: Record<string, unknown>): string {
  return `{"session":${JSON.stringify(head).slice(0, -1)},"context":[`;
}

export const SESSION_LINE_END = "]}}\n";
