import { createReadStream, openSync } from "node:fs";
import { ConnectionClosedError, SessionClient, SessionClientError, type SessionChanged, type SidecarOptions } from "../client/index.js";
import { exportSessions, type ExportFormat } from "./export.js";
import { formatChange, formatConversation, formatSessionTable } from "./format.js";
import { Output } from "./output.js";
import { backendOptions, storeOptions, type Config } from "../config.js";
import { createLogger } from "../log.js";
import { protocolJsonSchema } from "../protocol/json-schema.js";
import { StoreUnavailableError } from "../store/errors.js";
import { createStore } from "../store/index.js";
import { ImportFormatError, importExport, type ImportSummary, type OverduePolicy } from "../transfer/importer.js";

/** A command's failure, reported on stderr with its exit code (2 for a usage error). */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Every setting, passed explicitly, so the spawned sidecar runs exactly as this command was configured. */
export function sidecarOptions(config: Config): SidecarOptions {
  return {
    store: config.store,
    maxSessionAge: config.maxSessionAgeMs,
    cleanupInterval: config.cleanupIntervalMs,
    onExpire: config.onExpire,
    maxSessionLifetime: config.maxSessionLifetimeMs,
    maxMessageBytes: config.maxMessageBytes,
    maxSessions: config.maxSessions,
    maxContextMessages: config.maxContextMessages,
    maxContentBytes: config.maxContentBytes,
    onContextFull: config.onContextFull,
    redisPrefix: config.redisPrefix,
    redisBuckets: config.redisBuckets,
    storeWait: config.storeWaitMs,
    logLevel: config.logLevel,
    maxNotificationBacklog: config.maxNotificationBacklogBytes,
  };
}

/** Runs `use` against a sidecar spawned with this configuration, after `initialize`, then closes it. */
async function withSidecar<T>(config: Config, use: (client: SessionClient) => Promise<T>): Promise<T> {
  // A person asking for a session wants all of it, however large.
  const client = SessionClient.spawn({ ...sidecarOptions(config), maxReceiveBytes: Infinity, stderr: "inherit" });
  try {
    await client.initialize();
    return await use(client);
  } catch (err) {
    if (err instanceof SessionClientError) {
      throw new CommandError(`${err.message} (${err.code})${err.data === undefined ? "" : ` ${JSON.stringify(err.data)}`}`);
    }
    // The sidecar has said why on stderr (a store it could not open, say).
    if (err instanceof ConnectionClosedError) throw new CommandError(err.message);
    throw err;
  } finally {
    await client.close();
  }
}

export async function callCommand(config: Config, method: string, paramsText: string | undefined, oneLine: boolean): Promise<string> {
  let params: unknown = {};
  if (paramsText !== undefined) {
    try {
      params = JSON.parse(paramsText);
    } catch (err) {
      throw new CommandError(`params are not JSON: ${(err as Error).message}`, 2);
    }
  }
  const result = await withSidecar(config, (client) => client.request(method, params));
  return JSON.stringify(result, null, oneLine ? undefined : 2);
}

export async function lsCommand(config: Config, now = Date.now()): Promise<string> {
  const sessions = await withSidecar(config, async (client) => {
    const all = [];
    for await (const session of client.listAll({ archived: "include", limit: 1000 })) all.push(session);
    return all;
  });
  return formatSessionTable(sessions, now);
}

/** The whole conversation, or with `tail` its last messages only (read from the store's end). */
export async function showCommand(config: Config, sessionId: string, tail?: number): Promise<string> {
  const { session } = await withSidecar(config, (client) => client.getSession({ sessionId, tail }));
  return formatConversation(session);
}

export async function rmCommand(config: Config, sessionId: string): Promise<string> {
  const { removed } = await withSidecar(config, (client) => client.removeSession({ sessionId }));
  if (!removed) throw new CommandError(`no session ${sessionId}`);
  return `removed ${sessionId}`;
}

/**
 * Prints each change to a session as it happens (`--json`: each session/changed's params, one JSON
 * line each) until `stop` resolves or the session is gone.
 */
export async function watchCommand(
  config: Config,
  sessionId: string,
  json: boolean,
  print: (line: string) => void,
  stop: Promise<unknown>,
): Promise<void> {
  await withSidecar(config, async (client) => {
    let gone!: () => void;
    const ended = new Promise<void>((resolve) => (gone = resolve));
    const closed = new Promise<void>((resolve) => client.once("close", resolve));
    const onChange = (changed: SessionChanged) => {
      if (json) print(JSON.stringify(changed));
      else for (const line of formatChange(changed)) print(line);
      const { change } = changed;
      if (change.type === "removed" || (change.type === "expired" && change.action === "delete")) gone();
    };
    const unsubscribe = await client.subscribe(sessionId, onChange);
    await Promise.race([stop, ended, closed]);
    await unsubscribe().catch(() => {});
  });
}

export function schemaCommand(version: string): string {
  return JSON.stringify(protocolJsonSchema(version), null, 2);
}

/**
 * Writes the named sessions, or every one, to `out` or stdout; says on `report` which ones went away
 * meanwhile. Fails once done if a session's messages changed under its export, which left it incomplete.
 */
export async function exportCommand(
  config: Config,
  format: ExportFormat,
  out: string | undefined,
  sessionIds: string[],
  report: (line: string) => void,
): Promise<string | undefined> {
  let output: Output;
  try {
    output = Output.open(out);
  } catch (err) {
    throw new CommandError(`cannot write ${out}: ${(err as Error).message}`);
  }
  let result;
  try {
    result = await withSidecar(config, (client) => exportSessions(client, format, sessionIds, output));
  } catch (err) {
    // The export's own failure is the one to report.
    await output.close().catch(() => {});
    throw err;
  }
  await output.close();
  for (const id of result.gone) report(`note: session ${id} was removed while the export ran`);
  if (result.cut.length > 0) {
    throw new CommandError(`the messages of ${result.cut.join(", ")} changed while they were exported: export them again`);
  }
  return out === undefined ? undefined : `exported ${plural(result.exported, "session")} to ${out}`;
}

export interface ImportOutcome {
  /** What became of the input's sessions, for stdout. */
  summary: string;
  skipped: number;
}

/**
 * Adds the sessions of an export (a file, or stdin for none or "-") to the store the options name,
 * opened here, as the sidecar would open it. Bad lines and notes go to `report` as they are met.
 */
export async function importCommand(
  config: Config,
  file: string | undefined,
  overdue: OverduePolicy,
  report: (line: string) => void,
  now: () => number = Date.now,
): Promise<ImportOutcome> {
  let input: AsyncIterable<Buffer>;
  try {
    input = file === undefined || file === "-" ? process.stdin : createReadStream(file, { fd: openSync(file, "r") });
  } catch (err) {
    throw new CommandError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (config.store === "memory" || config.store === "memory:") {
    report("note: the memory store keeps nothing once this command ends: this import only checks the input");
  }
  const store = await createStore(config.store, storeOptions(config), backendOptions(config, createLogger(config.logLevel)));
  let summary: ImportSummary;
  try {
    summary = await importExport(input, {
      store,
      now,
      maxIdleMs: config.maxSessionAgeMs,
      maxLifetimeMs: config.maxSessionLifetimeMs,
      maxContextMessages: config.maxContextMessages,
      maxContentBytes: config.maxContentBytes,
      overdue,
      onSkipped: (line, reason) => report(`line ${line}: ${reason}`),
      onNote: (line, note) => report(`note: line ${line}: ${note}`),
    });
  } catch (err) {
    if (err instanceof ImportFormatError) throw new CommandError(err.message);
    // What was imported stays; importing the same input again adds only what is missing.
    if (err instanceof StoreUnavailableError) throw new CommandError(`${err.message}: the import stopped; run it again to complete it`);
    throw err;
  } finally {
    await store.close();
  }
  const { created, extended, unchanged, leftOut, skipped } = summary;
  const parts = [`${created} new`, `${extended} with messages added`, `${unchanged} unchanged`];
  if (leftOut > 0) parts.push(`${leftOut} left out as overdue`);
  const lines = skipped > 0 ? `; ${plural(skipped, "bad line")} skipped` : "";
  return { summary: `imported ${plural(created + extended + unchanged, "session")}: ${parts.join(", ")}${lines}`, skipped };
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
