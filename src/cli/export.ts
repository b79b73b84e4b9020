import { ErrorCode, SessionClientError, type SessionClient } from "../client/index.js";
import type { Message } from "../protocol/schemas.js";
import { EXPORT_HEADER, SESSION_LINE_END, sessionLineStart } from "../transfer/format.js";
import { markdownHeader, markdownMessage, type SessionHead } from "./markdown.js";
import type { Output } from "./output.js";

/** Where an export is written: a file or stdout for the CLI, a download for the inspector. */
export type ExportOutput = Pick<Output, "closed" | "write">;

export type ExportFormat = "jsonl" | "markdown";

export interface ExportResult {
  exported: number;
  /** Sessions that were removed or expired between the listing and their export. */
  gone: string[];
  /** Sessions whose messages changed under a paged export: their line or transcript is incomplete. */
  cut: string[];
}

/** The first page of a session, in messages; later ones are sized from the bytes of those read. */
const FIRST_PAGE = 16;
const MOST_PAGE = 1000;
/** About how many bytes of messages a page asks for. */
const PAGE_BYTES = 2 * 1024 * 1024;

/** How one format writes a session: its start, its messages as they come, its end. */
interface Transcript {
  start(head: SessionHead): string;
  messages(messages: Message[], first: boolean): string;
  end(): string;
  /** Ends a session cut short so that what follows still reads (an import skips the broken line). */
  cut(): string;
}

const JSONL: Transcript = {
  start: sessionLineStart,
  messages: (messages, first) => (messages.length === 0 ? "" : (first ? "" : ",") + messages.map((m) => JSON.stringify(m)).join(",")),
  end: () => SESSION_LINE_END,
  cut: () => "\n",
};

const MARKDOWN: Transcript = {
  start: markdownHeader,
  messages: (messages) => messages.map(markdownMessage).join(""),
  end: () => "\n",
  cut: () => "\n> The export of this session was cut short: its messages changed meanwhile.\n\n",
};

/**
 * Writes sessions through a sidecar with session/export, which is not an access: every session when
 * none is named (archived ones too), oldest first and each parent before its forks, so that an import
 * can share a fork's history with its parent. A session is read a page at a time (each page after the
 * last message read), so memory holds one page whatever the session's length; the line holds the
 * session as its first page found it, and messages appended meanwhile are left for the next export.
 */
export async function exportSessions(
  client: SessionClient,
  format: ExportFormat,
  sessionIds: string[],
  output: ExportOutput,
): Promise<ExportResult> {
  const transcript = format === "markdown" ? MARKDOWN : JSONL;
  const order = sessionIds.length > 0 ? await named(client, sessionIds) : await everySession(client);
  const result: ExportResult = { exported: 0, gone: [], cut: [] };
  if (format === "jsonl") await output.write(EXPORT_HEADER + "\n");
  for (const sessionId of order) {
    if (output.closed) break;
    const outcome = await exportOne(client, sessionId, transcript, output);
    if (outcome === "exported") result.exported++;
    else result[outcome].push(sessionId);
  }
  return result;
}

interface Lineage {
  sessionId: string;
  parentSessionId: string | null;
}

/** Every session, in the order the store created them, parents first. */
async function everySession(client: SessionClient): Promise<string[]> {
  const newestFirst: Lineage[] = [];
  for await (const { sessionId, parentSessionId } of client.listAll({ archived: "include", limit: 1000 })) {
    newestFirst.push({ sessionId, parentSessionId });
  }
  return parentsFirst(newestFirst.reverse());
}

/** The named sessions, oldest first, parents first; an unknown one fails before anything is written. */
async function named(client: SessionClient, sessionIds: string[]): Promise<string[]> {
  const heads: SessionHead[] = [];
  for (const sessionId of new Set(sessionIds)) heads.push((await client.exportSession({ sessionId, limit: 0 })).session);
  heads.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  return parentsFirst(heads);
}

/** The sessions in the order given, but each parent among them moved before its forks. */
function parentsFirst(sessions: Lineage[]): string[] {
  const byId = new Map(sessions.map((s) => [s.sessionId, s]));
  const placed = new Set<string>();
  const order: string[] = [];
  const place = (session: Lineage) => {
    if (placed.has(session.sessionId)) return;
    placed.add(session.sessionId);
    const parent = session.parentSessionId === null ? undefined : byId.get(session.parentSessionId);
    if (parent) place(parent);
    order.push(session.sessionId);
  };
  for (const session of sessions) place(session);
  return order;
}

async function exportOne(
  client: SessionClient,
  sessionId: string,
  transcript: Transcript,
  output: ExportOutput,
): Promise<"exported" | "gone" | "cut"> {
  let page: Message[];
  let head: SessionHead;
  try {
    ({ context: page, ...head } = (await client.exportSession({ sessionId, limit: FIRST_PAGE })).session);
  } catch (err) {
    if (isError(err, ErrorCode.SessionNotFound)) return "gone";
    throw err;
  }
  let text = transcript.messages(page, true);
  await output.write(transcript.start(head) + text);
  let read = page.length;
  let limit = FIRST_PAGE;
  while (read < head.messageCount) {
    if (output.closed) return "exported";
    // The page before ended where this one starts: later pages follow it even if older messages are trimmed.
    const after = page[page.length - 1]?.messageId;
    limit = Math.max(1, Math.min(MOST_PAGE, limit * 4, Math.floor((page.length * PAGE_BYTES) / Math.max(text.length, 1))));
    try {
      const window = { sessionId, afterMessageId: after, limit: Math.min(limit, head.messageCount - read) };
      page = after === undefined ? [] : (await client.exportSession(window)).session.context;
    } catch (err) {
      if (!isError(err, ErrorCode.SessionNotFound) && !isError(err, ErrorCode.InvalidParams)) throw err;
      page = [];
    }
    if (page.length === 0) {
      // Removed, or its messages were trimmed or truncated past the page before.
      await output.write(transcript.cut());
      return "cut";
    }
    text = transcript.messages(page, false);
    await output.write(text);
    read += page.length;
  }
  await output.write(transcript.end());
  return "exported";
}

const isError = (err: unknown, code: number) => err instanceof SessionClientError && err.code === code;
