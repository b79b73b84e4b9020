import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../src/store/memory/store.js";
import { message, newSession, storeContract } from "../contract.js";

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
