import type { Message, Session, SessionChanged, SessionInfo } from "../protocol/schemas.js";

/** `ls`: one row per session, columns aligned, message counts right-aligned. */
export function formatSessionTable(sessions: SessionInfo[], now: number): string {
  if (sessions.length === 0) return "no sessions";
  const header = ["ID", "CWD", "TITLE", "MESSAGES", "LAST ACCESS"];
  const rows = sessions.map((s) => [
    s.sessionId,
    s.cwd,
    [s.title, s.archived ? "(archived)" : ""].filter(Boolean).join(" "),
    String(s.messageCount),
    relativeTime(Date.parse(s.updatedAt), now),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const MESSAGES = 3;
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => (i === MESSAGES ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** "just now", "42s ago", "5m ago", "3h ago", "2d ago". */
export function relativeTime(then: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 5) return "just now";
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (seconds >= size) return `${Math.floor(seconds / size)}${unit} ago`;
  }
  return `${seconds}s ago`;
}

/** `show`: a header about the session (and which messages, when not all), then each message. */
export function formatConversation(session: Session): string {
  const lines = [
    `session ${session.sessionId}${session.title ? ` — ${session.title}` : ""}`,
    `cwd ${session.cwd} · ${session.messageCount} messages · revision ${session.revision}${session.archived ? " · archived" : ""}`,
    `created ${session.createdAt} · last access ${session.lastAccessed}`,
  ];
  if (session.parentSessionId) lines.push(`forked from ${session.parentSessionId} at ${session.forkedAtMessageId ?? "its start"}`);
  const shown = session.context.length;
  if (shown < session.messageCount) {
    const first = session.contextStart + 1;
    lines.push(shown === 0 ? "showing none of its messages" : `showing messages ${first}–${first + shown - 1} of ${session.messageCount}`);
  }
  lines.push("");
  for (const message of session.context) lines.push(formatMessage(message));
  return lines.join("\n");
}

/** `[timestamp] role: text`, each further content block on its own indented line. */
export function formatMessage(message: Message): string {
  const blocks = typeof message.content === "string" ? [message.content] : message.content.map(summariseBlock);
  return `[${message.timestamp}] ${message.role}: ${blocks.join("\n  ")}`;
}

/** Text as it is; anything else as a bracketed summary, never its data. */
export function summariseBlock(block: unknown): string {
  const b = block as { type: string; text?: string; mimeType?: string; uri?: string; name?: string; resource?: { uri?: string } };
  switch (b.type) {
    case "text":
      return b.text ?? "";
    case "image":
    case "audio":
      return b.mimeType ? `[${b.type} ${b.mimeType}]` : `[${b.type}]`;
    case "resource_link":
      return `[link ${b.name ?? ""} ${b.uri ?? ""}]`;
    case "resource":
      return `[resource ${b.resource?.uri ?? ""}]`;
    default:
      return `[${b.type}]`;
  }
}

/**
 * `watch`: a change as lines to print, one per appended message (as `show` prints it, on one line)
 * and one for any other change.
 */
export function formatChange({ revision, messageCount, change }: SessionChanged): string[] {
  const count = `${messageCount} message${messageCount === 1 ? "" : "s"}`;
  switch (change.type) {
    case "appended":
      return change.messages.map((message) => formatMessage(message).replace(/\s*\n\s*/g, " ⏎ "));
    case "updated":
      return [`-- updated (revision ${revision}): title ${JSON.stringify(change.session.title)}, ${count}`];
    case "truncated":
      return [`-- truncated (revision ${revision}): ${change.removed} removed, ${count} left`];
    case "archived":
    case "unarchived":
      return [`-- ${change.type} (revision ${revision})`];
    case "removed":
      return [`-- removed`];
    case "expired":
      return [`-- expired (${change.action === "delete" ? "deleted" : "archived"})`];
    case "lagged":
      return [`-- missed some changes: now at revision ${revision}, ${count} (acp-sessions show reads it whole)`];
  }
}
