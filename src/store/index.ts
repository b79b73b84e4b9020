import { StoreOpenError } from "./errors.js";
import { MemoryStore } from "./memory/store.js";
import { refuseNonDurableSqlitePath } from "./store-url.js";
import type { BackendOptions, SessionStore, StoreOptions } from "./types.js";

export type { SessionStore } from "./types.js";
export { StoreUrlError } from "./store-url.js";

/** Whether a store URL names Redis or Redis Cluster (a store that lives outside the process). */
export function isRedisStore(url: string): boolean {
  return /^(redis|rediss|redis-cluster):\/\//.test(url);
}

/**
 * Picks the backend from a store URL: `memory` (the default), `sqlite:<path>` (a file: never a directory
 * or an in-memory database), `redis://…`, `rediss://…` or `redis-cluster://host:port,…`. Backends other
 * than memory load only when asked for, so a missing optional dependency never blocks the others.
 */
export async function createStore(url: string, options: StoreOptions, backend: BackendOptions): Promise<SessionStore> {
  if (url === "memory" || url === "memory:") return new MemoryStore(options);
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length);
    refuseNonDurableSqlitePath(path);
    const { openSqliteStore } = await import("./sqlite/store.js");
    return openSqliteStore(path, options, backend);
  }
  if (isRedisStore(url)) {
    const { openRedisStore } = await import("./redis/store.js");
    return openRedisStore(url, options, backend);
  }
  throw new StoreOpenError(
    `unknown store ${JSON.stringify(url)}: expected memory, sqlite:<path>, redis://host:port or redis-cluster://host:port,…`,
  );
}
