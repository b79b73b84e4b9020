import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GetSessionParamsSchema, SessionIdParamsSchema } from "../../src/protocol/schemas.js";
import { sessionIdOnly } from "../../src/protocol/session-id-params.js";

/** Strings of any UTF-16 units, lone surrogates included, around the length limits. */
const anyUnits = (maxLength: number) =>
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)), maxLength });
const edgeLengths = fc.oneof(
  fc.constantFrom("", "a", "a".repeat(255), "a".repeat(256), "a".repeat(257), "\ud800", "x\udc00", "\ud83d\ude00"),
  fc.integer({ min: 250, max: 260 }).map((n) => "é".repeat(n)),
);
const sessionIds = fc.oneof(anyUnits(20), edgeLengths, fc.anything());
const params = fc.oneof(
  sessionIds.map((sessionId) => ({ sessionId })),
  fc.record({ sessionId: sessionIds, limit: fc.anything() }, { requiredKeys: ["sessionId"] }),
  fc.record({ sessionId: sessionIds, _meta: fc.anything() }),
  fc.anything(),
  // The JSON text a client sends, parsed as the connection parses it (an own __proto__ key included).
  fc.constantFrom('{"sessionId":"s","__proto__":{}}', '{"__proto__":{"sessionId":"s"}}', '["s"]', "{}").map((t) => JSON.parse(t)),
);

describe("sessionIdOnly: the fast path of session-id params", () => {
  it("accepts exactly what the schemas accept as a lone sessionId, with the same result", () => {
    fc.assert(
      fc.property(params, (p) => {
        const fast = sessionIdOnly(p);
        if (fast === undefined) return;
        expect(GetSessionParamsSchema.parse(p)).toEqual(fast);
        expect(SessionIdParamsSchema.parse(p)).toEqual(fast);
      }),
      { numRuns: 2000 },
    );
  });

  it("takes every valid lone sessionId, leaving nothing the schema accepts alone to the slow path", () => {
    fc.assert(
      fc.property(sessionIds, (sessionId) => {
        const accepted = GetSessionParamsSchema.safeParse({ sessionId }).success;
        expect(sessionIdOnly({ sessionId }) !== undefined).toBe(accepted);
      }),
      { numRuns: 2000 },
    );
  });

  it("leaves other shapes to the schema", () => {
    expect(sessionIdOnly({ sessionId: "s", limit: 1 })).toBeUndefined();
    expect(sessionIdOnly({ sessionId: "s", _meta: null })).toBeUndefined();
    expect(sessionIdOnly({})).toBeUndefined();
    expect(sessionIdOnly(["s"])).toBeUndefined();
    expect(sessionIdOnly(null)).toBeUndefined();
    expect(sessionIdOnly({ sessionId: "s" })).toEqual({ sessionId: "s" });
  });
});
