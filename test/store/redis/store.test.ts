import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { StoreOpenError, StoreUnavailableError } from "../../../src/store/errors.js";
import { KeyLayout, LAYOUT_VERSION } from "../../../src/store/redis/keys.js";
import { openRedisStore } from "../../../src/store/redis/store.js";
import type { StoredMessage } from "../../../src/store/types.js";
import { RedisServer, skipWithoutRedis } from "../../helpers/redis-server.js";
import { heard, message, newSession, summary } from "../contract.js";
import { HOUR, freshPrefix, redisBackend, redisContract, redisForFile, twoListeners } from "./harness.js";

const noRedis = skipWithoutRedis("the Redis store tests", { binary: false });
// With only REDIS_URL, the contract runs there; the tests that stop and start a server need their own.
const noBinary = noRedis || skipWithoutRedis("the Redis start-up and fault tests (REDIS_URL serves the rest)");

const T0 = Date.UTC(2026, 0, 1);
const redis = redisForFile(noRedis);
const open = redis.open;
const texts = (messages: Buffer[]) => messages.map((m) => JSON.parse(m.toString()).messageId as string);

/** Polls an async condition until it holds (errors count as "not yet"); fails after `ms`. */
async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(noRedis)("redis store", () => {
  redisContract("redis", redis.url, "t");

  it("keeps deployments with different prefixes apart", async () => {
    const a = await open();
    const b = await open();
    const { sessionId } = await a.create(newSession(), T0);
    await a.update({ sessionId, messages: [message("m")], changes: {} }, T0);
    expect(await b.has(sessionId)).toBe(false);
    expect((await b.list({ limit: 10 })).sessions).toEqual([]);
    expect(await b.footprint()).toEqual({ keys: 0 });
    expect((await a.footprint()).keys).toBeGreaterThan(0);
  });

  it("refuses to start with another bucket count than the one recorded", async () => {
    const prefix = freshPrefix("t");
    await (await openRedisStore(redis.url(), { maxIdleMs: HOUR }, redisBackend(prefix, 16))).close();
    const err = await openRedisStore(redis.url(), { maxIdleMs: HOUR }, redisBackend(prefix, 8)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreOpenError);
    expect((err as Error).message).toMatch(/16 buckets, not 8: start with --redis-buckets 16/);
    await (await openRedisStore(redis.url(), { maxIdleMs: HOUR }, redisBackend(prefix, 16))).close();
  });

  it("refuses to start on data another layout wrote, saying which", async () => {
    const prefix = freshPrefix("t");
    const client = new Redis(redis.url());
    try {
      await client.hset(new KeyLayout(prefix, 16).config, "buckets", "16", "layout", "1");
    } finally {
      client.disconnect();
    }
    const err = await openRedisStore(redis.url(), { maxIdleMs: HOUR }, redisBackend(prefix, 16)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreOpenError);
    expect((err as Error).message).toMatch(new RegExp(`prefix "${prefix}" holds data in layout 1, not ${LAYOUT_VERSION}$`));
  });

  it("announces every expiry to every handle, once, whoever applied it", async () => {
    const { a, b, heard } = await twoListeners(open, freshPrefix("t"));
    const created: string[] = [];
    for (let i = 0; i < 20; i++) created.push((await a.create(newSession(), T0)).sessionId);
    const [fromA, fromB] = await Promise.all([a.expireDue(T0 + 10, 7), b.expireDue(T0 + 10, 100)]);
    const rest = await a.expireDue(T0 + 10, 100);
    expect([...fromA, ...fromB, ...rest].map((e) => e.sessionId).sort()).toEqual([...created].sort());
    // A later expiry, heard by both, shows every earlier event has been read too.
    const last = (await a.create(newSession(), T0 + 100)).sessionId;
    await b.expireDue(T0 + 110, 100);
    await eventually(async () => heard.a.some((e) => e.sessionId === last) && heard.b.some((e) => e.sessionId === last), "the last expiry");
    for (const events of [heard.a, heard.b]) {
      expect(events.map((e) => e.sessionId).sort()).toEqual([...created, last].sort());
      expect(events.find((e) => e.sessionId === last)).toEqual({
        sessionId: last,
        createdAt: T0 + 100,
        lastAccessed: T0 + 100,
        expiredAt: T0 + 110,
        messageCount: 0,
        action: "delete",
      });
    }
  });

  it("a handle that never saw a fork finds it, and finds it gone once another handle removed it", async () => {
    const prefix = freshPrefix("t");
    const a = await open({}, prefix);
    const b = await open({}, prefix);
    const parent = (await a.create(newSession(), T0)).sessionId;
    await a.update({ sessionId: parent, messages: [message("p1"), message("p2")], changes: {} }, T0);
    const forks: string[] = [];
    for (let i = 0; i < 8; i++) {
      forks.push(
        (await a.fork({ parentSessionId: parent, sessionId: newSession().sessionId, cwd: "/f", mcpServers: [], title: undefined }, T0))
          .sessionId,
      );
    }
    for (const fork of forks) expect(texts((await b.get(fork, {}, T0)).messages)).toEqual(["p1", "p2"]);
    for (const fork of forks) expect(await a.remove(fork)).toBe(true);
    for (const fork of forks) {
      expect(await b.has(fork)).toBe(false);
      expect(await b.remove(fork)).toBe(false);
    }
    await a.remove(parent);
    expect(await b.footprint()).toEqual({ keys: 0 });
  });

  it("keeps session hashes and id indexes as hash tables, not listpacks that scan for every field", async () => {
    const prefix = freshPrefix("t");
    const store = await open({}, prefix);
    const keys = new KeyLayout(prefix, 16);
    const client = new Redis(redis.url());
    try {
      const { sessionId } = await store.create(newSession(), T0);
      await store.update({ sessionId, messages: [message("m1")], changes: {} }, T0);
      const fork = newSession().sessionId;
      await store.fork({ parentSessionId: sessionId, sessionId: fork, cwd: "/f", mcpServers: [], title: undefined }, T0);
      await store.update({ sessionId: fork, messages: [message("f1")], changes: {} }, T0);
      const bucket = keys.home(sessionId);
      for (const key of [
        keys.session(bucket, sessionId),
        keys.session(bucket, fork),
        `${keys.bucket(bucket)}i:${sessionId}`,
        `${keys.bucket(bucket)}i:${fork}`,
      ]) {
        expect([key, await client.object("ENCODING", key)]).toEqual([key, "hashtable"]);
      }
      expect(texts((await store.get(fork, {}, T0)).messages)).toEqual(["m1", "f1"]);
    } finally {
      client.disconnect();
    }
  });

  it("trims by turns, frees trimmed ids and records a fork's last message id, whatever the ids hold", async () => {
    const prefix = freshPrefix("t");
    const store = await open({ maxContextMessages: 3, onContextFull: "trim" }, prefix);
    const keys = new KeyLayout(prefix, 16);
    const client = new Redis(redis.url());
    const tricky = ['quote" and \\ backslash', "ctl \u0001\n\t", "ünïcødé ✓ 🎉", "\\u0041", "lone \ud800", '","role":"user'];
    try {
      // A trim by turns starts at a user message by its role, whatever an id says (this assistant's reads like a user's JSON).
      const { sessionId } = await store.create(newSession(), T0);
      const append = (...messages: StoredMessage[]) => store.update({ sessionId, messages, changes: {} }, T0);
      await append(message("u1", "user"), message('","role":"user', "assistant"));
      await append(message("u2", "user"));
      expect((await append(message("a2", "assistant"))).trimmed).toBe(2);
      expect(texts((await store.get(sessionId, {}, T0)).messages)).toEqual(["u2", "a2"]);
      // Trimmed ids are freed from the index: every tricky one, once trimmed away.
      for (const id of tricky) await append(message(id, "user"), message(`${id} answer`, "assistant"));
      await append(message("u9", "user"));
      await append(message("a9", "assistant"));
      const index = `${keys.bucket(keys.home(sessionId))}i:${sessionId}`;
      expect((await client.hkeys(index)).sort()).toEqual(["", "a9", "u9"].sort());
      // A fork without atMessageId records its parent's last message's id.
      for (const id of tricky) {
        await append(message(id, "user"));
        const fork = newSession().sessionId;
        const forked = await store.fork({ parentSessionId: sessionId, sessionId: fork, cwd: "/f", mcpServers: [], title: undefined }, T0);
        expect(forked.forkedAtMessageId).toBe(Buffer.from(id).toString());
      }
    } finally {
      client.disconnect();
    }
  });

  it("a truncate a fork reads past renames the old segment and frees what the fork does not read; another handle sees it", async () => {
    const prefix = freshPrefix("t");
    const a = await open({}, prefix);
    const b = await open({}, prefix);
    const keys = new KeyLayout(prefix, 16);
    const client = new Redis(redis.url());
    try {
      const { sessionId } = await a.create(newSession(), T0);
      await a.update({ sessionId, messages: ["m1", "m2", "m3", "m4"].map((id) => message(id)), changes: {} }, T0);
      const fork = newSession().sessionId;
      await a.fork({ parentSessionId: sessionId, sessionId: fork, cwd: "/f", mcpServers: [], title: undefined, atMessageId: "m3" }, T0);
      // Read twice each, so that b holds both records and windows.
      for (const id of [sessionId, fork, sessionId, fork]) await b.get(id, {}, T0);
      await a.truncate({ sessionId, fromMessageId: "m2" }, T0);
      const at = keys.bucket(keys.home(sessionId));
      // Named after the session and the revision it had; kept as far as the fork reads, its ids with it.
      const renamed = `${sessionId}#2`;
      expect(await client.lrange(`${at}d:${renamed}`, 0, -1)).toEqual(["um1", "um2", "um3"]);
      expect((await client.hkeys(`${at}i:${renamed}`)).sort()).toEqual(["", "m1", "m2", "m3"]);
      expect(await client.exists(`${at}m:${sessionId}`, `${at}d:${sessionId}`, `${at}i:${sessionId}`, `${at}c:${sessionId}`)).toBe(0);
      expect(texts((await b.get(sessionId, {}, T0)).messages)).toEqual(["m1"]);
      expect(texts((await b.get(fork, {}, T0)).messages)).toEqual(["m1", "m2", "m3"]);
      expect((await b.update({ sessionId, messages: [message("m2")], changes: {} }, T0)).appended).toBe(1);
      expect(texts((await a.get(sessionId, {}, T0)).messages)).toEqual(["m1", "m2"]);
      await b.remove(fork);
      expect(await client.lrange(`${at}d:${renamed}`, 0, -1)).toEqual(["um1"]);
      expect(texts((await a.get(sessionId, {}, T0)).messages)).toEqual(["m1", "m2"]);
      await a.remove(sessionId);
      expect(await a.footprint()).toEqual({ keys: 0 });
    } finally {
      client.disconnect();
    }
  });

  it("expires a session by its true deadline when the deadline index holds an earlier one", async () => {
    const store = await open({ maxIdleMs: HOUR });
    const { sessionId } = await store.create(newSession(), T0);
    // Within a sixteenth of the idle age (at most a second) the index keeps the deadline of T0.
    await store.update({ sessionId, messages: [message("m1")], changes: {} }, T0 + 500);
    expect((await store.get(sessionId, {}, T0 + 700)).session.lastAccessed).toBe(T0 + 700);
    expect(await store.expireDue(T0 + HOUR, 10)).toEqual([]);
    expect(await store.expireDue(T0 + 700 + HOUR - 1, 10)).toEqual([]);
    expect(await store.has(sessionId)).toBe(true);
    const [expired] = await store.expireDue(T0 + 700 + HOUR, 10);
    expect(expired).toMatchObject({ sessionId, lastAccessed: T0 + 700, messageCount: 1, action: "delete" });
    expect(await store.footprint()).toEqual({ keys: 0 });
  });

  it("keeps any text whole, and one odd request never fails the others pipelined with it", async () => {
    const store = await open();
    const odd = ['quote" and \\ backslash', "new\nline", "tab\t", "ünïcødé ✓ 🎉", "{not json", "", " "];
    const sessions = await Promise.all(odd.map((title) => store.create(newSession({ title, cwd: `/w/${title}` }), T0)));
    const results = await Promise.allSettled([
      ...sessions.map((s, i) =>
        store.update({ sessionId: s.sessionId, messages: [message(`id ${odd[i]}`)], changes: { title: odd[i]! + "!" } }, T0),
      ),
      store.update({ sessionId: sessions[0]!.sessionId, messages: [], changes: { title: "\ud800 lone surrogate" } }, T0),
      store.get("missing", {}, T0),
    ]);
    expect(results.slice(0, odd.length + 1).every((r) => r.status === "fulfilled")).toBe(true);
    for (const [i, s] of sessions.entries()) {
      const { session, messages } = await store.get(s.sessionId, {}, T0);
      expect(session.cwd).toBe(`/w/${odd[i]}`);
      expect(texts(messages)).toEqual([`id ${odd[i]}`]);
      if (i > 0) expect(session.title).toBe(odd[i]! + "!");
    }
  });
});

describe.skipIf(noRedis)("redis store: the change streams", () => {
  const bucketKey = (prefix: string, sessionId: string, name: string) => {
    const keys = new KeyLayout(prefix, 16);
    return name === "changes" ? keys.index(keys.home(sessionId), "changes") : keys.session(keys.home(sessionId), sessionId);
  };

  it("writes nothing for a session nobody watches, and only while it is watched", async () => {
    const prefix = freshPrefix("t");
    const store = await open({}, prefix);
    const raw = new Redis(redis.url());
    try {
      const { sessionId } = await store.create(newSession(), T0);
      await store.update({ sessionId, messages: [message("m1")], changes: { title: "t" } }, T0);
      await store.setArchived(sessionId, true, T0);
      expect(await raw.exists(bucketKey(prefix, sessionId, "changes"))).toBe(0);
      expect(await raw.hexists(bucketKey(prefix, sessionId, "s"), "wu")).toBe(0);
      const h = heard();
      const sub = await store.subscribe(sessionId, undefined, h.listener);
      await store.update({ sessionId, messages: [message("m2")], changes: {} }, T0);
      await h.until(1);
      expect(await raw.xlen(bucketKey(prefix, sessionId, "changes"))).toBe(1);
      sub.close();
      await raw.hset(bucketKey(prefix, sessionId, "s"), "wu", 1);
      await store.update({ sessionId, messages: [message("m3")], changes: {} }, T0);
      expect(await raw.xlen(bucketKey(prefix, sessionId, "changes"))).toBe(1);
    } finally {
      raw.disconnect();
    }
  });

  it("a subscriber that missed a change (its watch lapsed meanwhile) hears `lagged`, then every change again", async () => {
    const prefix = freshPrefix("t");
    const subscriber = await open({}, prefix);
    const writer = await open({}, prefix);
    const raw = new Redis(redis.url());
    try {
      const { sessionId } = await writer.create(newSession(), T0);
      const h = heard();
      const sub = await subscriber.subscribe(sessionId, undefined, h.listener);
      const append = (id: string) => writer.update({ sessionId, messages: [message(id)], changes: {} }, T0);
      await append("m1");
      await h.until(1);
      await raw.hset(bucketKey(prefix, sessionId, "s"), "wu", 1);
      await append("m2");
      await raw.hset(bucketKey(prefix, sessionId, "s"), "wu", Date.now() + 60_000);
      await append("m3");
      await append("m4");
      await h.until(3);
      expect(summary(h.events)).toEqual([
        { type: "appended", revision: 2, messageCount: 1, ids: ["m1"], trimmed: 0 },
        { type: "lagged", revision: 4, messageCount: 3 },
        { type: "appended", revision: 5, messageCount: 4, ids: ["m4"], trimmed: 0 },
      ]);
      sub.close();
    } finally {
      raw.disconnect();
    }
  });

  it("a fork living in another bucket than its id's is followed there", async () => {
    const prefix = freshPrefix("t");
    const subscriber = await open({}, prefix);
    const writer = await open({}, prefix);
    const { sessionId } = await writer.create(newSession(), T0);
    await writer.update({ sessionId, messages: [message("m1")], changes: {} }, T0);
    const keys = new KeyLayout(prefix, 16);
    let forkId = newSession().sessionId;
    while (keys.home(forkId) === keys.home(sessionId)) forkId = newSession().sessionId;
    await writer.fork({ parentSessionId: sessionId, sessionId: forkId, cwd: "/f", mcpServers: [], title: undefined }, T0);
    const h = heard();
    const sub = await subscriber.subscribe(forkId, "m1", h.listener);
    expect(sub.messages).toEqual([]);
    await writer.update({ sessionId: forkId, messages: [message("f1")], changes: {} }, T0);
    await h.until(1);
    expect(summary(h.events)).toEqual([{ type: "appended", revision: 2, messageCount: 2, ids: ["f1"], trimmed: 0 }]);
    sub.close();
  });
});

describe.skipIf(noBinary)("redis store: start-up and faults", () => {
  let own: RedisServer | undefined;
  afterEach(async () => {
    await redis.closeOpened();
    await own?.stop();
    own = undefined;
  });

  it("refuses to start when Redis is unreachable, with a one-line StoreOpenError", async () => {
    const err = await openRedisStore("redis://127.0.0.1:1", { maxIdleMs: HOUR }, redisBackend("x:")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreOpenError);
    expect((err as Error).message).toMatch(/^cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
    expect((err as Error).message).not.toContain("\n");
  });

  it("waits for Redis at start-up when asked to", async () => {
    const probe = await RedisServer.start();
    const port = probe.port;
    await probe.stop();
    const opening = openRedisStore(`redis://127.0.0.1:${port}`, { maxIdleMs: HOUR }, redisBackend(freshPrefix("t"), 16, 60_000));
    own = await RedisServer.start({ port });
    const store = redis.track(await opening);
    expect((await store.create(newSession(), T0)).revision).toBe(1);
  });

  it("reads user, password and database from the URL, and fails at once on a wrong password", async () => {
    own = await RedisServer.start({ args: ["--requirepass", "s3cret"] });
    const store = await open({}, freshPrefix("t"), `redis://:s3cret@127.0.0.1:${own.port}/3`);
    const { sessionId } = await store.create(newSession(), T0);
    expect(own.cli("-a", "s3cret", "--no-auth-warning", "-n", "3", "dbsize").trim()).not.toBe("0");
    expect(own.cli("-a", "s3cret", "--no-auth-warning", "-n", "0", "dbsize").trim()).toBe("0");
    expect(await store.has(sessionId)).toBe(true);
    const err = await openRedisStore(
      `redis://default:wrong@127.0.0.1:${own.port}`,
      { maxIdleMs: HOUR },
      redisBackend("x:", 16, 60_000),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreOpenError);
    expect((err as Error).message).toMatch(/WRONGPASS|invalid/);
  });

  it("fails requests fast with StoreUnavailableError while Redis is down, and serves again once it is back", async () => {
    own = await RedisServer.start({ appendonly: true });
    const store = await open({}, freshPrefix("t"), own.url);
    const { sessionId } = await store.create(newSession(), T0);
    await store.update({ sessionId, messages: [message("before")], changes: {} }, T0);
    await own.kill();
    const attempts = [
      () => store.get(sessionId, {}, T0),
      () => store.update({ sessionId, messages: [message("during")], changes: {} }, T0),
      () => store.create(newSession(), T0),
      () => store.list({ limit: 10 }),
      () => store.expireDue(T0, 10),
    ];
    for (const attempt of attempts) {
      const started = Date.now();
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      // A failure, not a hang: well under the client's patience (the store's own bound is about 1 s).
      expect(Date.now() - started).toBeLessThan(10_000);
    }
    await own.start();
    const after = await eventually(() => store.get(sessionId, {}, T0), "the store to serve again");
    expect(texts(after.messages)).toEqual(["before"]);
    expect((await store.update({ sessionId, messages: [message("after")], changes: {} }, T0)).session.messageCount).toBe(2);
  });

  it("loses no acknowledged write when Redis crashes, with appendonly yes", async () => {
    own = await RedisServer.start({ appendonly: true });
    const store = await open({}, freshPrefix("t"), own.url);
    const { sessionId } = await store.create(newSession(), T0);
    const acknowledged: string[] = [];
    let stop = false;
    let counter = 0;
    // Four writers keep appends in flight (pipelined) while the server is killed.
    const writers = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const id = `m${++counter}`;
        try {
          await store.update({ sessionId, messages: [message(id)], changes: {} }, T0);
          acknowledged.push(id);
        } catch {
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    });
    await eventually(async () => acknowledged.length >= 2000, "2,000 acknowledged appends");
    await own.kill();
    stop = true;
    await Promise.all(writers);
    await own.start();
    const stored = new Set(texts((await eventually(() => store.get(sessionId, {}, T0), "the store to serve again")).messages));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  });
});
