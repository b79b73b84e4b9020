import { describe, expect, it } from "vitest";
import { flatUuid } from "../../src/protocol/ids.js";

describe("flatUuid", () => {
  it("gives random version-4 UUIDs in lower-case text", () => {
    const ids = Array.from({ length: 1000 }, flatUuid);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
