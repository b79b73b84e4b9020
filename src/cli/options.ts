import { type Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_CONFIG, type Config } from "../config.js";
import { formatDuration, parseDuration } from "../duration.js";
import { LOG_LEVELS, type LogLevel } from "../log.js";

function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError("expected a duration such as 250ms, 30s, 5m, 1h, 1d or milliseconds.");
  return ms;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive whole number.");
  return n;
}

/** A count a command takes, such as `show --tail`: 0 or more. */
export function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("expected a whole number (0 or more).");
  return n;
}

function positiveDuration(value: string): number {
  const ms = duration(value);
  if (ms < 1) throw new InvalidArgumentError("must be at least 1ms.");
  return ms;
}

const option = (flags: string, description: string, env: string) => new Option(flags, description).env(`ACP_SESSIONS_${env}`);

/** Adds every setting of the server, each a flag and an environment variable (ACP_SESSIONS_…), with its default. */
export function addConfigOptions(program: Command): Command {
  const d = DEFAULT_CONFIG;
  return program
    .addOption(
      option(
        "--store <url>",
        "where sessions live: memory, sqlite:<path>, redis://[user:password@]host:port[/db], rediss://…, redis-cluster://host:port[,host:port…]",
        "STORE",
      ).default(d.store),
    )
    .addOption(option("--redis-prefix <prefix>", "key prefix in Redis", "REDIS_PREFIX").default(d.redisPrefix))
    .addOption(
      option("--redis-buckets <n>", "buckets sessions are spread over in Redis (fixed on first use)", "REDIS_BUCKETS")
        .argParser(positiveInt)
        .default(d.redisBuckets),
    )
    .addOption(
      option("--store-wait <duration>", "wait this long for the store at start-up instead of failing at once", "STORE_WAIT")
        .argParser(duration)
        .default(d.storeWaitMs, "0"),
    )
    .addOption(
      option("--max-session-age <duration>", "remove a session idle this long", "MAX_SESSION_AGE")
        .argParser(positiveDuration)
        .default(d.maxSessionAgeMs, formatDuration(d.maxSessionAgeMs)),
    )
    .addOption(
      option("--cleanup-interval <duration>", "how often the reaper looks for idle sessions", "CLEANUP_INTERVAL")
        .argParser(positiveDuration)
        .default(d.cleanupIntervalMs, formatDuration(d.cleanupIntervalMs)),
    )
    .addOption(
      option("--on-expire <action>", "what the reaper does with an idle session", "ON_EXPIRE")
        .choices(["delete", "archive"])
        .default(d.onExpire),
    )
    .addOption(
      option(
        "--max-session-lifetime <duration>",
        "delete any session this old, active or archived (default: off)",
        "MAX_SESSION_LIFETIME",
      ).argParser(positiveDuration),
    )
    .addOption(
      option("--max-message-bytes <bytes>", "largest wire message; a larger one is answered -32600", "MAX_MESSAGE_BYTES")
        .argParser(positiveInt)
        .default(d.maxMessageBytes, "32 MiB"),
    )
    .addOption(option("--max-sessions <n>", "most sessions held", "MAX_SESSIONS").argParser(positiveInt).default(d.maxSessions))
    .addOption(
      option("--max-context-messages <n>", "most messages in one session", "MAX_CONTEXT_MESSAGES")
        .argParser(positiveInt)
        .default(d.maxContextMessages),
    )
    .addOption(
      option("--max-content-bytes <bytes>", "largest stored message, encoded", "MAX_CONTENT_BYTES")
        .argParser(positiveInt)
        .default(d.maxContentBytes, "1 MiB"),
    )
    .addOption(
      option(
        "--on-context-full <policy>",
        "at --max-context-messages: refuse the update, or drop the oldest whole turns",
        "ON_CONTEXT_FULL",
      )
        .choices(["reject", "trim"])
        .default(d.onContextFull),
    )
    .addOption(
      option(
        "--max-notification-backlog <bytes>",
        "subscription notifications held for a client that is not reading; past it a session's are dropped for one `lagged`",
        "MAX_NOTIFICATION_BACKLOG",
      )
        .argParser(positiveInt)
        .default(d.maxNotificationBacklogBytes, "16 MiB"),
    )
    .addOption(option("--log-level <level>", "what goes to stderr", "LOG_LEVEL").choices(LOG_LEVELS).default(d.logLevel));
}

/** The Config that the parsed options (commander's `opts()`) describe. */
export function configFrom(opts: Record<string, unknown>): Config {
  return {
    store: String(opts.store),
    maxSessionAgeMs: opts.maxSessionAge as number,
    cleanupIntervalMs: opts.cleanupInterval as number,
    onExpire: opts.onExpire as Config["onExpire"],
    maxSessionLifetimeMs: opts.maxSessionLifetime as number | undefined,
    maxMessageBytes: opts.maxMessageBytes as number,
    maxSessions: opts.maxSessions as number,
    maxContextMessages: opts.maxContextMessages as number,
    maxContentBytes: opts.maxContentBytes as number,
    onContextFull: opts.onContextFull as Config["onContextFull"],
    redisPrefix: String(opts.redisPrefix),
    redisBuckets: opts.redisBuckets as number,
    storeWaitMs: opts.storeWait as number,
    maxNotificationBacklogBytes: opts.maxNotificationBacklog as number,
    logLevel: opts.logLevel as LogLevel,
  };
}
