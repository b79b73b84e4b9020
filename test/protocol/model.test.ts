import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { inProcess } from "../helpers/in-process.js";
import { availableStores, stopStores } from "../helpers/stores.js";

type Op =
  | { kind: "new"; valid: boolean }
  | { kind: "update"; s: number; n: number; retry: boolean; valid: boolean; unknown: boolean }
  | { kind: "get"; s: number; offset: number; limit: number; unknown: boolean }
  | { kind: "list" }
  | { kind: "remove" | "delete"; s: number; unknown: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("new" as const), valid: fc.boolean() }),
  fc.record({
    kind: fc.constant("update" as const),
    s: fc.nat(),
    n: fc.integer({ min: 0, max: 3 }),
    retry: fc.boolean(),
    valid: fc.boolean(),
    unknown: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("get" as const), s: fc.nat(), offset: fc.nat(5), limit: fc.nat(5), unknown: fc.boolean() }),
  fc.record({ kind: fc.constant("list" as const) }),
  fc.record({ kind: fc.constantFrom("remove" as const, "delete" as const), s: fc.nat(), unknown: fc.boolean() }),
);

afterAll(stopStores);

/**
 * Random request sequences, valid and invalid, against a Map model: after every step the sidecar
 * holds the same sessions with the same contexts and answers with the same errors.
 */
describe.each(availableStores())("protocol matches a simple model ($name store)", ({ config }) => {
  it("over random sequences of new/update/get/list/remove/delete", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const h = await inProcess(await config());
        const model = new Map<string, string[]>();
        let counter = 0;
        try {
          for (const o of ops) {
            const ids = [...model.keys()];
            const pick = (i: number, unknown: boolean) =>
              unknown || ids.length === 0 ? "00000000-0000-4000-8000-000000000000" : ids[i % ids.length]!;
            if (o.kind === "new") {
              const r = await h.call("session/new", { cwd: o.valid ? "/w" : "relative/dir" });
              if (!o.valid) expect(r.error?.code).toBe(-32602);
              else model.set(r.result.sessionId, []);
            } else if (o.kind === "update") {
              const sessionId = pick(o.s, o.unknown);
              const history = model.get(sessionId);
              const fresh = Array.from({ length: o.n }, () => `m${++counter}`);
              const batch = o.retry && history?.length ? [history[history.length - 1]!, ...fresh] : fresh;
              const messages = batch.map((messageId, i) => ({
                messageId,
                role: !o.valid && i === batch.length - 1 ? "robot" : "user",
                content: messageId,
              }));
              const r = await h.call("session/update", { sessionId, messages });
              if (!o.valid && batch.length > 0) expect(r.error?.code).toBe(-32602);
              else if (!history) expect(r.error).toMatchObject({ code: -32002, data: { sessionId } });
              else {
                history.push(...fresh);
                expect(r.result).toMatchObject({ appended: fresh.length, messageCount: history.length });
              }
            } else if (o.kind === "get") {
              const sessionId = pick(o.s, o.unknown);
              const r = await h.call("session/get", { sessionId, offset: o.offset, limit: o.limit });
              const history = model.get(sessionId);
              if (!history) expect(r.error?.code).toBe(-32002);
              else
                expect(r.result.session.context.map((m: { messageId: string }) => m.messageId)).toEqual(
                  history.slice(o.offset, o.offset + o.limit),
                );
            } else if (o.kind === "list") {
              const r = await h.call("session/list", { limit: 1000 });
              expect(new Set(r.result.sessions.map((s: { sessionId: string }) => s.sessionId))).toEqual(new Set(model.keys()));
            } else {
              const sessionId = pick(o.s, o.unknown);
              const existed = model.delete(sessionId);
              const r = await h.call(`session/${o.kind}`, { sessionId });
              expect(r.result).toEqual(o.kind === "remove" ? { removed: existed } : {});
            }
          }
          for (const [sessionId, history] of model) {
            const r = await h.call("session/get", { sessionId });
            expect(r.result.session.context.map((m: { messageId: string }) => m.messageId)).toEqual(history);
          }
        } finally {
          await h.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
