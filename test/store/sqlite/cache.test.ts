import { describe, expect, it } from "vitest";
import { ReadCache } from "../../../src/store/sqlite/cache.js";

const bytes = (...texts: string[]) => texts.map((t) => Buffer.from(t));
const text = (messages: Buffer[] | undefined) => messages?.map((m) => m.toString());

describe("ReadCache: a connection's message runs", () => {
  it("gives the kept messages that start a window: all, the first few, or none", () => {
    const cache = new ReadCache<{ session_id: string }>();
    cache.storeMessages(7, 10, bytes("a", "b", "c"));
    expect(text(cache.leading(7, 10, 13))).toEqual(["a", "b", "c"]);
    expect(text(cache.leading(7, 11, 12))).toEqual(["b"]);
    expect(cache.leading(7, 9, 12)).toEqual([]);
    expect(text(cache.leading(7, 11, 14))).toEqual(["b", "c"]);
    expect(cache.leading(8, 10, 11)).toEqual([]);
  });

  it("joins runs that overlap or adjoin, and replaces one that does neither", () => {
    const cache = new ReadCache<{ session_id: string }>();
    cache.storeMessages(1, 10, bytes("a", "b"));
    cache.storeMessages(1, 12, bytes("c"));
    cache.storeMessages(1, 8, bytes("y", "z", "a"));
    expect(text(cache.leading(1, 8, 13))).toEqual(["y", "z", "a", "b", "c"]);
    cache.storeMessages(1, 20, bytes("q"));
    expect(cache.leading(1, 8, 9)).toEqual([]);
    expect(text(cache.leading(1, 20, 21))).toEqual(["q"]);
  });

  it("drops a segment's run, and everything when told another connection wrote", () => {
    const cache = new ReadCache<{ session_id: string }>();
    cache.storeMessages(1, 0, bytes("a"));
    cache.storeMessages(2, 0, bytes("b"));
    cache.dropSegment(1);
    expect(cache.leading(1, 0, 1)).toEqual([]);
    expect(text(cache.leading(2, 0, 1))).toEqual(["b"]);
    cache.lend({ session_id: "s" });
    cache.keep();
    cache.clear();
    expect(cache.leading(2, 0, 1)).toEqual([]);
    expect(cache.peek("s")).toBeUndefined();
  });

  it("keeps at most 32 MiB of messages, the least recently read going first", () => {
    const cache = new ReadCache<{ session_id: string }>();
    const run = () => [Buffer.alloc(3 * 2 ** 20)];
    for (let segment = 1; segment <= 10; segment++) cache.storeMessages(segment, 0, run());
    cache.leading(1, 0, 1);
    cache.storeMessages(11, 0, run());
    expect(cache.leading(2, 0, 1)).toEqual([]);
    for (const segment of [1, 3, 10, 11]) expect(cache.leading(segment, 0, 1)).toHaveLength(1);
  });

  it("lets no run grow past 4 MiB: a read that would is kept alone, a bigger one not at all", () => {
    const cache = new ReadCache<{ session_id: string }>();
    const mib = (n: number) => Buffer.alloc(n * 2 ** 20);
    cache.storeMessages(1, 0, [mib(3)]);
    cache.storeMessages(1, 1, [mib(2)]);
    expect(cache.leading(1, 0, 1)).toEqual([]);
    expect(cache.leading(1, 1, 2)).toHaveLength(1);
    cache.storeMessages(1, 2, [mib(5)]);
    expect(cache.leading(1, 1, 2)).toEqual([]);
    expect(cache.leading(1, 2, 3)).toEqual([]);
  });

  it("keeps a request's rows only when it succeeds, as it left them", () => {
    const cache = new ReadCache<{ session_id: string; n: number }>();
    cache.lend({ session_id: "s", n: 1 });
    cache.keep();
    const copy = cache.borrow("s")!;
    copy.n = 2;
    cache.discard();
    expect(cache.peek("s")).toEqual({ session_id: "s", n: 1 });
    cache.borrow("s")!.n = 3;
    cache.keep();
    expect(cache.peek("s")).toEqual({ session_id: "s", n: 3 });
  });
});
