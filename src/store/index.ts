import { MemoryStore } from "./memory.js";
import type { SessionStore, StoreOptions } from "./types.js";

export type { SessionStore } from "./types.js";

export class StoreConfigError extends Error {}

/** Picks the backend from a store URL: `memory` (the default). */
export async function createStore(url: string, options: StoreOptions): Promise<SessionStore> {
  if (url === "memory" || url === "memory:") return new MemoryStore(options);
  throw new StoreConfigError(`unknown store ${JSON.stringify(url)}: expected "memory"`);
}
