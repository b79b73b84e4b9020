import { Command, CommanderError, Option } from "commander";
import {
  callCommand,
  CommandError,
  exportCommand,
  importCommand,
  lsCommand,
  rmCommand,
  schemaCommand,
  showCommand,
  watchCommand,
} from "./commands.js";
import type { ExportFormat } from "./export.js";
import { addInspectCommand } from "./inspect.js";
import { addConfigOptions, configFrom, wholeNumber } from "./options.js";
import type { Config } from "../config.js";
import { runServer } from "../main.js";
import { StoreUrlError } from "../store/index.js";
import { VERSION } from "../version.js";

/** The program: with no command it serves stdio through `onServe`; the commands spawn a sidecar each. */
export function buildProgram(onServe: (config: Config) => Promise<void>): Command {
  const program = new Command("acp-sessions")
    .description(
      "A session store for ACP agents and editors: JSON-RPC 2.0 over stdio (newline-delimited, or LSP framing).\n" +
        "With no command it serves stdio; call, ls, show, rm and watch spawn a sidecar with these options and talk to it.",
    )
    .version(VERSION, "-V, --version")
    // Usage errors reach run() as exceptions, in every command, to exit with code 2.
    .exitOverride();
  addConfigOptions(program);
  program
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
    .option("--tail <n>", "only its last n messages", wholeNumber)
    .action(async (sessionId: string, opts: { tail?: number }) => print(await showCommand(config(), sessionId, opts.tail)));
  program
    .command("rm <sessionId>")
    .description("remove a session")
    .action(async (sessionId: string) => print(await rmCommand(config(), sessionId)));
  program
    .command("export [sessionIds...]")
    .description("write sessions (every one, archived ones too, when none is named) as JSON Lines for import, or as Markdown")
    .addOption(
      new Option("--format <format>", "jsonl: a line per session, as session/get returns it; markdown: a transcript to read")
        .choices(["jsonl", "markdown"])
        .default("jsonl"),
    )
    .option("--out <file>", "write to this file (created with mode 0600) instead of stdout")
    .addHelpText(
      "after",
      "\nReading a session is not an access: exporting keeps no session from expiring. Sessions are written\n" +
        "oldest first, each parent before its forks, and read a page at a time, whatever their length.\n\n" +
        "Moving a store: acp-sessions --store sqlite:old.db export | acp-sessions --store redis://host:6379 import",
    )
    .action(async (sessionIds: string[], opts: { format: ExportFormat; out?: string }) => {
      const done = await exportCommand(config(), opts.format, opts.out, sessionIds, report);
      if (done !== undefined) await print(done);
    });
  program
    .command("import [file]")
    .description("add the sessions of a JSONL export (a file, or stdin when none or - is given) to the store the options name")
    .addOption(
      new Option("--overdue <action>", "a new session the reaper would expire at once: touch, keep or skip (see below)")
        .choices(["touch", "keep", "skip"])
        .default("touch"),
    )
    .addHelpText(
      "after",
      "\nA session the store lacks is created with its ids, times, fields and messages; one it holds gets the\n" +
        "messages it lacks (by messageId, in order) and keeps the rest, so importing again changes nothing.\n" +
        "A fork whose parent came earlier in the input, and still starts with the same messages, shares the\n" +
        "parent's history. Revisions start again at 1. The listing shows imported sessions as the newest,\n" +
        "in the order imported. With the memory store (the default) nothing is kept: the input is only checked.\n\n" +
        "A session idle past its deadline (its last access plus its idle age) would be expired by the next\n" +
        "cleanup. --overdue touch (the default) imports it with its last access set to now; keep imports it\n" +
        "as it was, for the reaper to expire (or archive, with --on-expire archive); skip leaves it out. One\n" +
        "older than --max-session-lifetime is left out unless keep is given. Each is noted on stderr.\n\n" +
        "A bad line is reported on stderr as `line N: <reason>` and skipped; the exit code is then 1.",
    )
    .action(async (file: string | undefined, opts: { overdue: "touch" | "keep" | "skip" }) => {
      const { summary, skipped } = await importCommand(config(), file, opts.overdue, report);
      await print(summary);
      if (skipped > 0) throw new CommandError(`${skipped === 1 ? "a line was" : `${skipped} lines were`} skipped`);
    });
  program
    .command("watch <sessionId>")
    .description("print each change to a session as it happens, made by any sidecar sharing the store, until interrupted")
    .option("--json", "print each change as one line of JSON (session/changed's params)")
    .action(async (sessionId: string, opts: { json?: boolean }) => {
      const stop = new Promise((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
        // A reader that has gone (`watch | head`) ends the watch quietly.
        process.stdout.once("error", resolve);
      });
      await watchCommand(config(), sessionId, opts.json ?? false, (line) => process.stdout.write(line + "\n"), stop);
    });
  program
    .command("schema")
    .description("print a JSON Schema (draft 2020-12) of every method's params and result and of every notification")
    .action(() => print(schemaCommand(VERSION)));
  addInspectCommand(program, config, print);
}

/** A line on stderr, as a command goes: a skipped input line, a note. */
function report(line: string): void {
  process.stderr.write(line + "\n");
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

/** Runs the command line `argv` (serving, or one command) and exits the process with its code. */
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
