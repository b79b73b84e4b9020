import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../src/store/memory/store.js";
import { message, newSession, storeContract } from "../contract.js";

const HOUR = 3_600_000;

storeContract("memory", () => {
  let store: MemoryStore | undefined;
  return {
    open: async (options) => (store = new MemoryStore(options)),
    second: async () => store!,
    cleanup: async () => {},
  };
});

describe("memory store: real deletion", () => {
  it("holds nothing once every session is gone, after thousands of random new/update/fork/trim/delete/expire steps", () => {
    const store = new MemoryStore({ maxIdleMs: 50, maxContextMessages: 12, onContextFull: "trim" });
    const rng = fc.sample(fc.array(fc.nat(1_000_000), { minLength: 5000, maxLength: 5000 }), { numRuns: 1, seed: 7 })[0]!;
    let now = 0;
    let counter = 0;
    const live = () => [...(store as unknown as { sessions: Map<string, unknown> }).sessions.keys()];
    for (const r of rng) {
      const ids = live();
      const pick = () => ids[r % ids.length]!;
      switch (ids.length === 0 ? 0 : r % 6) {
        case 0:
          store.create(newSession(), now);
          break;
        case 1:
        case 2: {
          const roles = ["user", "assistant", "assistant"] as const;
          store.update({ sessionId: pick(), messages: [message(`m${++counter}`, roles[counter % 3])], changes: {} }, now);
          break;
        }
        case 3:
          store.fork({ parentSessionId: pick(), sessionId: newSession().sessionId, cwd: "/f", mcpServers: [], title: undefined }, now);
          break;
        case 4:
          store.remove(pick());
          break;
        default:
          now += 10;
          store.expireDue(now, 100);
      }
      // Every live session still reads whole: no hole left by what was freed.
      if (r % 97 === 0) for (const id of live()) expect(store.get(id, {}, now).messages.every((m) => m instanceof Buffer)).toBe(true);
    }
    store.expireDue(now + 1_000_000, 1_000_000);
    expect(store.footprint()).toEqual({ sessions: 0, listSlots: 0, idleEntries: 0, restoredEntries: 0, segments: 0, messages: 0 });
  });
});

describe("memory store: idle sessions share what they can", () => {
  it("gives a session a history segment of its own only with its first message", () => {
    const store = new MemoryStore({ maxIdleMs: 1000 });
    const segments = () => store.footprint().segments;
    const [a, b] = [store.create(newSession(), 0).sessionId, store.create(newSession(), 0).sessionId];
    expect(segments()).toBe(0);
    store.update({ sessionId: a, messages: [], changes: { title: "no message yet" } }, 1);
    expect(
      store.fork({ parentSessionId: a, sessionId: newSession().sessionId, cwd: "/f", mcpServers: [], title: undefined }, 2).messageCount,
    ).toBe(0);
    expect(segments()).toBe(0);
    store.update({ sessionId: b, messages: [message("m1")], changes: {} }, 3);
    expect(segments()).toBe(1);
    expect(store.get(b, {}, 4).messages.map((m) => JSON.parse(m.toString()).messageId)).toEqual(["m1"]);
    store.expireDue(10_000, 100);
    expect(store.footprint()).toEqual({ sessions: 0, listSlots: 0, idleEntries: 0, restoredEntries: 0, segments: 0, messages: 0 });
  });

  it("keeps each session's lists apart when they start out empty", () => {
    const store = new MemoryStore({ maxIdleMs: 1000 });
    const [a, b] = [store.create(newSession(), 0).sessionId, store.create(newSession(), 0).sessionId];
    store.update({ sessionId: a, messages: [], changes: { mcpServers: ["git"], additionalDirectories: ["/lib"] } }, 1);
    expect(store.get(a, {}, 2).session).toMatchObject({ mcpServers: ["git"], additionalDirectories: ["/lib"] });
    expect(store.get(b, {}, 2).session).toMatchObject({ mcpServers: [], additionalDirectories: [] });
  });
});

describe("memory store: message ids", () => {
  it("an id trimmed away and appended again stays known when the old copy is freed", () => {
    const store = new MemoryStore({ maxIdleMs: HOUR, maxContextMessages: 4, onContextFull: "trim" });
    const { sessionId } = store.create(newSession(), 0);
    const add = (...ids: string[]) =>
      store.update({ sessionId, messages: ids.map((id) => message(id, id.startsWith("u") ? "user" : "assistant")), changes: {} }, 0);
    add("u1", "a1");
    // The fork keeps the trimmed copy of u1 from being freed until it goes.
    const fork = store.fork(
      { parentSessionId: sessionId, sessionId: newSession().sessionId, cwd: "/f", mcpServers: [], title: undefined },
      0,
    );
    add("u2", "a2", "u3");
    store.remove(fork.sessionId);
    expect(add("u1").appended).toBe(1);
    add("u4");
    expect(add("u1").appended).toBe(0);
  });
});
