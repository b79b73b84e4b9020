import type { Readable, Writable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { backendOptions, storeOptions, type Config } from "./config.js";
import { createLogger, type Logger } from "./log.js";
import { SessionEncoder, iso } from "./protocol/encode-session.js";
import { storeErrorToRequestError } from "./protocol/errors.js";
import { sessionMethods } from "./protocol/handlers.js";
import { Notification } from "./protocol/methods.js";
import type { SessionExpired } from "./protocol/schemas.js";
import { Subscriptions } from "./protocol/subscriptions.js";
import { Reaper } from "./reaper.js";
import { RpcConnection, type MethodEntry } from "./rpc/connection.js";
import { createStore, isRedisStore } from "./store/index.js";
import type { ExpiredSession, SessionStore } from "./store/types.js";
import { AutoFrameReader } from "./transport/auto-reader.js";
import { FrameWriter } from "./transport/frame-writer.js";
import { openStdin, openStdout } from "./transport/stdio.js";
import { VERSION } from "./version.js";

export interface Io {
  stdin: Readable;
  stdout: Writable;
  log?: Logger;
  /** Unix ms; injectable for tests. */
  now?: () => number;
  cwd?: string;
  /** Resolves to stop serving, as SIGINT/SIGTERM do. */
  stopSignal?: Promise<unknown>;
}

export interface Server {
  store: SessionStore;
  /** Resolves once input has ended, every received request is answered and the output flushed. */
  done: Promise<void>;
  stop(): void;
}

/** Test-only (ACP_SESSIONS_FAULT_INJECTION=1): a method whose handler fails, to prove one fault stays one error. */
const FAULT_METHOD = "_acp_sessions/fault";
const faultMethod: MethodEntry = {
  handle() {
    throw new Error("injected fault");
  },
};

/** Wires stdin → frames → connection → store, and the reaper's expiries back out. */
export async function serve(config: Config, io: Io, version: string): Promise<Server> {
  const log = io.log ?? createLogger(config.logLevel);
  const now = io.now ?? Date.now;
  const store = await createStore(config.store, storeOptions(config), backendOptions(config, log));
  const { stdin, stdout } = io;

  const writer = new FrameWriter({ write: (chunk) => stdout.write(chunk) });
  const encoder = new SessionEncoder(config.maxSessionAgeMs);
  const subscriptions = new Subscriptions(
    store,
    {
      get blocked() {
        return writer.blocked;
      },
      send: (pieces) => connection.send(pieces),
    },
    config.maxNotificationBacklogBytes,
    log,
  );
  const methods = new Map(
    sessionMethods({
      encoder,
      store,
      now,
      cwd: io.cwd ?? process.cwd(),
      version,
      maxIdleMs: config.maxSessionAgeMs,
      maxContentBytes: config.maxContentBytes,
      subscriptions,
    }),
  );
  if (process.env.ACP_SESSIONS_FAULT_INJECTION === "1") methods.set(FAULT_METHOD, faultMethod);
  const connection = new RpcConnection({
    writer,
    methods,
    log,
    mapError: storeErrorToRequestError,
    onPause: (paused) => (paused ? stdin.pause() : stdin.resume()),
    onDrained: () => subscriptions.drained(),
  });
  stdout.on("drain", () => connection.outputDrained());

  const reader = new AutoFrameReader(
    connection,
    config.maxMessageBytes,
    (framing) => {
      writer.framing = framing;
      log.debug(`framing: ${framing}`);
    },
    (header) => log.warn(`dropped an LSP header without a valid Content-Length: ${JSON.stringify(header.slice(0, 80))}`),
  );

  const notifyExpired = (s: ExpiredSession) => {
    const params: SessionExpired = {
      sessionId: s.sessionId,
      createdAt: iso(s.createdAt),
      lastAccessed: iso(s.lastAccessed),
      expiredAt: iso(s.expiredAt),
      messageCount: s.messageCount,
      action: s.action,
    };
    encoder.forget(s.sessionId);
    log.info(`session ${s.sessionId} expired (${s.action})`);
    connection.notify(Notification.sessionExpired, params);
  };
  // A shared store announces every expiry itself; otherwise the reaper reports what it removed.
  store.onExpired?.(notifyExpired);
  const reaper = new Reaper({
    store,
    intervalMs: config.cleanupIntervalMs,
    now,
    log,
    onExpired: store.onExpired ? () => {} : notifyExpired,
  });

  let stopping = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const stop = () => {
    if (stopping) return;
    stopping = true;
    stdin.removeListener("data", onData);
    stdin.pause();
    reader.end();
    void (async () => {
      await connection.idle();
      subscriptions.closeAll();
      await reaper.stop();
      await store.close();
      await new Promise<void>((resolve) => stdout.write("", () => resolve()));
      resolveDone();
    })();
  };
  const onData = (chunk: Buffer) => {
    reader.push(chunk);
    connection.flush();
  };

  stdin.on("data", onData);
  stdin.on("end", stop);
  stdin.on("error", (err) => {
    log.warn(`stdin: ${err.message}`);
    stop();
  });
  void io.stopSignal?.then(stop);

  reaper.start();
  void reaper.pass();
  return { store, done, stop };
}

/**
 * How far V8 lets the heap grow past its live size before a full collection. A memory or SQLite
 * sidecar lives for hours beside an editor: 20% keeps its resident memory near its early peak, where
 * V8's default lets it drift upwards. A Redis sidecar's pipelined requests wait on the network long
 * enough to reach the old generation, so 20% would make full collections frequent: it keeps V8's
 * default (0: V8 picks the factor from its GC speed).
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
