import { describe, expect, it } from "vitest";
import { formatChange, formatConversation, formatMessage, formatSessionTable, relativeTime } from "../../src/cli/format.js";
import type { Session, SessionChanged, SessionInfo } from "../../src/client/index.js";

const info = (over: Partial<SessionInfo>): SessionInfo => ({
  sessionId: "a",
  cwd: "/x",
  title: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:00.000Z",
  messageCount: 0,
  revision: 1,
  additionalDirectories: [],
  archived: false,
  parentSessionId: null,
  pinned: false,
  ...over,
});

describe("ls table", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");

  it("aligns the columns, right-aligns message counts and marks archived sessions", () => {
    const table = formatSessionTable(
      [
        info({ sessionId: "a", cwd: "/x", title: "one", updatedAt: "2026-01-01T11:55:00Z", messageCount: 3 }),
        info({ sessionId: "bb", cwd: "/yy", updatedAt: "2025-12-30T12:00:00Z", messageCount: 12, archived: true }),
      ],
      now,
    );
    expect(table.split("\n")).toEqual([
      "ID  CWD  TITLE       MESSAGES  LAST ACCESS",
      "a   /x   one                3  5m ago",
      "bb  /yy  (archived)        12  2d ago",
    ]);
  });

  it("says so when there is nothing to list", () => {
    expect(formatSessionTable([], now)).toBe("no sessions");
  });

  it("writes the last access as a relative time", () => {
    const ago = (ms: number) => relativeTime(now - ms, now);
    expect([0, 4000, 30_000, 59_000, 60_000, 7_200_000, 86_400_000 * 3].map(ago)).toEqual([
      "just now",
      "just now",
      "30s ago",
      "59s ago",
      "1m ago",
      "2h ago",
      "3d ago",
    ]);
    // A clock slightly behind the store's is not "in the future".
    expect(relativeTime(now + 2000, now)).toBe("just now");
  });
});

describe("show", () => {
  it("summarises content blocks without their data", () => {
    const line = formatMessage({
      messageId: "m",
      role: "user",
      timestamp: "2026-01-01T00:00:00.000Z",
      content: [
        { type: "text", text: "look" },
        { type: "image", data: "AAAA", mimeType: "image/png" },
        { type: "audio", data: "AAAA", mimeType: "audio/wav" },
        { type: "resource_link", name: "a.ts", uri: "file:///a.ts" },
        { type: "resource", resource: { uri: "file:///b.ts", text: "secret" } },
      ],
    });
    expect(line).toBe(
      "[2026-01-01T00:00:00.000Z] user: look\n  [image image/png]\n  [audio audio/wav]\n  [link a.ts file:///a.ts]\n  [resource file:///b.ts]",
    );
  });

  it("prints a header, then role, timestamp and text of each message", () => {
    const session: Session = {
      sessionId: "s",
      cwd: "/p",
      title: "t",
      createdAt: "2026-01-01T00:00:00.000Z",
      lastAccessed: "2026-01-01T00:01:00.000Z",
      clientCapabilities: null,
      mcpServers: [],
      additionalDirectories: [],
      messageCount: 2,
      revision: 3,
      archived: true,
      retention: { maxIdleMs: 3_600_000, pinned: false },
      parentSessionId: "p",
      forkedAtMessageId: "m0",
      contextStart: 0,
      context: [
        { messageId: "m1", role: "system", content: "be brief", timestamp: "2026-01-01T00:00:01.000Z" },
        { messageId: "m2", role: "assistant", content: [{ type: "text", text: "ok" }], timestamp: "2026-01-01T00:00:02.000Z" },
      ],
    };
    expect(formatConversation(session)).toBe(
      [
        "session s — t",
        "cwd /p · 2 messages · revision 3 · archived",
        "created 2026-01-01T00:00:00.000Z · last access 2026-01-01T00:01:00.000Z",
        "forked from p at m0",
        "",
        "[2026-01-01T00:00:01.000Z] system: be brief",
        "[2026-01-01T00:00:02.000Z] assistant: ok",
      ].join("\n"),
    );
  });

  it("says which messages it shows when they are not all of them (--tail)", () => {
    const session: Session = {
      sessionId: "s",
      cwd: "/p",
      title: null,
      createdAt: "2026-01-01T00:00:00.000Z",
      lastAccessed: "2026-01-01T00:01:00.000Z",
      clientCapabilities: null,
      mcpServers: [],
      additionalDirectories: [],
      messageCount: 40,
      revision: 41,
      archived: false,
      retention: { maxIdleMs: 3_600_000, pinned: false },
      parentSessionId: null,
      forkedAtMessageId: null,
      contextStart: 38,
      context: [
        { messageId: "m39", role: "user", content: "again?", timestamp: "2026-01-01T00:00:39.000Z" },
        { messageId: "m40", role: "assistant", content: "yes", timestamp: "2026-01-01T00:00:40.000Z" },
      ],
    };
    expect(formatConversation(session).split("\n")).toEqual([
      "session s",
      "cwd /p · 40 messages · revision 41",
      "created 2026-01-01T00:00:00.000Z · last access 2026-01-01T00:01:00.000Z",
      "showing messages 39–40 of 40",
      "",
      "[2026-01-01T00:00:39.000Z] user: again?",
      "[2026-01-01T00:00:40.000Z] assistant: yes",
    ]);
    expect(formatConversation({ ...session, contextStart: 40, context: [] }).split("\n")[3]).toBe("showing none of its messages");
  });
});

describe("watch lines", () => {
  const changed = (change: SessionChanged["change"], revision = 3, messageCount = 2): SessionChanged => ({
    sessionId: "s",
    revision,
    messageCount,
    change,
  });

  it("prints each appended message on a line of its own, and one line for any other change", () => {
    const messages = [
      { messageId: "a", role: "user" as const, content: "two\nlines", timestamp: "2026-01-01T00:00:00.000Z" },
      {
        messageId: "b",
        role: "assistant" as const,
        content: [{ type: "text" as const, text: "hi" }],
        timestamp: "2026-01-01T00:00:01.000Z",
      },
    ];
    expect(formatChange(changed({ type: "appended", messages }))).toEqual([
      "[2026-01-01T00:00:00.000Z] user: two ⏎ lines",
      "[2026-01-01T00:00:01.000Z] assistant: hi",
    ]);
    expect(formatChange(changed({ type: "updated", session: info({ title: "t" }) }))).toEqual([
      '-- updated (revision 3): title "t", 2 messages',
    ]);
    expect(formatChange(changed({ type: "archived" }))).toEqual(["-- archived (revision 3)"]);
    expect(formatChange(changed({ type: "truncated", removed: 4 }, 3, 1))).toEqual([
      "-- truncated (revision 3): 4 removed, 1 message left",
    ]);
    expect(formatChange(changed({ type: "expired", action: "delete" }))).toEqual(["-- expired (deleted)"]);
    expect(formatChange(changed({ type: "removed" }))).toEqual(["-- removed"]);
    expect(formatChange(changed({ type: "lagged", revision: 3, messageCount: 2 }))).toEqual([
      "-- missed some changes: now at revision 3, 2 messages (acp-sessions show reads it whole)",
    ]);
  });
});
