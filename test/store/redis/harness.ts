/** What the Redis store's test files share: fresh key prefixes, backend options, and the contract run. */
import { silentLogger } from "../../../src/log.js";
import type { BackendOptions } from "../../../src/store/types.js";
import { openRedisStore, type RedisStore } from "../../../src/store/redis/store.js";
import type { ExpiredSession, StoreOptions } from "../../../src/store/types.js";
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
