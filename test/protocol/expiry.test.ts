import { afterEach, describe, expect, it } from "vitest";
import { inProcess, type Harness } from "../helpers/in-process.js";

// The reaper through the whole server: session/expired notifications and what is left afterwards.
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("the reaper", () => {
  it("expires an idle session: a session/expired notification, then the session is gone", async () => {
    const s = (h = await inProcess({ maxSessionAgeMs: 300, cleanupIntervalMs: 100 }));
    const { sessionId } = await s.ok("session/new", { cwd: "/w" });
    await s.ok("session/update", { sessionId, messages: [{ role: "user", content: "soon gone" }] });
    const expired = await s.waitFor(() => s.notifications("session/expired").find((n) => n.sessionId === sessionId), "session/expired");
    expect(expired).toEqual({
      sessionId,
      createdAt: expect.stringMatching(/\.\d{3}Z$/),
      lastAccessed: expect.stringMatching(/\.\d{3}Z$/),
      expiredAt: expect.stringMatching(/\.\d{3}Z$/),
      messageCount: 1,
      action: "delete",
    });
    // Never before its deadline.
    expect(Date.parse(expired.expiredAt) - Date.parse(expired.lastAccessed)).toBeGreaterThanOrEqual(300);
    expect((await s.call("session/get", { sessionId })).error?.code).toBe(-32002);
    await s.close();
    expect(s.logged).toEqual([]);
  });

  it("session/expired carries the expired session's messageCount", async () => {
    const s = (h = await inProcess({ maxSessionAgeMs: 300, cleanupIntervalMs: 100 }));
    const { sessionId } = await s.ok("session/new", { cwd: "/w" });
    await s.ok("session/update", {
      sessionId,
      messages: [
        { role: "user", content: "a" },
        { role: "assistant", content: "b" },
      ],
    });
    const expired = await s.waitFor(() => s.notifications("session/expired").find((n) => n.sessionId === sessionId), "session/expired");
    expect(expired.messageCount).toBe(2);
  });

  it("a session kept busy with gets does not expire while an idle one beside it does", async () => {
    // The server's clock moves 50 ms per read of the busy session, whatever the load on the machine;
    // the reaper's timer is real and fires between reads.
    const started = Date.UTC(2026, 0, 1);
    let clock = started;
    const s = (h = await inProcess({ maxSessionAgeMs: 1000, cleanupIntervalMs: 100 }, { now: () => clock }));
    const busy = (await s.ok("session/new", { cwd: "/w", title: "busy" })).sessionId;
    const idle = (await s.ok("session/new", { cwd: "/w", title: "idle" })).sessionId;
    // Keep one session busy until the idle one has expired and well over one max age has passed.
    while (!s.notifications("session/expired").some((n) => n.sessionId === idle) || clock - started < 2_500) {
      await s.ok("session/get", { sessionId: busy, limit: 0 });
      clock += 50;
      // An in-memory answer can come without a turn of the event loop; the reaper's timer needs one.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(s.notifications("session/expired").map((n) => n.sessionId)).toEqual([idle]);
    expect((await s.ok("session/get", { sessionId: busy })).session.title).toBe("busy");
  });
});
