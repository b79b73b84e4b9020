import { describe, expect, it } from "vitest";
import { replay } from "../../src/protocol/replay.js";
import type { RequestContext } from "../../src/rpc/connection.js";
import type { SessionRecord, SessionStore } from "../../src/store/types.js";

const KiB = 1024;

/** A store holding one session of `count` messages of about `bytes` each; it records every read's size. */
function storeOf(count: number, bytes: number) {
  const messages = Array.from({ length: count }, (_, i) =>
    Buffer.from(JSON.stringify({ messageId: `m${i}`, role: "user", content: "x".repeat(bytes), timestamp: "2026-01-01T00:00:00.000Z" })),
  );
  const reads: number[] = [];
  const store = {
    readMessages: async (_id: string, from: number, n: number) => (reads.push(n), messages.slice(from, from + n)),
  } as unknown as SessionStore;
  const session = { sessionId: "s", messageCount: count } as SessionRecord;
  return { store, session, reads };
}

function context() {
  const events: string[] = [];
  const ctx: RequestContext = {
    notify: (_method, params) => events.push((params as { update: { messageId: string } }).update.messageId),
    drained: async () => void events.push("drained"),
  };
  return { ctx, events };
}

describe("replay", () => {
  it("reads large messages a few at a time: slices start at one message and stay near 1 MiB", async () => {
    const { store, session, reads } = storeOf(20, 300 * KiB);
    const { ctx, events } = context();
    await replay(store, session, ctx);
    expect(reads).toEqual([1, 3, 3, 3, 3, 3, 3, 1]);
    expect(events.filter((e) => e !== "drained")).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    // The output drains after every slice, before the next is read.
    expect(events.filter((e) => e === "drained")).toHaveLength(reads.length);
    expect(events.at(-1)).toBe("drained");
  });

  it("reads small messages up to 256 at a time, growing fourfold from one", async () => {
    const { store, session, reads } = storeOf(1000, 100);
    const { ctx, events } = context();
    await replay(store, session, ctx);
    expect(reads).toEqual([1, 4, 16, 64, 256, 256, 256, 147]);
    expect(events.filter((e) => e !== "drained")).toHaveLength(1000);
  });
});
