import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { inProcess } from "../helpers/in-process.js";
import { availableStores, stopStores } from "../helpers/stores.js";

/**
 * Text mixing ASCII, escapes, pairs outside the BMP and lone surrogates. Content must come back exactly
 * whatever it holds; a stored or looked-up string (title, message id) with a lone surrogate is refused.
 */
const text = fc
  .array(fc.constantFrom("a", "\u00e9", '"', "\u0000", "\ud83d\ude00", "\ud83d", "\udc00", "\udbff"), { maxLength: 6 })
  .map((parts) => parts.join(""));
// With the u flag a pair is one code point, so the class matches only a lone surrogate.
const hasLoneSurrogate = (s: string) => /[\ud800-\udfff]/u.test(s);

type Message = { messageId: string; content: string };

type Op =
  | { kind: "new"; valid: boolean; title: string }
  | { kind: "update"; s: number; contents: string[]; retry: boolean; valid: boolean; loneId: boolean; unknown: boolean }
  | { kind: "get"; s: number; offset: number; limit: number; unknown: boolean }
  | { kind: "list" }
  | { kind: "remove" | "delete"; s: number; unknown: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("new" as const), valid: fc.boolean(), title: text }),
  fc.record({
    kind: fc.constant("update" as const),
    s: fc.nat(),
    contents: fc.array(text, { maxLength: 3 }),
    retry: fc.boolean(),
    valid: fc.boolean(),
    loneId: fc.boolean(),
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
        const model = new Map<string, { title: string; history: Message[] }>();
        const context = (r: { result?: { session: { context: Message[] } } }) =>
          r.result!.session.context.map(({ messageId, content }) => ({ messageId, content }));
        let counter = 0;
        try {
          for (const o of ops) {
            const ids = [...model.keys()];
            const pick = (i: number, unknown: boolean) =>
              unknown || ids.length === 0 ? "00000000-0000-4000-8000-000000000000" : ids[i % ids.length]!;
            if (o.kind === "new") {
              const r = await h.call("session/new", { cwd: o.valid ? "/w" : "relative/dir", title: o.title });
              if (!o.valid || hasLoneSurrogate(o.title)) expect(r.error?.code).toBe(-32602);
              else model.set(r.result.sessionId, { title: o.title, history: [] });
            } else if (o.kind === "update") {
              const sessionId = pick(o.s, o.unknown);
              const history = model.get(sessionId)?.history;
              const fresh = o.contents.map((content) => ({ messageId: `m${++counter}`, content }));
              const batch = o.retry && history?.length ? [history[history.length - 1]!, ...fresh] : fresh;
              const last = batch.length - 1;
              const messages = batch.map(({ messageId, content }, i) => ({
                messageId: o.loneId && i === last ? `${messageId}\ud83d` : messageId,
                role: !o.valid && i === last ? "robot" : "user",
                content,
              }));
              const r = await h.call("session/update", { sessionId, messages });
              if ((!o.valid || o.loneId) && batch.length > 0) expect(r.error?.code).toBe(-32602);
              else if (!history) expect(r.error).toMatchObject({ code: -32002, data: { sessionId } });
              else {
                history.push(...fresh);
                expect(r.result).toMatchObject({ appended: fresh.length, messageCount: history.length });
              }
            } else if (o.kind === "get") {
              const sessionId = pick(o.s, o.unknown);
              const r = await h.call("session/get", { sessionId, offset: o.offset, limit: o.limit });
              const history = model.get(sessionId)?.history;
              if (!history) expect(r.error?.code).toBe(-32002);
              else expect(context(r)).toEqual(history.slice(o.offset, o.offset + o.limit));
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
          for (const [sessionId, { title, history }] of model) {
            const r = await h.call("session/get", { sessionId });
            expect(r.result.session.title).toBe(title);
            expect(context(r)).toEqual(history);
          }
        } finally {
          await h.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});
