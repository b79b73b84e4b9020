import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../src/store/memory/store.js";
import type { RedisStore } from "../../src/store/redis/store.js";
import type { ContextWindow, ExpiredSession, Role, SessionRecord, StoreOptions } from "../../src/store/types.js";
import { skipWithoutRedis } from "../helpers/redis-server.js";
import { message, newSession } from "../store/contract.js";
import { freshPrefix, redisForFile } from "../store/redis/harness.js";

// Long differential runs: thousands of random operations on Redis and on the memory store, every answer compared.
// Each takes seconds of round trips one after another, so they run with the heavy tier.
const noRedis = skipWithoutRedis("the Redis differential runs", { binary: false });

const T0 = Date.UTC(2026, 0, 1);
const redis = redisForFile(noRedis);
const texts = (messages: Buffer[]) => messages.map((m) => JSON.parse(m.toString()).messageId as string);

const open = (options: StoreOptions, prefix: string) => redis.open(options, prefix);

describe.skipIf(noRedis)("redis store against the memory store", () => {
  for (const onExpire of ["delete", "archive"] as const) {
    it(`matches the memory store over thousands of random steps (onExpire ${onExpire}), then leaves no key behind`, async () => {
      const options: StoreOptions = {
        maxIdleMs: 20_000,
        maxLifetimeMs: 150_000,
        onExpire,
        maxContextMessages: 12,
        onContextFull: "trim",
      };
      const prefix = freshPrefix("t");
      const handles = [await open(options, prefix), await open(options, prefix)];
      const model = new MemoryStore(options);
      const tally = await randomSteps(handles, model, 2000, onExpire === "delete" ? 1 : 2);
      // The sequence did reach what it is meant to check.
      expect(Object.entries(tally).filter(([, count]) => count === 0)).toEqual([]);
      for (const { sessionId } of model.list({ limit: 100_000, archived: "include" }).sessions) {
        expect(model.remove(sessionId)).toBe(true);
        expect(await handles[0]!.remove(sessionId)).toBe(true);
      }
      expect(Object.values(model.footprint()).every((v) => v === 0)).toBe(true);
      expect(await handles[1]!.footprint()).toEqual({ keys: 0 });
    });
  }
});

/** A window of any kind: all, from an offset, the tail, or before a message the session shows (or one it lacks). */
function randomWindow(random: () => number, messages: Buffer[]): ContextWindow {
  const count = () => Math.floor(random() * 8);
  const kind = random();
  if (kind < 0.4) return {};
  if (kind < 0.6) return { offset: count(), limit: count() };
  if (kind < 0.8) return random() < 0.5 ? { tail: count() } : { tail: count(), limit: count() };
  const ids = texts(messages);
  const beforeMessageId = ids.length > 0 && random() < 0.9 ? ids[Math.floor(random() * ids.length)]! : "missing";
  return random() < 0.5 ? { beforeMessageId } : { beforeMessageId, limit: count() };
}

/** Runs the same random operations on Redis (through either handle) and on the memory store, comparing every answer. */
async function randomSteps(handles: RedisStore[], model: MemoryStore, steps: number, seed: number): Promise<Record<string, number>> {
  const tally = { trims: 0, forks: 0, readsOfOrphanedForks: 0, expiries: 0, lifetimeCaps: 0, refusals: 0 };
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const roles: Role[] = ["user", "user", "assistant", "assistant", "system"];
  let now = T0;
  let counter = 0;
  const live = () => model.list({ limit: 100_000, archived: "include" }).sessions.map((s) => s.sessionId);
  const same = (got: SessionRecord, want: SessionRecord) =>
    expect(got).toEqual({ ...want, clientCapabilities: want.clientCapabilities ?? null });
  const both = async <T>(redis: () => Promise<T>, memory: () => T): Promise<[T, T] | [unknown, unknown, "threw"]> => {
    let expected: T;
    try {
      expected = memory();
    } catch (err) {
      const got = await redis().catch((e: unknown) => e);
      expect((got as Error).constructor).toBe((err as Error).constructor);
      return [got, err, "threw"];
    }
    return [await redis(), expected];
  };
  for (let step = 0; step < steps; step++) {
    now += 1 + Math.floor(random() * 400);
    const store = pick(handles);
    const ids = live();
    const r = random();
    if (r < 0.12 || ids.length === 0) {
      const retention =
        random() < 0.2 ? { maxIdleMs: random() < 0.5 ? 5_000 : null, pinned: random() < 0.5 } : { maxIdleMs: null, pinned: false };
      const input = newSession({ retention, title: random() < 0.3 ? `t${step}` : null });
      const [got, want] = await both(
        () => store.create(input, now),
        () => model.create(input, now),
      );
      same(got as SessionRecord, want as SessionRecord);
    } else if (r < 0.45) {
      const sessionId = pick(ids);
      const history = model.readMessages(sessionId, 0, 1000).map((m) => JSON.parse(m.toString()).messageId as string);
      const fresh = Array.from({ length: 1 + Math.floor(random() * 4) }, () => message(`m${++counter}`, pick(roles)));
      const messages = random() < 0.2 && history.length > 0 ? [message(pick(history)), ...fresh] : fresh;
      const changes = random() < 0.1 ? { title: random() < 0.5 ? null : `u${step}` } : {};
      const request = { sessionId, messages, changes, expectedRevision: random() < 0.1 ? 1 : undefined };
      const result = await both(
        () => store.update(request, now),
        () => model.update(request, now),
      );
      if (result.length === 2) {
        const [got, want] = result;
        same(got.session, want.session);
        if (want.trimmed > 0) tally.trims++;
        expect([got.appended, got.trimmed]).toEqual([want.appended, want.trimmed]);
      }
    } else if (r < 0.55) {
      const parentSessionId = pick(ids);
      const history = model.readMessages(parentSessionId, 0, 1000).map((m) => JSON.parse(m.toString()).messageId as string);
      const request = {
        parentSessionId,
        sessionId: newSession().sessionId,
        cwd: "/fork",
        mcpServers: ["m"],
        title: random() < 0.5 ? undefined : `f${step}`,
        atMessageId: history.length > 0 && random() < 0.6 ? pick(history) : random() < 0.05 ? "missing" : undefined,
      };
      const result = await both(
        () => store.fork(request, now),
        () => model.fork(request, now),
      );
      if (result.length === 2) {
        same(result[0], result[1]);
        tally.forks++;
      } else {
        tally.refusals++;
      }
    } else if (r < 0.63) {
      const sessionId = pick(ids);
      expect(await store.remove(sessionId)).toBe(model.remove(sessionId));
    } else if (r < 0.8) {
      const sessionId = pick(ids);
      const window = randomWindow(random, model.readMessages(sessionId, 0, 1000));
      const result = await both(
        () => store.get(sessionId, window, now),
        () => model.get(sessionId, window, now),
      );
      // A window before a message the session lacks: both threw the same error (both() compared them).
      if (result.length === 3) continue;
      const [got, want] = result;
      same(got.session, want.session);
      expect(texts(got.messages)).toEqual(texts(want.messages));
      expect(got.start).toBe(want.start);
      if (want.session.parentSessionId && model.has(want.session.parentSessionId) === false) tally.readsOfOrphanedForks++;
    } else if (r < 0.86) {
      const sessionId = pick(ids);
      const archived = random() < 0.5;
      const [got, want] = await both(
        () => store.setArchived(sessionId, archived, now),
        () => model.setArchived(sessionId, archived, now),
      );
      same(got as SessionRecord, want as SessionRecord);
    } else if (r < 0.94) {
      now += Math.floor(random() * 15_000);
      const got = await store.expireDue(now, 10_000);
      const want = model.expireDue(now, 10_000);
      const order = (e: ExpiredSession[]) => e.map((x) => `${x.sessionId} ${x.action} ${x.messageCount} ${x.lastAccessed}`).sort();
      expect(order(got)).toEqual(order(want));
      tally.expiries += want.length;
      tally.lifetimeCaps += want.filter((e) => e.expiredAt - e.createdAt >= 150_000).length;
    } else {
      const query = {
        limit: 1 + Math.floor(random() * 6),
        archived: pick(["exclude", "include", "only"] as const),
        cwd: random() < 0.3 ? "/fork" : undefined,
      };
      let cursor: string | undefined;
      let modelCursor: string | undefined;
      do {
        const got = await store.list({ ...query, cursor });
        const want = model.list({ ...query, cursor: modelCursor });
        expect(got.sessions.map((s) => s.sessionId)).toEqual(want.sessions.map((s) => s.sessionId));
        expect(got.nextCursor === undefined).toBe(want.nextCursor === undefined);
        cursor = got.nextCursor;
        modelCursor = want.nextCursor;
      } while (cursor);
    }
  }
  return tally;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
