import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../../src/config.js";

export interface StoreUnderTest {
  name: string;
  /** Config for a fresh, empty store. */
  config: () => Promise<Partial<Config>>;
}

let fresh = 0;

/** Every backend this run can reach: memory always, SQLite when better-sqlite3 loads, Redis when REDIS_URL is set. */
export function availableStores(): StoreUnderTest[] {
  const stores: StoreUnderTest[] = [{ name: "memory", config: async () => ({ store: "memory" }) }];
  if (sqliteAvailable()) {
    stores.push({ name: "sqlite", config: async () => ({ store: `sqlite:${join(mkdtempSync(join(tmpdir(), "acp-model-")), "s.db")}` }) });
  }
  const redisUrl = process.env.REDIS_URL;
  if (redisUrl) stores.push({ name: "redis", config: async () => ({ store: redisUrl, redisPrefix: `model-${process.pid}-${++fresh}:` }) });
  return stores;
}

function sqliteAvailable(): boolean {
  try {
    import.meta.resolve("better-sqlite3");
    return true;
  } catch {
    return false;
  }
}
