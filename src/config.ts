import type { LogLevel } from "./log.js";

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
