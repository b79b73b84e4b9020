import type { Logger, LogLevel } from "./log.js";
import type { BackendOptions, StoreOptions } from "./store/types.js";

export interface Config {
  /** "memory" (default); later backends by URL. */
  store: string;
  maxSessionAgeMs: number;
  cleanupIntervalMs: number;
  /** What the reaper does with a session idle past its age. */
  onExpire: "delete" | "archive";
  /** Hard cap since creation; undefined = off. */
  maxSessionLifetimeMs: number | undefined;
  maxMessageBytes: number;
  maxSessions: number;
  maxContextMessages: number;
  maxContentBytes: number;
  onContextFull: "reject" | "trim";
  logLevel: LogLevel;
  redisPrefix: string;
  redisBuckets: number;
  /** How long to wait for the store at start-up; 0 = fail at once. */
  storeWaitMs: number;
  /** Bytes of subscription notifications held per connection while its client is not reading. */
  maxNotificationBacklogBytes: number;
}

/** What the store is told of the configuration: the sidecar's and the import command's store alike. */
export function storeOptions(config: Config): StoreOptions {
  return {
    maxIdleMs: config.maxSessionAgeMs,
    onExpire: config.onExpire,
    maxLifetimeMs: config.maxSessionLifetimeMs,
    maxSessions: config.maxSessions,
    maxContextMessages: config.maxContextMessages,
    onContextFull: config.onContextFull,
  };
}

export function backendOptions(config: Config, log: Logger): BackendOptions {
  return { log, redisPrefix: config.redisPrefix, redisBuckets: config.redisBuckets, storeWaitMs: config.storeWaitMs };
}

export const DEFAULT_CONFIG: Config = {
  store: "memory",
  maxSessionAgeMs: 3_600_000,
  cleanupIntervalMs: 300_000,
  onExpire: "delete",
  maxSessionLifetimeMs: undefined,
  maxMessageBytes: 32 * 1024 * 1024,
  maxSessions: 100_000,
  maxContextMessages: 10_000,
  maxContentBytes: 1024 * 1024,
  onContextFull: "reject",
  logLevel: "warn",
  redisPrefix: "acp-sessions:",
  redisBuckets: 16,
  storeWaitMs: 0,
  maxNotificationBacklogBytes: 16 * 1024 * 1024,
};
