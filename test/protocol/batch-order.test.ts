import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/config.js";
import { inProcess } from "../helpers/in-process.js";
import { RedisServer, redisUnavailable } from "../helpers/redis-server.js";

// A batch's items are pipelined like separate lines: these check, on every store, that they still take
// effect in the order sent and are answered in that order, one array.
type Harness = Awaited<ReturnType<typeof inProcess>>;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const dir = mkdtempSync(join(tmpdir(), "acp-batch-order-"));
let redis: RedisServer | undefined;
const noRedis = redisUnavailable();
beforeAll(async () => {
  if (!noRedis) redis = await RedisServer.start();
});
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let fresh = 0;
const stores: { name: string; skip: boolean; config: () => Partial<Config> }[] = [
  { name: "memory", skip: false, config: () => ({ store: "memory" }) },
  { name: "sqlite", skip: false, config: () => ({ store: `sqlite:${join(dir, `s${++fresh}.db`)}` }) },
  { name: "redis", skip: noRedis !== undefined, config: () => ({ store: redis!.url, redisPrefix: `batch-order-${++fresh}:` }) },
];

const req = (id: unknown, method: string, params: unknown) => ({ jsonrpc: "2.0", id, method, params });

/** Sends one batch line; resolves to its answer array (the first array seen after the ones before). */
async function batch(harness: Harness, items: unknown[]): Promise<any[]> {
  const before = harness.messages.filter(Array.isArray).length;
  harness.stdin.write(JSON.stringify(items) + "\n");
  return harness.waitFor(() => harness.messages.filter(Array.isArray)[before] as any[] | undefined);
}

describe.each(stores)("batches on the $name store", ({ skip, config }) => {
  it.skipIf(skip)("take effect in the order sent: each update expects the revision the one before left, each read sees it", async () => {
    h = await inProcess(config());
    const { sessionId } = await h.ok("session/new", {});
    const rounds = 60;
    const items: unknown[] = [];
    for (let i = 0; i < rounds; i++) {
      items.push(
        req(`u${i}`, "session/update", {
          sessionId,
          expectedRevision: 1 + i,
          messages: [{ messageId: `m${i}`, role: "user", content: `${i}` }],
        }),
      );
      items.push(req(`g${i}`, "session/get", { sessionId, offset: i }));
      if (i % 10 === 0) items.push(req(`n${i}`, "session/new", { title: `t${i}` }), { jsonrpc: "2.0", method: "session/list", params: {} });
    }
    items.push(req("missing", "session/nope", {}), req("last", "session/get", { sessionId }));
    const answers = await batch(h, items);
    expect(answers.map((a) => a.id)).toEqual(items.filter((i: any) => "id" in i).map((i: any) => i.id));
    for (const a of answers) if (a.id !== "missing") expect(a.error, `${a.id}`).toBeUndefined();
    const byId = new Map(answers.map((a) => [a.id, a]));
    for (let i = 0; i < rounds; i++) {
      expect(byId.get(`u${i}`).result, `u${i}`).toMatchObject({ appended: 1, revision: 2 + i, messageCount: 1 + i });
      const got = byId.get(`g${i}`).result.session;
      expect([got.revision, got.context.map((m: any) => m.messageId)], `g${i}`).toEqual([2 + i, [`m${i}`]]);
    }
    expect(byId.get("missing").error.code).toBe(-32601);
    expect(byId.get("last").result.session.context.map((m: any) => m.messageId)).toEqual(Array.from({ length: rounds }, (_, i) => `m${i}`));
    const titles = (await h.ok("session/list", { limit: 100 })).sessions.map((s: any) => s.title).filter(Boolean);
    expect(titles.sort()).toEqual(["t0", "t10", "t20", "t30", "t40", "t50"]);
  });

  it.skipIf(skip)("answer 2,000 session/new in one array, in order, each a session of its own", async () => {
    h = await inProcess(config());
    const count = 2000;
    const answers = await batch(
      h,
      Array.from({ length: count }, (_, i) => req(i, "session/new", { title: `s${i}` })),
    );
    expect(answers.map((a) => a.id)).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(new Set(answers.map((a) => a.result.sessionId)).size).toBe(count);
    const [first, last] = [answers[0].result.sessionId, answers[count - 1].result.sessionId];
    expect((await h.ok("session/get", { sessionId: first })).session.title).toBe("s0");
    expect((await h.ok("session/get", { sessionId: last })).session.title).toBe(`s${count - 1}`);
  });

  it.skipIf(skip)(
    "with a session/load in the middle: its replay comes before the array, and the items after it see what came before",
    async () => {
      h = await inProcess(config());
      const { sessionId } = await h.ok("session/new", {});
      const answers = await batch(h, [
        req(1, "session/update", { sessionId, messages: [{ messageId: "a", role: "user", content: "A" }] }),
        req(2, "session/load", { sessionId, cwd: "/home/me", mcpServers: [] }),
        req(3, "session/update", { sessionId, messages: [{ messageId: "b", role: "assistant", content: "B" }] }),
        req(4, "session/get", { sessionId }),
      ]);
      expect(answers.map((a) => a.id)).toEqual([1, 2, 3, 4]);
      expect(answers[1].result).toEqual({});
      expect(answers[3].result.session.context.map((m: any) => m.messageId)).toEqual(["a", "b"]);
      const arrayAt = h.messages.findIndex(Array.isArray);
      const replayed = h.messages.slice(0, arrayAt).filter((m) => m.method === "session/update");
      expect(replayed.map((m) => m.params.update.messageId)).toEqual(["a"]);
      expect(h.messages.slice(arrayAt + 1).filter((m) => m.method === "session/update")).toEqual([]);
    },
  );
});
