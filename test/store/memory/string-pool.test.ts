import { describe, expect, it } from "vitest";
import { StringPool } from "../../../src/store/memory/string-pool.js";

/** What the pool holds (string identity is not observable from JavaScript, its map is). */
const held = (pool: StringPool) => [...(pool as unknown as { strings: Map<string, string> }).strings.keys()];

/** The same text built at run time, so it is a string of its own rather than a shared literal. */
const copyOf = (text: string) => JSON.parse(JSON.stringify(text)) as string;

describe("StringPool", () => {
  it("holds one copy of a value however often it comes, and gives the value back", () => {
    const pool = new StringPool();
    for (let i = 0; i < 3; i++) expect(pool.intern(copyOf("/home/dev/project"))).toBe("/home/dev/project");
    expect(pool.intern("/home/dev/other")).toBe("/home/dev/other");
    expect(held(pool)).toEqual(["/home/dev/project", "/home/dev/other"]);
  });

  it("holds at most `capacity` values, pushing out the oldest first", () => {
    const pool = new StringPool(2);
    for (const value of ["a", "b", "c"]) expect(pool.intern(value)).toBe(value);
    expect(held(pool)).toEqual(["b", "c"]);
  });

  it("never holds a value longer than `maxLength`", () => {
    const pool = new StringPool(64, 4);
    expect(pool.intern("abcde")).toBe("abcde");
    expect(pool.intern("abcd")).toBe("abcd");
    expect(held(pool)).toEqual(["abcd"]);
  });
});
