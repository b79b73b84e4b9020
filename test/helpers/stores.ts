import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../../src/config.js";
import { RedisServer, redisUnavailable } from "./redis-server.js";

export interface StoreUnderTest {
  name: string;
  /** Config for a fresh, empty store. */
  config: () => Promise<Partial<Config>>;
}

let fresh = 0;
const dirs: string[] = [];
let redis: Promise<RedisServer> | undefined;

/**
 * Every backend this run can reach: memory always, SQLite when better-sqlite3 loads, Redis at REDIS_URL
 * or else on a redis-server of its own, started on first use. A file using it calls `stopStores` in afterAll.
 */
export function availableStores(): StoreUnderTest[] {
  const stores: StoreUnderTest[] = [{ name: "memory", config: async () => ({ store: "memory" }) }];
  if (sqliteAvailable()) {
    stores.push({
      name: "sqlite",
      config: async () => {
        const dir = mkdtempSync(join(tmpdir(), "acp-stores-"));
        dirs.push(dir);
        return { store: `sqlite:${join(dir, "s.db")}` };
      },
    });
  }
  if (redisUnavailable({ binary: false }) === undefined) {
    stores.push({ name: "redis", config: async () => ({ store: await redisUrl(), redisPrefix: `stores-${process.pid}-${++fresh}:` }) });
  }
  return stores;
}

/** Stops the redis-server `availableStores` started and removes the SQLite files it made. */
export async function stopStores(): Promise<void> {
  const server = redis;
  redis = undefined;
  await (await server)?.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

function redisUrl(): Promise<string> | string {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  redis ??= RedisServer.start();
  return redis.then((server) => server.url);
}

function sqliteAvailable(): boolean {
  try {
    import.meta.resolve("better-sqlite3");
    return true;
  } catch {
    return false;
  }
}
