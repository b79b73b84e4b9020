import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { callCommand, CommandError, lsCommand, rmCommand, schemaCommand, showCommand } from "./commands.js";
import { DEFAULT_CONFIG, type Config } from "../config.js";
import { formatDuration, parseDuration } from "../duration.js";
import { LOG_LEVELS, createLogger, type LogLevel } from "../log.js";
import { serve } from "../main.js";
import { StoreUrlError, isRedisStore } from "../store/index.js";
import { openStdin, openStdout } from "../transport/stdio.js";

export const VERSION: string = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")).version;

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

function positiveDuration(value: string): number {
  const ms = duration(value);
  if (ms < 1) throw new InvalidArgumentError("must be at least 1ms.");
  return ms;
}

const option = (flags: string, description: string, env: string) => new Option(flags, description).env(`ACP_SESSIONS_${env}`);

export function buildProgram(onServe: (config: Config) => Promise<void>): Command {
  const d = DEFAULT_CONFIG;
  const program = new Command("acp-sessions")
    .description(
      "A session store for ACP agents and editors: JSON-RPC 2.0 over stdio (newline-delimited, or LSP framing).\n" +
        "With no command it serves stdio; call, ls, show and rm spawn a sidecar with these options and talk to it.",
    )
    .version(VERSION, "-V, --version")
    // Usage errors reach run() as exceptions, in every command, to exit with code 2.
    .exitOverride()
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
    .addOption(option("--log-level <level>", "what goes to stderr", "LOG_LEVEL").choices(LOG_LEVELS).default(d.logLevel))
    .addHelpText(
      "after",
      "\nDurations: 250ms, 30s, 5m, 1h, 1d, or a plain number of milliseconds.\nEvery option can also be set by the environment variable shown.\n\n" +
        "Examples:\n" +
        "  acp-sessions                                    serve stdio (memory store)\n" +
        "  acp-sessions --store sqlite:sessions.db ls      list the sessions in a SQLite store\n" +
        '  acp-sessions call session/new \'{"cwd":"/tmp"}\'  one request to a fresh sidecar',
    )
    .action(async (opts: Record<string, unknown>) => {
      await onServe(configFrom(opts));
    });
  addCommands(program);
  return program;
}

/** Commands for people and scripts; each spawns a sidecar configured by the program's options. */
function addCommands(program: Command): void {
  const config = () => configFrom(program.opts());
  program
    .command("call <method> [json-params]")
    .description("send one request (after initialize) to a sidecar with these options, print its result as JSON")
    .option("--json", "print the result on one line")
    .action(async (method: string, params: string | undefined, opts: { json?: boolean }) =>
      print(await callCommand(config(), method, params, opts.json ?? false)),
    );
  program
    .command("ls")
    .description("list every session in the store: id, cwd, title, messages, last access")
    .action(async () => print(await lsCommand(config())));
  program
    .command("show <sessionId>")
    .description("print a session's conversation")
    .action(async (sessionId: string) => print(await showCommand(config(), sessionId)));
  program
    .command("rm <sessionId>")
    .description("remove a session")
    .action(async (sessionId: string) => print(await rmCommand(config(), sessionId)));
  program
    .command("schema")
    .description("print a JSON Schema (draft 2020-12) of every method's params and result and of every notification")
    .action(() => print(schemaCommand(VERSION)));
}

/** Resolves once stdout has taken the text, so exiting right after cannot cut it short. */
function print(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // A reader that stopped early (`schema | head`) is not the command failing. The stream emits the
    // error after the write callback too, so the listener stays.
    const onError = (err: NodeJS.ErrnoException) => (err.code === "EPIPE" ? resolve() : reject(err));
    process.stdout.once("error", onError);
    process.stdout.write(text + "\n", (err) => (err ? onError(err) : resolve()));
  });
}

function configFrom(opts: Record<string, unknown>): Config {
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
    logLevel: opts.logLevel as LogLevel,
  };
}

/**
 * How far V8 lets the heap grow past its live size before the next full collection. A sidecar lives
 * beside an editor for hours: with the memory or SQLite store it grows the heap only 20% past its live
 * size (measured over a million mixed requests: resident memory within 10% of its early peak, where
 * V8's default drifted from 130 MiB to over 200 MiB; --optimize-for-size held memory as well but halved
 * read throughput). A Redis sidecar keeps only bounded caches in its heap, but its pipelined requests
 * wait on the network while young collections run, and a steady share of their state reaches the old
 * generation: held to 20%, it ran a full collection every few megabytes (12–20 per 200,000 pipelined
 * reads), a fifth of its CPU. It keeps V8's default (0: V8 picks the factor from its GC speed).
 */
function tuneHeap(store: string): void {
  setFlagsFromString(`--heap-growing-percent=${isRedisStore(store) ? 0 : 20}`);
}

/** Serves stdio until input ends or a signal arrives; resolves to the process's exit code. */
export async function runServer(config: Config): Promise<number> {
  tuneHeap(config.store);
  const log = createLogger(config.logLevel);
  const stdout = openStdout();
  // A client that closed our stdout is gone: nothing left to tell it, so leave quietly.
  stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") log.error("stdout failed", err);
    process.exit(0);
  });
  const stopSignal = new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  const server = await serve(config, { stdin: openStdin(), stdout, log, stopSignal }, VERSION);
  await server.done;
  return 0;
}

export async function run(argv: string[]): Promise<void> {
  let exitCode = 0;
  const program = buildProgram(async (config) => {
    exitCode = await runServer(config);
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommandError) {
      process.stderr.write(`acp-sessions: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    if (err instanceof CommanderError) {
      // Commander has printed its message; usage errors exit 2, --help and --version 0.
      process.exit(err.exitCode === 0 ? 0 : 2);
    }
    if (err instanceof StoreUrlError) {
      process.stderr.write(`acp-sessions: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`acp-sessions: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  process.exit(exitCode);
}
