import { ConnectionClosedError, SessionClient, SessionClientError, type SessionChanged, type SidecarOptions } from "../client/index.js";
import { formatChange, formatConversation, formatSessionTable } from "./format.js";
import type { Config } from "../config.js";
import { protocolJsonSchema } from "../protocol/json-schema.js";

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

export async function showCommand(config: Config, sessionId: string): Promise<string> {
  const { session } = await withSidecar(config, (client) => client.getSession({ sessionId }));
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
