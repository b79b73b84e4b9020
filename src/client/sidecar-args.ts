import type { Config } from "../config.js";
import type { LogLevel } from "../log.js";

/** A duration as the command line takes it ("250ms", "30s", "5m", "1h", "1d"), or milliseconds. */
export type Duration = string | number;

/** The sidecar's settings, each passed as its command-line flag; unset ones keep the sidecar's default. */
export interface SidecarOptions {
  /** Where sessions live: "memory", "sqlite:<path>", "redis://…", "redis-cluster://…". */
  store?: string;
  maxSessionAge?: Duration;
  cleanupInterval?: Duration;
  onExpire?: Config["onExpire"];
  maxSessionLifetime?: Duration;
  /** Largest message the sidecar accepts (see `maxReceiveBytes` for the client's own limit). */
  maxMessageBytes?: number;
  maxSessions?: number;
  maxContextMessages?: number;
  maxContentBytes?: number;
  onContextFull?: Config["onContextFull"];
  redisPrefix?: string;
  redisBuckets?: number;
  storeWait?: Duration;
  logLevel?: LogLevel;
  /** Bytes of subscription notifications held for a client that is not reading (default 16 MiB). */
  maxNotificationBacklog?: number;
}

const FLAGS = {
  store: "--store",
  maxSessionAge: "--max-session-age",
  cleanupInterval: "--cleanup-interval",
  onExpire: "--on-expire",
  maxSessionLifetime: "--max-session-lifetime",
  maxMessageBytes: "--max-message-bytes",
  maxSessions: "--max-sessions",
  maxContextMessages: "--max-context-messages",
  maxContentBytes: "--max-content-bytes",
  onContextFull: "--on-context-full",
  redisPrefix: "--redis-prefix",
  redisBuckets: "--redis-buckets",
  storeWait: "--store-wait",
  logLevel: "--log-level",
  maxNotificationBacklog: "--max-notification-backlog",
} as const satisfies Record<keyof Required<SidecarOptions>, `--${string}`>;

/** The command-line arguments that give a sidecar these settings. */
export function sidecarArgs(options: SidecarOptions): string[] {
  const args: string[] = [];
  for (const [key, flag] of Object.entries(FLAGS) as [keyof SidecarOptions, string][]) {
    const value = options[key];
    if (value !== undefined) args.push(flag, String(value));
  }
  return args;
}
