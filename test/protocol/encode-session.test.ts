import { describe, expect, it } from "vitest";
import { SessionEncoder } from "../../src/protocol/encode-session.js";
import type { RawJson } from "../../src/rpc/encode.js";
import { DEFAULT_RETENTION, type SessionRecord } from "../../src/store/types.js";

const T0 = Date.UTC(2026, 0, 1);

function record(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    sessionId: "s1",
    cwd: "/w/ünïcode",
    title: "a title ☃",
    createdAt: T0,
    lastAccessed: T0,
    clientCapabilities: { fs: { readTextFile: true } },
    mcpServers: [],
    additionalDirectories: [],
    messageCount: 3,
    revision: 1,
    archived: false,
    retention: DEFAULT_RETENTION,
    parentSessionId: null,
    forkedAtMessageId: null,
    ...overrides,
  };
}

const stored = (text: string) => Buffer.from(JSON.stringify({ messageId: text, role: "user", content: text }));
const text = (json: RawJson) => Buffer.concat(json.pieces.map((p) => (typeof p === "string" ? Buffer.from(p) : p))).toString();
/** What a fresh encoder, which has kept nothing, answers. */
const fresh = (session: SessionRecord, messages: Buffer[], start: number) =>
  text(new SessionEncoder(60_000).result(session, messages, start));

describe("SessionEncoder: a repeated read answers the same bytes", () => {
  const window = [stored("m1"), stored("m2 ✓"), stored("m3")];

  it("joins a window read again into one buffer, identical to the pieces", () => {
    const encoder = new SessionEncoder(60_000);
    const first = encoder.result(record(), window, 0);
    const again = encoder.result(record(), window, 0);
    expect(again.pieces).toHaveLength(1);
    expect(text(again)).toBe(text(first));
    expect(text(encoder.result(record(), window, 0))).toBe(text(first));
    expect(JSON.parse(text(again)).session.context.map((m: { messageId: string }) => m.messageId)).toEqual(["m1", "m2 ✓", "m3"]);
  });

  it("follows lastAccessed, contextStart, the window, the revision and a recreated session", () => {
    const encoder = new SessionEncoder(60_000);
    const reads: [SessionRecord, Buffer[], number][] = [
      [record(), window, 0],
      [record(), window, 0],
      [record({ lastAccessed: T0 + 1 }), window, 0],
      [record({ lastAccessed: T0 + 1 }), window, 0],
      [record({ lastAccessed: T0 + 1 }), window, 1],
      [record({ lastAccessed: T0 + 1 }), window, 1],
      [record({ lastAccessed: T0 + 1 }), window.slice(1), 1],
      [record({ lastAccessed: T0 + 1 }), [stored("m1"), window[1]!, window[2]!], 1],
      [record({ lastAccessed: T0 + 2, revision: 2, messageCount: 4, title: "renamed" }), window, 0],
      [record({ lastAccessed: T0 + 2, revision: 2, messageCount: 4, title: "renamed" }), window, 0],
      [record({ lastAccessed: T0 + 3, createdAt: T0 + 3, title: null }), window, 0],
      [record({ lastAccessed: T0 + 3, createdAt: T0 + 3, title: null }), window, 0],
      [record({ lastAccessed: T0 + 3, createdAt: T0 + 3, title: null }), [], 3],
      [record({ lastAccessed: T0 + 3, createdAt: T0 + 3, title: null }), [], 3],
    ];
    for (const [session, messages, start] of reads)
      expect(text(encoder.result(session, messages, start))).toBe(fresh(session, messages, start));
  });

  it("answers the same after forget(), eviction, and for windows too large to keep", () => {
    const encoder = new SessionEncoder(60_000, 2);
    const large = Array.from({ length: 40 }, (_, i) => stored(`${i}:${"x".repeat(1000)}`));
    for (let round = 0; round < 3; round++) {
      for (const sessionId of ["a", "b", "c"]) {
        const session = record({ sessionId, lastAccessed: T0 + round });
        for (const messages of [window, window, large, large])
          expect(text(encoder.result(session, messages, 0))).toBe(fresh(session, messages, 0));
      }
      encoder.forget("b");
    }
    expect(encoder.result(record(), large, 0).pieces.length).toBeGreaterThan(1);
  });

  it("answers the same when the budget has no room for a window or its whole answer", () => {
    const oneWindow = window.reduce((n, b) => n + b.length, 0);
    for (const budget of [0, oneWindow, oneWindow + 100, 3 * oneWindow + 600]) {
      const encoder = new SessionEncoder(60_000, 4096, budget);
      for (let round = 0; round < 3; round++)
        for (const sessionId of ["a", "b", "c"]) {
          const session = record({ sessionId, lastAccessed: T0 + round });
          for (let i = 0; i < 3; i++) expect(text(encoder.result(session, window, 0))).toBe(fresh(session, window, 0));
        }
    }
  });
});
