import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../src/log.js";
import { Reaper } from "../src/reaper.js";
import { MemoryStore } from "../src/store/memory/store.js";
import type { ExpiredSession } from "../src/store/types.js";
import { newSession } from "./store/contract.js";

describe("Reaper", () => {
  // setImmediate stays real: the reaper yields with it between batches.
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000, toFake: ["setInterval", "clearInterval", "setTimeout", "clearTimeout", "Date"] }));
  afterEach(() => vi.useRealTimers());

  const setup = (maxIdleMs: number, intervalMs: number) => {
    const store = new MemoryStore({ maxIdleMs });
    const expired: ExpiredSession[] = [];
    const reaper = new Reaper({ store, intervalMs, now: Date.now, log: silentLogger, onExpired: (e) => expired.push(e), batchSize: 3 });
    reaper.start();
    return { store, expired, reaper };
  };

  it("removes a session no later than one interval after its deadline, and never before", async () => {
    const { store, expired, reaper } = setup(1000, 300);
    const { sessionId } = store.create(newSession(), Date.now());
    await vi.advanceTimersByTimeAsync(999);
    expect(expired).toEqual([]);
    expect(store.has(sessionId)).toBe(true);
    await vi.advanceTimersByTimeAsync(300);
    expect(expired.map((e) => e.sessionId)).toEqual([sessionId]);
    expect(expired[0]!.expiredAt - (expired[0]!.lastAccessed + 1000)).toBeLessThanOrEqual(300);
    expect(store.has(sessionId)).toBe(false);
    await reaper.stop();
  });

  it("an access pushes the deadline back", async () => {
    const { store, expired, reaper } = setup(1000, 100);
    const { sessionId } = store.create(newSession(), Date.now());
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(500);
      store.get(sessionId, {}, Date.now());
    }
    expect(expired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1100);
    expect(expired).toHaveLength(1);
    await reaper.stop();
  });

  it("expires more than one batch in a pass, yielding between batches", async () => {
    const { store, expired, reaper } = setup(10, 50);
    for (let i = 0; i < 10; i++) store.create(newSession(), Date.now());
    await vi.advanceTimersByTimeAsync(50);
    await reaper.pass(); // joins the pass under way
    expect(expired).toHaveLength(10);
    await reaper.stop();
  });

  it("does not keep the process alive, and a failing pass is logged and retried", async () => {
    const store = new MemoryStore({ maxIdleMs: 10 });
    const errors: string[] = [];
    let fail = true;
    const flaky = Object.assign(Object.create(store), {
      expireDue: (now: number, limit: number) => {
        if (fail) throw new Error("backend down");
        return store.expireDue(now, limit);
      },
    });
    const expired: ExpiredSession[] = [];
    const reaper = new Reaper({
      store: flaky,
      intervalMs: 20,
      now: Date.now,
      log: { ...silentLogger, error: (m) => errors.push(m) },
      onExpired: (e) => expired.push(e),
    });
    reaper.start();
    expect((reaper as unknown as { timer: NodeJS.Timeout }).timer.hasRef()).toBe(false);
    store.create(newSession(), Date.now());
    await vi.advanceTimersByTimeAsync(20);
    expect(errors).toHaveLength(1);
    fail = false;
    await vi.advanceTimersByTimeAsync(20);
    expect(expired).toHaveLength(1);
    await reaper.stop();
  });
});
