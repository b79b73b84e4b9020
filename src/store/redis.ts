import type { BackendOptions } from "./index.js";
import { StoreOpenError } from "./index.js";
import type { SessionStore, StoreOptions } from "./types.js";

// Being written: replaced by the real backend before this lands.
export async function openRedisStore(target: string, _options: StoreOptions, _backend: BackendOptions): Promise<SessionStore> {
  throw new StoreOpenError(`redis store not available yet: ${target}`);
}
