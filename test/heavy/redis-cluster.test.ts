import { Cluster } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openRedisStore, type RedisStore } from "../../src/store/redis/store.js";
import type { StoreOptions } from "../../src/store/types.js";
import { RedisCluster, skipWithoutRedis } from "../helpers/redis-server.js";
import { killAll, spawnSidecar, until } from "../helpers/sidecar.js";
import { message, newSession } from "../store/contract.js";
import { HOUR, freshPrefix, redisBackend, redisContract, twoListeners } from "../store/redis/harness.js";

// The same store on a Redis Cluster of three masters: the contract, the spread, and sidecars sharing it.
const noCluster = skipWithoutRedis("the Redis Cluster tests");

const T0 = Date.UTC(2026, 0, 1);
let cluster: RedisCluster | undefined;

/** Expiry events in every bucket's stream under the prefix. */
async function expiryEvents(prefix: string): Promise<number> {
  const client = new Cluster(cluster!.nodes.map((n) => ({ host: "127.0.0.1", port: n.port })));
  try {
    const lengths = await Promise.all(Array.from({ length: 16 }, (_, b) => client.xlen(`${prefix}{b${b}}:events`)));
    return lengths.reduce((a, b) => a + b, 0);
  } finally {
    client.disconnect();
  }
}

const opened: RedisStore[] = [];
async function open(options: Partial<StoreOptions> = {}, prefix = freshPrefix("c")): Promise<RedisStore> {
  const store = await openRedisStore(cluster!.url, { maxIdleMs: HOUR, ...options }, redisBackend(prefix));
  opened.push(store);
  return store;
}

beforeAll(async () => {
  if (!noCluster) cluster = await RedisCluster.start();
});
afterEach(async () => {
  killAll();
  await Promise.all(opened.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await cluster?.stop();
});

describe.skipIf(noCluster)("redis store on a Redis Cluster", () => {
  redisContract("redis cluster", () => cluster!.url, "c");

  it("spreads the sessions' keys over every master", async () => {
    const prefix = freshPrefix("c");
    const store = await open({}, prefix);
    for (let i = 0; i < 64; i++) {
      const { sessionId } = await store.create(newSession(), T0);
      await store.update({ sessionId, messages: [message(`m${i}`)], changes: {} }, T0);
    }
    for (const node of cluster!.nodes) {
      const keys = node.cli("--scan", "--pattern", `${prefix}*`).split("\n").filter(Boolean);
      expect(keys.filter((k) => k.includes(":s:")).length).toBeGreaterThan(0);
    }
  });

  it("announces every expiry to every handle once, reading each master's streams", async () => {
    const { a, b, heard } = await twoListeners(open, freshPrefix("c"));
    const created: string[] = [];
    for (let i = 0; i < 30; i++) created.push((await a.create(newSession(), T0)).sessionId);
    const expired = [...(await b.expireDue(T0 + 10, 11)), ...(await a.expireDue(T0 + 10, 100))];
    expect(expired.map((e) => e.sessionId).sort()).toEqual([...created].sort());
    const last = (await a.create(newSession(), T0 + 100)).sessionId;
    await b.expireDue(T0 + 110, 100);
    await until(() => heard.a.some((e) => e.sessionId === last) && heard.b.some((e) => e.sessionId === last), "the last expiry", 30_000);
    for (const events of [heard.a, heard.b]) expect(events.map((e) => e.sessionId).sort()).toEqual([...created, last].sort());
  });

  it("two sidecars on the cluster share sessions; expiry is applied once and every client is told once", async () => {
    const prefix = freshPrefix("c");
    const args = ["--store", cluster!.url, "--redis-prefix", prefix, "--max-session-age", "1500ms", "--cleanup-interval", "300ms"];
    const one = spawnSidecar(args);
    const two = spawnSidecar(args);
    const { sessionId } = await one.ok("session/new", { cwd: "/w" });
    const forked = await two.ok("session/fork", { sessionId, cwd: "/w" });
    await two.ok("session/update", { sessionId: forked.sessionId, messages: [{ role: "user", content: "hi" }] });
    const read = await one.ok("session/get", { sessionId: forked.sessionId });
    expect(read.session.context.map((m: any) => m.content)).toEqual(["hi"]);
    const expiredIn = (s: typeof one) =>
      s
        .notifications("session/expired")
        .map((p: any) => p.sessionId)
        .sort();
    await until(() => expiredIn(one).length >= 2 && expiredIn(two).length >= 2, "both sidecars to announce both expiries", 60_000);
    expect(expiredIn(one)).toEqual([sessionId, forked.sessionId].sort());
    expect(expiredIn(two)).toEqual([sessionId, forked.sessionId].sort());
    // Each deletion writes its event in the same script: one event per session means one deletion.
    expect(await expiryEvents(prefix)).toBe(2);
  });
});
