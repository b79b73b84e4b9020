import type { Message, Session } from "../protocol/schemas.js";
import { summariseBlock } from "./format.js";

/** A session without its context: what the first page of its export says of it. */
export type SessionHead = Omit<Session, "context">;

const ROLE_NAMES = { user: "User", assistant: "Assistant", system: "System" } as const;

/** A transcript's start: the title as a heading, then the session's place, times and origin. */
export function markdownHeader(session: SessionHead): string {
  const lines = [
    `# ${oneLine(session.title ?? "Untitled session")}`,
    "",
    `- Session: \`${session.sessionId}\``,
    `- Directory: \`${session.cwd}\``,
    `- Created: ${session.createdAt}`,
    `- Last access: ${session.lastAccessed}`,
    `- Messages: ${session.messageCount}`,
  ];
  if (session.parentSessionId) {
    const at = session.forkedAtMessageId ? `message \`${session.forkedAtMessageId}\`` : "its start";
    lines.push(`- Forked from \`${session.parentSessionId}\` at ${at}`);
  }
  if (session.archived) lines.push("- Archived");
  return lines.join("\n") + "\n";
}

/** One message under its role and time: text as it is, other blocks summarised as `show` does. */
export function markdownMessage(message: Message): string {
  const blocks = typeof message.content === "string" ? [message.content] : message.content.map(summariseBlock);
  return `\n## ${ROLE_NAMES[message.role]} · ${message.timestamp}\n\n${blocks.join("\n\n")}\n`;
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ");
