/** What the Redis store's test files share: a server per file, fresh key prefixes, backend options, the contract run. */
import { afterAll, afterEach, beforeAll } from "vitest";
import { silentLogger } from "../../../src/log.js";
import type { BackendOptions } from "../../../src/store/types.js";
import { openRedisStore, type RedisStore } from "../../../src/store/redis/store.js";
import type { ExpiredSession, StoreOptions } from "../../../src/store/types.js";
import { RedisServer } from "../../helpers/redis-server.js";
import { sharedDataHarness, storeContract } from "../contract.js";

export const HOUR = 3_600_000;

let prefixes = 0;
/** A key prefix no other test (or earlier run against the same server) has used. */
export const freshPrefix = (tag: string) => `${tag}${process.pid}-${Date.now()}-${++prefixes}:`;

export const redisBackend = (redisPrefix: string, redisBuckets = 16, storeWaitMs = 0): BackendOptions => ({
  log: silentLogger,
  redisPrefix,
  redisBuckets,
  storeWaitMs,
});

/**
 * The Redis a test file runs against: REDIS_URL when set, else a redis-server of its own started before
 * its tests (none when `skip`). Store handles opened through `open` are closed after each test.
 */
export function redisForFile(skip: boolean) {
  let server: RedisServer | undefined;
  let url = process.env.REDIS_URL ?? "";
  const opened: RedisStore[] = [];
  beforeAll(async () => {
    if (skip || process.env.REDIS_URL) return;
    server = await RedisServer.start();
    url = server.url;
  });
  const closeOpened = async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  };
  afterEach(closeOpened);
  afterAll(async () => {
    await server?.stop();
  });
  return {
    url: () => url,
    /** Closes the handles `open` made; for a test that must close them before stopping a server of its own. */
    closeOpened,
    /** Closes a handle opened elsewhere along with the others. */
    track(store: RedisStore): RedisStore {
      opened.push(store);
      return store;
    },
    async open(options: Partial<StoreOptions> = {}, prefix = freshPrefix("t"), target = url): Promise<RedisStore> {
      const store = await openRedisStore(target, { maxIdleMs: HOUR, ...options }, redisBackend(prefix));
      opened.push(store);
      return store;
    },
  };
}

/** The shared store contract against the server at `url()`, each test under a prefix of its own. */
export function redisContract(name: string, url: () => string, tag: string): void {
  storeContract(name, () => {
    const prefix = freshPrefix(tag);
    return sharedDataHarness((options) => openRedisStore(url(), options, redisBackend(prefix)));
  });
}

/** Two handles on one prefix with a 10 ms idle age, each recording the expiries it is told of. */
export async function twoListeners(open: (options: Partial<StoreOptions>, prefix: string) => Promise<RedisStore>, prefix: string) {
  const a = await open({ maxIdleMs: 10 }, prefix);
  const b = await open({ maxIdleMs: 10 }, prefix);
  const heard = { a: [] as ExpiredSession[], b: [] as ExpiredSession[] };
  a.onExpired((e) => heard.a.push(e));
  b.onExpired((e) => heard.b.push(e));
  return { a, b, heard };
}
