import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { EventEmitter } from "node:events";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createMessageConnection, ResponseError, type MessageConnection } from "vscode-jsonrpc/node";
import type { z } from "zod";
import { Method, Notification } from "../protocol/methods.js";
import type * as S from "../protocol/schemas.js";
import { NdjsonMessageReader, NdjsonMessageWriter } from "./ndjson-stream.js";

// Params as a caller writes them (schema input), results as the sidecar answers (schema output):
// the same definitions the server validates with.
export type InitializeParams = z.input<typeof S.InitializeParamsSchema>;
export type NewSessionParams = z.input<typeof S.NewSessionParamsSchema>;
export type GetSessionParams = z.input<typeof S.GetSessionParamsSchema>;
export type UpdateSessionParams = z.input<typeof S.UpdateSessionParamsSchema>;
export type ListSessionsParams = z.input<typeof S.ListSessionsParamsSchema>;
export type LoadSessionParams = z.input<typeof S.LoadSessionParamsSchema>;
export type ResumeSessionParams = z.input<typeof S.ResumeSessionParamsSchema>;
export type ForkSessionParams = z.input<typeof S.ForkSessionParamsSchema>;
export type SessionIdParams = z.input<typeof S.SessionIdParamsSchema>;
export type InitializeResult = z.infer<typeof S.InitializeResultSchema>;
export type Session = z.infer<typeof S.SessionSchema>;
export type SessionInfo = z.infer<typeof S.SessionInfoSchema>;
export type Message = z.infer<typeof S.MessageSchema>;
export type UpdateSessionResult = z.infer<typeof S.UpdateSessionResultSchema>;
export type ListSessionsResult = z.infer<typeof S.ListSessionsResultSchema>;
export type SessionExpired = z.infer<typeof S.SessionExpiredSchema>;

/** An ACP `session/update` notification, as a replay sends it. */
export interface SessionUpdateNotification {
  sessionId: string;
  update: { sessionUpdate: string; messageId?: string; content: unknown; _meta?: Record<string, unknown> };
}

/** A JSON-RPC error answer, with its code (e.g. -32002 session not found) and data. */
export class SessionClientError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "SessionClientError";
  }
}

export interface SpawnOptions {
  /** Extra command-line options for the sidecar, e.g. ["--max-session-age", "10m"]. */
  args?: string[];
  /** Shorthand for `--store <url>`. */
  store?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where the sidecar's log lines go (default: inherit this process's stderr). */
  stderr?: "inherit" | "ignore" | "pipe";
}

interface Events {
  expired: [SessionExpired];
  sessionUpdate: [SessionUpdateNotification];
  close: [];
}

/** The bin beside this package: this module runs from dist/src/client, or from src/client under a test runner. */
const BIN = ["../../../bin/acp-sessions.js", "../../bin/acp-sessions.js"]
  .map((path) => fileURLToPath(new URL(path, import.meta.url)))
  .find((path) => existsSync(path))!;

/** A typed client for the acp-sessions sidecar, over vscode-jsonrpc with newline-delimited JSON. */
export class SessionClient extends EventEmitter<Events> {
  private readonly connection: MessageConnection;

  private constructor(
    readable: Readable,
    writable: Writable,
    private readonly child?: ChildProcess,
  ) {
    super();
    this.connection = createMessageConnection(new NdjsonMessageReader(readable), new NdjsonMessageWriter(writable));
    this.connection.onNotification(Notification.sessionExpired, (params: SessionExpired) => {
      this.emit("expired", params);
    });
    this.connection.onNotification(Notification.sessionUpdate, (params: SessionUpdateNotification) => {
      this.emit("sessionUpdate", params);
    });
    this.connection.onClose(() => this.emit("close"));
    this.connection.listen();
    // A sidecar that is gone answers nothing more: fail what is pending instead of waiting forever.
    child?.once("exit", () => this.connection.dispose());
    child?.once("error", () => this.connection.dispose());
  }

  /** Starts a sidecar as a child process and connects to it. */
  static spawn(options: SpawnOptions = {}): SessionClient {
    const args = [...(options.store ? ["--store", options.store] : []), ...(options.args ?? [])];
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ["pipe", "pipe", options.stderr ?? "inherit"],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    return new SessionClient(child.stdout!, child.stdin!, child);
  }

  /** Connects over streams that already lead to a sidecar. */
  static connect(readable: Readable, writable: Writable): SessionClient {
    return new SessionClient(readable, writable);
  }

  /** The spawned sidecar, when this client started one. */
  get process(): ChildProcess | undefined {
    return this.child;
  }

  initialize(params: InitializeParams = { protocolVersion: 1 }): Promise<InitializeResult> {
    return this.request(Method.initialize, params);
  }

  async newSession(params: NewSessionParams = {}): Promise<string> {
    return (await this.request<{ sessionId: string }>(Method.sessionNew, params)).sessionId;
  }

  async getSession(params: GetSessionParams): Promise<Session> {
    return (await this.request<{ session: Session }>(Method.sessionGet, params)).session;
  }

  updateSession(params: UpdateSessionParams): Promise<UpdateSessionResult> {
    return this.request(Method.sessionUpdate, params);
  }

  async removeSession(sessionId: string): Promise<boolean> {
    return (await this.request<{ removed: boolean }>(Method.sessionRemove, { sessionId })).removed;
  }

  async deleteSession(sessionId: string): Promise<void> {
    await this.request(Method.sessionDelete, { sessionId });
  }

  listSessions(params: ListSessionsParams = {}): Promise<ListSessionsResult> {
    return this.request(Method.sessionList, params);
  }

  /** Every session, page after page. */
  async *listAll(params: Omit<ListSessionsParams, "cursor"> = {}): AsyncGenerator<SessionInfo> {
    let cursor: string | undefined;
    do {
      const page = await this.listSessions({ ...params, cursor });
      yield* page.sessions;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  /** Replays the session: its updates are emitted as `sessionUpdate` events and also returned, in order. */
  async loadSession(params: LoadSessionParams): Promise<SessionUpdateNotification[]> {
    const updates: SessionUpdateNotification[] = [];
    const collect = (n: SessionUpdateNotification) => {
      if (n.sessionId === params.sessionId) updates.push(n);
    };
    this.on("sessionUpdate", collect);
    try {
      await this.request(Method.sessionLoad, params);
      return updates;
    } finally {
      this.off("sessionUpdate", collect);
    }
  }

  async resumeSession(params: ResumeSessionParams): Promise<void> {
    await this.request(Method.sessionResume, params);
  }

  async closeSession(sessionId: string): Promise<void> {
    await this.request(Method.sessionClose, { sessionId });
  }

  async forkSession(params: ForkSessionParams): Promise<string> {
    return (await this.request<{ sessionId: string }>(Method.sessionFork, params)).sessionId;
  }

  async archiveSession(sessionId: string): Promise<void> {
    await this.request(Method.sessionArchive, { sessionId });
  }

  async unarchiveSession(sessionId: string): Promise<void> {
    await this.request(Method.sessionUnarchive, { sessionId });
  }

  /** Any method by name, for what the typed methods do not cover. */
  async request<R = unknown>(method: string, params: unknown): Promise<R> {
    try {
      return await this.connection.sendRequest<R>(method, params);
    } catch (err) {
      if (err instanceof ResponseError) throw new SessionClientError(err.code, err.message, err.data);
      throw err;
    }
  }

  /** Ends the connection; a spawned sidecar is given its stdin's end, then 5 s to exit before it is killed. */
  async close(): Promise<number | null> {
    this.connection.end();
    this.connection.dispose();
    const child = this.child;
    if (!child) return null;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
