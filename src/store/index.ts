import type { Logger } from "../log.js";
import { MemoryStore } from "./memory.js";
import type { SessionStore, StoreOptions } from "./types.js";

export type { SessionStore } from "./types.js";

/** A store that cannot be opened: the message says which and why, for a one-line start-up error. */
export class StoreOpenError extends Error {}

export interface BackendOptions {
  log: Logger;
  /** Key prefix in Redis, so deployments sharing one server do not see each other's sessions. */
  redisPrefix: string;
  /** How many buckets sessions are spread over in Redis (recorded on first use). */
  redisBuckets: number;
  /** How long to wait for the backend at start-up; 0 = fail at once. */
  storeWaitMs: number;
}

/** Whether a store URL names Redis or Redis Cluster (a store that lives outside the process). */
export function isRedisStore(url: string): boolean {
  return /^(redis|rediss|redis-cluster):\/\//.test(url);
}

/**
 * Picks the backend from a store URL: `memory` (the default), `sqlite:<path>`, `redis://…`,
 * `rediss://…` or `redis-cluster://host:port,…`. Backends other than memory load only when asked for,
 * so a missing optional dependency never blocks the others.
 */
export async function createStore(url: string, options: StoreOptions, backend: BackendOptions): Promise<SessionStore> {
  if (url === "memory" || url === "memory:") return new MemoryStore(options);
  if (url.startsWith("sqlite:")) {
    const { openSqliteStore } = await import("./sqlite.js");
    return openSqliteStore(url.slice("sqlite:".length), options, backend);
  }
  if (isRedisStore(url)) {
    const { openRedisStore } = await import("./redis.js");
    return openRedisStore(url, options, backend);
  }
  throw new StoreOpenError(
    `unknown store ${JSON.stringify(url)}: expected memory, sqlite:<path>, redis://host:port or redis-cluster://host:port,…`,
  );
}
