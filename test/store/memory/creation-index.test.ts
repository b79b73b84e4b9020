import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CreationIndex, type ArchivedFilter } from "../../../src/store/memory/creation-index.js";

interface Item {
  seq: number;
  removed: boolean;
  archived: boolean;
  cwd: string;
}

describe("CreationIndex", () => {
  it("pages like a plain filter over the live items, whatever was archived or removed (property)", () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), archived: fc.boolean(), odd: fc.boolean() }),
      fc.record({ kind: fc.constant("archive" as const), at: fc.nat(), archived: fc.boolean() }),
      fc.record({ kind: fc.constant("remove" as const), at: fc.nat() }),
    );
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 1500 }),
        fc.constantFrom<ArchivedFilter>("exclude", "include", "only"),
        fc.nat(40),
        (steps, filter, limit) => {
          const index = new CreationIndex<Item>();
          const all: Item[] = [];
          for (const s of steps) {
            const live = all.filter((i) => !i.removed);
            if (s.kind === "add") {
              const item = { seq: all.length + 1, removed: false, archived: s.archived, cwd: s.odd ? "/odd" : "/even" };
              all.push(item);
              index.add(item);
            } else if (live.length > 0) {
              const item = live[s.at % live.length]!;
              if (s.kind === "remove") index.remove(item);
              else {
                index.archiveChanging(item, s.archived);
                item.archived = s.archived;
              }
            }
          }
          const wanted = all
            .filter((i) => !i.removed && (filter === "include" || i.archived === (filter === "only")) && i.cwd === "/odd")
            .reverse();
          let below = Infinity;
          const seen: Item[] = [];
          for (let pages = 0; pages < 2000; pages++) {
            const page = index.page(below, Math.max(limit, 1), filter, (i) => i.cwd === "/odd");
            seen.push(...page.items);
            if (!page.more) break;
            below = page.items[page.items.length - 1]!.seq;
          }
          expect(seen).toEqual(wanted);
          expect(index.oldest()).toBe(all.find((i) => !i.removed));
        },
      ),
      { numRuns: 60 },
    );
  });
});
