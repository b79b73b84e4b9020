import { SessionClient, SessionClientError, type Message, type SessionInfo } from "./client/session-client.js";
import type { Config } from "./config.js";
import { DEFAULT_CONFIG } from "./config.js";
import { protocolJsonSchema } from "./protocol/json-schema.js";

/** A command's failure to report on stderr, with its exit code (2 for a usage error). */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The command-line flags that give a spawned sidecar the same configuration. */
export function sidecarArgs(config: Config): string[] {
  const d = DEFAULT_CONFIG;
  const args: string[] = [];
  const add = (flag: string, value: string | number | undefined, fallback: string | number | undefined) => {
    if (value !== undefined && value !== fallback) args.push(flag, String(value));
  };
  add("--store", config.store, d.store);
  add("--redis-prefix", config.redisPrefix, d.redisPrefix);
  add("--redis-buckets", config.redisBuckets, d.redisBuckets);
  add("--store-wait", config.storeWaitMs, d.storeWaitMs);
  add("--max-session-age", config.maxSessionAgeMs, d.maxSessionAgeMs);
  add("--cleanup-interval", config.cleanupIntervalMs, d.cleanupIntervalMs);
  add("--on-expire", config.onExpire, d.onExpire);
  add("--max-session-lifetime", config.maxSessionLifetimeMs, d.maxSessionLifetimeMs);
  add("--max-message-bytes", config.maxMessageBytes, d.maxMessageBytes);
  add("--max-sessions", config.maxSessions, d.maxSessions);
  add("--max-context-messages", config.maxContextMessages, d.maxContextMessages);
  add("--max-content-bytes", config.maxContentBytes, d.maxContentBytes);
  add("--on-context-full", config.onContextFull, d.onContextFull);
  add("--log-level", config.logLevel, d.logLevel);
  return args;
}

/** Runs `use` against a sidecar spawned with this configuration, after `initialize`, and closes it. */
async function withSidecar<T>(config: Config, use: (client: SessionClient) => Promise<T>): Promise<T> {
  // The sidecar's own environment would override the flags we pass it.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ACP_SESSIONS_")));
  const client = SessionClient.spawn({ args: sidecarArgs(config), env, stderr: "inherit" });
  const exited = new Promise<number | null>((resolve) => client.process!.once("exit", resolve));
  try {
    const started = await Promise.race([client.initialize(), exited.then((code) => code)]);
    if (typeof started !== "object") throw new CommandError(`the sidecar did not start (exit code ${started})`);
    return await use(client);
  } catch (err) {
    if (err instanceof SessionClientError)
      throw new CommandError(`${err.message} (${err.code})${err.data ? ` ${JSON.stringify(err.data)}` : ""}`);
    throw err;
  } finally {
    await client.close();
  }
}

export async function callCommand(config: Config, method: string, paramsText: string | undefined, json: boolean): Promise<string> {
  let params: unknown = {};
  if (paramsText !== undefined) {
    try {
      params = JSON.parse(paramsText);
    } catch (err) {
      throw new CommandError(`params are not JSON: ${(err as Error).message}`, 2);
    }
  }
  const result = await withSidecar(config, (client) => client.request(method, params));
  return JSON.stringify(result, null, json ? undefined : 2);
}

export async function lsCommand(config: Config, now = Date.now()): Promise<string> {
  const sessions = await withSidecar(config, async (client) => {
    const all: SessionInfo[] = [];
    for await (const session of client.listAll({ archived: "include", limit: 1000 })) all.push(session);
    return all;
  });
  return formatSessionTable(sessions, now);
}

export async function showCommand(config: Config, sessionId: string): Promise<string> {
  const session = await withSidecar(config, (client) => client.getSession({ sessionId }));
  const lines = [
    `session ${session.sessionId}${session.title ? ` — ${session.title}` : ""}`,
    `cwd ${session.cwd} · ${session.messageCount} messages · revision ${session.revision}${session.archived ? " · archived" : ""}`,
    `created ${session.createdAt} · last access ${session.lastAccessed}`,
  ];
  if (session.parentSessionId) lines.push(`forked from ${session.parentSessionId} at ${session.forkedAtMessageId ?? "its start"}`);
  lines.push("");
  for (const message of session.context) lines.push(formatMessage(message));
  return lines.join("\n");
}

export async function rmCommand(config: Config, sessionId: string): Promise<string> {
  const removed = await withSidecar(config, (client) => client.removeSession(sessionId));
  if (!removed) throw new CommandError(`no session ${sessionId}`);
  return `removed ${sessionId}`;
}

export function schemaCommand(version: string): string {
  return JSON.stringify(protocolJsonSchema(version), null, 2);
}

export function formatSessionTable(sessions: SessionInfo[], now: number): string {
  if (sessions.length === 0) return "no sessions";
  const rows = sessions.map((s) => [
    s.sessionId,
    s.cwd,
    [s.title, s.archived ? "(archived)" : ""].filter(Boolean).join(" "),
    String(s.messageCount),
    relativeTime(Date.parse(s.updatedAt), now),
  ]);
  const header = ["ID", "CWD", "TITLE", "MESSAGES", "LAST ACCESS"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, i) => (i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function relativeTime(then: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 5) return "just now";
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
  ] as const) {
    if (seconds >= size) return `${Math.floor(seconds / size)}${unit} ago`;
  }
  return `${seconds}s ago`;
}

export function formatMessage(message: Message): string {
  const blocks = typeof message.content === "string" ? [message.content] : message.content.map(describeBlock);
  return `[${message.timestamp}] ${message.role}: ${blocks.join("\n  ")}`;
}

function describeBlock(block: unknown): string {
  const b = block as { type: string; text?: string; mimeType?: string; uri?: string; name?: string; resource?: { uri?: string } };
  switch (b.type) {
    case "text":
      return b.text ?? "";
    case "image":
    case "audio":
      return `[${b.type} ${b.mimeType ?? ""}]`.replace(" ]", "]");
    case "resource_link":
      return `[link ${b.name ?? ""} ${b.uri ?? ""}]`;
    case "resource":
      return `[resource ${b.resource?.uri ?? ""}]`;
    default:
      return `[${b.type}]`;
  }
}
