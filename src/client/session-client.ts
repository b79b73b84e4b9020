import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { PROTOCOL_VERSION } from "@agentclientprotocol/sdk";
import {
  ConnectionError,
  createMessageConnection,
  ErrorCodes,
  ResponseError,
  type Logger,
  type Message,
  type MessageConnection,
} from "vscode-jsonrpc/node";
import { Method, Notification } from "../protocol/methods.js";
import { ConnectionClosedError, SessionClientError } from "./errors.js";
import { NdjsonMessageReader, NdjsonMessageWriter } from "./ndjson-messages.js";
import { sidecarArgs, type SidecarOptions } from "./sidecar-args.js";
import { TypedEmitter } from "./typed-emitter.js";
import type * as T from "./types.js";

export interface ConnectOptions {
  /** Largest message the client accepts from the sidecar (default 32 MiB, `Infinity` for none); a larger one ends the connection. */
  maxReceiveBytes?: number;
}

export interface SpawnOptions extends SidecarOptions, ConnectOptions {
  /** More command-line arguments for the sidecar, after those made from the options above. */
  args?: string[];
  /** The Node.js that runs the sidecar (default: the one running this process). */
  execPath?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where the sidecar's log lines go (default "inherit": this process's stderr). */
  stderr?: "inherit" | "ignore" | "pipe";
}

export interface CloseOptions {
  /** How long a spawned sidecar has to exit after its input ends before it is killed (default 5000). */
  timeoutMs?: number;
}

export interface SessionClientEvents {
  /** The reaper removed (or archived) a session. */
  expired: [T.SessionExpired];
  /** A message chunk replayed by `session/load`, or sent live to a subscription with `acpUpdates`. */
  sessionUpdate: [T.SessionNotification];
  /** A change to a session this connection subscribed to (`session/changed`). */
  changed: [T.SessionChanged];
  /** The connection has ended; every request still pending has failed with a `ConnectionClosedError`. */
  close: [];
}

// The client reports what goes wrong itself: failed requests reject, a broken connection ends.
const SILENT: Logger = { error: () => {}, warn: () => {}, info: () => {}, log: () => {} };

/** A typed client for the acp-sessions sidecar: vscode-jsonrpc over newline-delimited JSON. */
export class SessionClient extends TypedEmitter<SessionClientEvents> {
  readonly #connection: MessageConnection;
  readonly #reader: NdjsonMessageReader;
  readonly #writable: Writable;
  readonly #child: ChildProcess | undefined;
  /** Resolves once the spawned sidecar has exited and its output is closed. */
  readonly #childGone: Promise<void>;
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Local subscribers per session: the sidecar keeps one subscription, ended when the last goes. */
  readonly #subscribers = new Map<string, number>();
  /** Messages vscode-jsonrpc has taken from its queue and handled. */
  #handled = 0;
  #ending: ConnectionClosedError | undefined;
  #endedBy: ConnectionClosedError | undefined;

  private constructor(readable: Readable, writable: Writable, child: ChildProcess | undefined, options: ConnectOptions) {
    super();
    this.#writable = writable;
    this.#child = child;
    this.#reader = new NdjsonMessageReader(readable, options.maxReceiveBytes);
    const writer = new NdjsonMessageWriter(writable);
    this.#connection = createMessageConnection(this.#reader, writer, SILENT, {
      messageStrategy: {
        handleMessage: (message, next) => {
          const unreadable = unmatchedError(message);
          // vscode-jsonrpc would only log it, and the request it answers would wait for ever.
          if (unreadable) this.#end(new ConnectionClosedError(`the sidecar could not read a request: ${unreadable}`));
          // next() settles through vscode-jsonrpc's own handlers, which report their failures themselves.
          else void next(message);
          this.#handled++;
          this.#finishEnding();
        },
      },
    });
    this.#connection.onNotification(Notification.sessionExpired, (params: T.SessionExpired) => this.#notify("expired", params));
    this.#connection.onNotification(Notification.sessionUpdate, (params: T.SessionNotification) => this.#notify("sessionUpdate", params));
    this.#connection.onNotification(Notification.sessionChanged, (params: T.SessionChanged) => this.#notify("changed", params));
    // After a dropped or garbled line, answers can no longer be matched to requests with certainty.
    this.#reader.onError((err) => this.#end(new ConnectionClosedError(`the connection failed: ${err.message}`, undefined, { cause: err })));
    if (child) {
      this.#childGone = new Promise((resolve) => {
        // Wait for the exit itself, not the closed output that comes first: its code says why.
        child.once("close", (code, signal) => {
          this.#end(new ConnectionClosedError(describeExit(code, signal), { code, signal }));
          resolve();
        });
        child.once("error", (err) => {
          this.#end(new ConnectionClosedError(`the sidecar could not be run: ${err.message}`, undefined, { cause: err }));
          resolve();
        });
      });
    } else {
      this.#childGone = Promise.resolve();
      this.#reader.onClose(() => this.#end(new ConnectionClosedError("the sidecar closed the connection")));
      writer.onError(([err]) => this.#end(new ConnectionClosedError(`the connection failed: ${err.message}`, undefined, { cause: err })));
    }
    this.#connection.listen();
  }

  /** Starts a sidecar (`node bin/acp-sessions.js` of this package) with these settings and connects to it. */
  static spawn(options: SpawnOptions = {}): SessionClient {
    let env = options.env ?? process.env;
    // In an Electron host (an editor's extension host), process.execPath is the editor itself: this makes
    // it run the sidecar as plain Node.js instead of opening another window.
    if (options.execPath === undefined && process.versions.electron) env = { ...env, ELECTRON_RUN_AS_NODE: "1" };
    const child = spawn(options.execPath ?? process.execPath, [sidecarBin(), ...sidecarArgs(options), ...(options.args ?? [])], {
      stdio: ["pipe", "pipe", options.stderr ?? "inherit"],
      env,
      cwd: options.cwd,
    });
    return new SessionClient(child.stdout!, child.stdin!, child, options);
  }

  /** Connects over streams that already lead to a sidecar (its stdout, its stdin). */
  static connect(readable: Readable, writable: Writable, options: ConnectOptions = {}): SessionClient {
    return new SessionClient(readable, writable, undefined, options);
  }

  /** The sidecar process, when this client spawned it. */
  get child(): ChildProcess | undefined {
    return this.#child;
  }

  initialize(params: T.InitializeParams = { protocolVersion: PROTOCOL_VERSION }): Promise<T.InitializeResult> {
    return this.request(Method.initialize, params);
  }

  newSession(params: T.NewSessionParams = {}): Promise<T.NewSessionResult> {
    return this.request(Method.sessionNew, params);
  }

  getSession(params: T.GetSessionParams): Promise<T.GetSessionResult> {
    return this.request(Method.sessionGet, params);
  }

  /**
   * The session as `getSession` returns it, without being an access: its last access and idle deadline
   * stay. The same windows page through a long one.
   */
  exportSession(params: T.ExportSessionParams): Promise<T.ExportSessionResult> {
    return this.request(Method.sessionExport, params);
  }

  updateSession(params: T.UpdateSessionParams): Promise<T.UpdateSessionResult> {
    return this.request(Method.sessionUpdate, params);
  }

  /** Drops the messages after `afterMessageId` (all of them when null), or from `fromMessageId` on. */
  truncateSession(params: T.TruncateSessionParams): Promise<T.TruncateSessionResult> {
    return this.request(Method.sessionTruncate, params);
  }

  removeSession(params: T.RemoveSessionParams): Promise<T.RemoveSessionResult> {
    return this.request(Method.sessionRemove, params);
  }

  deleteSession(params: T.DeleteSessionParams): Promise<T.EmptyResult> {
    return this.request(Method.sessionDelete, params);
  }

  listSessions(params: T.ListSessionsParams = {}): Promise<T.ListSessionsResult> {
    return this.request(Method.sessionList, params);
  }

  /** Every session the listing selects, page after page. */
  async *listAll(params: Omit<T.ListSessionsParams, "cursor"> = {}): AsyncGenerator<T.SessionInfo, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.listSessions({ ...params, cursor });
      yield* page.sessions;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  /**
   * Replays the session: all of it, or with `_meta.replayTail: N` its last N messages, or with
   * `_meta.replayAfterMessageId` those after that message. Its updates are emitted as `sessionUpdate`
   * events and, in order, either collected and returned or, for a session too long to hold, passed to
   * `onUpdate` as they arrive, the load's result being returned then: for a partial replay, where it
   * started (`_meta.replayedFrom`) and how many messages the session holds.
   */
  loadSession(params: T.LoadSessionParams): Promise<T.SessionNotification[]>;
  loadSession(params: T.LoadSessionParams, onUpdate: (update: T.SessionNotification) => void): Promise<T.LoadSessionResult>;
  async loadSession(
    params: T.LoadSessionParams,
    onUpdate?: (update: T.SessionNotification) => void,
  ): Promise<T.SessionNotification[] | T.LoadSessionResult> {
    const updates: T.SessionNotification[] = [];
    let failed: { error: unknown } | undefined;
    const listener = (update: T.SessionNotification) => {
      if (update.sessionId !== params.sessionId || failed) return;
      if (!onUpdate) return void updates.push(update);
      try {
        onUpdate(update);
      } catch (error) {
        failed = { error }; // the load still runs to its end; its promise carries the callback's error
      }
    };
    this.on("sessionUpdate", listener);
    let result: T.LoadSessionResult;
    try {
      result = await this.request(Method.sessionLoad, params);
    } finally {
      this.off("sessionUpdate", listener);
    }
    if (failed) throw failed.error;
    return onUpdate ? result : updates;
  }

  resumeSession(params: T.ResumeSessionParams): Promise<T.EmptyResult> {
    return this.request(Method.sessionResume, params);
  }

  closeSession(params: T.CloseSessionParams): Promise<T.EmptyResult> {
    return this.request(Method.sessionClose, params);
  }

  /** "open" while this connection has the session attached, otherwise "saved"; no side effects. */
  sessionStatus(params: T.SessionStatusParams): Promise<T.SessionStatusResult> {
    return this.request(Method.sessionStatus, params);
  }

  /** Sets the title (trimmed, at most 500 code points) without an access; answers the title as stored. */
  setSessionTitle(params: T.SetSessionTitleParams): Promise<T.SetSessionTitleResult> {
    return this.request(Method.sessionSetTitle, params);
  }

  forkSession(params: T.ForkSessionParams): Promise<T.ForkSessionResult> {
    return this.request(Method.sessionFork, params);
  }

  archiveSession(params: T.ArchiveSessionParams): Promise<T.EmptyResult> {
    return this.request(Method.sessionArchive, params);
  }

  unarchiveSession(params: T.UnarchiveSessionParams): Promise<T.EmptyResult> {
    return this.request(Method.sessionUnarchive, params);
  }

  /**
   * Follows a session (`session/subscribe`): `onChange` hears every change to it, made by anyone
   * sharing the store, starting with the messages after `afterMessageId` when given, until the
   * returned function is called or the session is gone. The function carries where the session stood
   * (`revision`, `messageCount`). Several subscriptions to one session share the sidecar's one (a
   * later one gets no catch-up), which ends when the last is called.
   */
  async subscribe(
    sessionId: string,
    onChange: (change: T.SessionChanged) => void,
    options: Omit<T.SubscribeSessionParams, "sessionId"> = {},
  ): Promise<(() => Promise<void>) & T.SubscribeSessionResult> {
    let ended = false;
    const end = () => {
      if (ended) return false;
      ended = true;
      this.off("changed", listener);
      const left = (this.#subscribers.get(sessionId) ?? 1) - 1;
      if (left > 0) this.#subscribers.set(sessionId, left);
      else this.#subscribers.delete(sessionId);
      return left === 0;
    };
    // Listening before asking: the first changes follow the answer at once.
    const listener = (change: T.SessionChanged) => {
      if (change.sessionId !== sessionId || ended) return;
      const gone = change.change.type === "removed" || (change.change.type === "expired" && change.change.action === "delete");
      if (gone) end();
      onChange(change);
    };
    this.on("changed", listener);
    this.#subscribers.set(sessionId, (this.#subscribers.get(sessionId) ?? 0) + 1);
    let result: T.SubscribeSessionResult;
    try {
      result = await this.request(Method.sessionSubscribe, { ...options, sessionId });
    } catch (err) {
      end();
      throw err;
    }
    const unsubscribe = async () => {
      if (end() && !this.#ending) await this.request(Method.sessionUnsubscribe, { sessionId });
    };
    return Object.assign(unsubscribe, result);
  }

  /** Any method by name: typed for the sidecar's own, `unknown` for anything else. */
  request<M extends T.MethodName>(method: M, params: T.ParamsOf<M>): Promise<T.ResultOf<M>>;
  request(method: string, params?: unknown): Promise<unknown>;
  async request(method: string, params?: unknown): Promise<unknown> {
    if (this.#ending) throw this.#closedError();
    let answer: Promise<unknown> | undefined;
    try {
      answer = this.#connection.sendRequest(method, params);
      this.#inFlight.add(answer);
      return await answer;
    } catch (err) {
      if (err instanceof ResponseError && err.code !== ErrorCodes.PendingResponseRejected) {
        throw new SessionClientError(err.code, err.message, err.data);
      }
      if (err instanceof ResponseError || err instanceof ConnectionError) throw this.#closedError();
      throw err;
    } finally {
      if (answer) this.#inFlight.delete(answer);
    }
  }

  /**
   * Ends the connection once the requests already sent are answered. A spawned sidecar gets the end of
   * its input, answers what it has, and exits; if it has not within `timeoutMs` it is killed. Resolves to
   * its exit code (null when it was killed, or for a connection over streams).
   */
  async close({ timeoutMs = 5000 }: CloseOptions = {}): Promise<number | null> {
    this.#writable.end();
    const child = this.#child;
    if (!child) {
      await withTimeout(Promise.allSettled([...this.#inFlight]), timeoutMs);
      this.#end(new ConnectionClosedError("the client closed the connection"));
      return null;
    }
    if (!(await withTimeout(this.#childGone, timeoutMs))) {
      child.kill("SIGKILL");
      await this.#childGone;
    }
    return child.exitCode;
  }

  /** A listener that throws does so out of the event loop, as with any Node event, not into vscode-jsonrpc. */
  #notify<E extends "expired" | "sessionUpdate" | "changed">(event: E, ...args: SessionClientEvents[E]): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  /**
   * Ends the connection once vscode-jsonrpc has handled every message already read: it queues them,
   * and answers still in its queue when the sidecar exits must not be reported as lost.
   */
  #end(reason: ConnectionClosedError): void {
    if (this.#ending) return;
    this.#ending = reason;
    this.#finishEnding();
    // A message the queue dropped (it keys messages by id) would otherwise hold the end back for ever.
    if (!this.#endedBy) setTimeout(() => this.#finishEnding(true), 1000).unref();
  }

  #finishEnding(force = false): void {
    if (!this.#ending || this.#endedBy) return;
    if (!force && this.#handled < this.#reader.received) return;
    this.#endedBy = this.#ending;
    this.#connection.dispose(); // rejects every pending request
    this.emit("close");
  }

  /** A fresh error per failed request, so each stack shows its own caller. */
  #closedError(): ConnectionClosedError {
    const reason = this.#endedBy ?? this.#ending;
    if (!reason) return new ConnectionClosedError("the sidecar closed the connection");
    return new ConnectionClosedError(reason.message, reason.exit, { cause: reason.cause });
  }
}

/** Resolves true when `promise` settles within `ms`, false when the time runs out first. */
async function withTimeout(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error answer with `id: null`: the sidecar could not tell which request it answers (too large, say). */
function unmatchedError(message: Message): string | undefined {
  if (!("id" in message) || message.id !== null || !("error" in message)) return undefined;
  const error = message.error as { code?: unknown; message?: unknown } | undefined;
  return `${String(error?.message)} (${String(error?.code)})`;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `the sidecar was ended by ${signal}` : `the sidecar exited with code ${code}`;
}

/** The package's bin: this module runs from dist/src/client when compiled, from src/client under a test runner. */
function sidecarBin(): string {
  for (const relative of ["../../../bin/acp-sessions.js", "../../bin/acp-sessions.js"]) {
    const path = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error("acp-sessions: bin/acp-sessions.js was not found beside the client library");
}
