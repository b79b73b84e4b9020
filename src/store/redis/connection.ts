/** Connecting to Redis or Redis Cluster: the store URL, the client's options, start-up checks. */
import { isIP } from "node:net";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../../log.js";
import { StoreError, StoreUnavailableError, oneLine, type Applied } from "../errors.js";
import { StoreOpenError } from "../errors.js";
import { KeyLayout, LAYOUT_VERSION } from "./keys.js";
import { batchScript } from "./script.js";

export type Client = Redis | Cluster;

/** Server replies that mean "not now" rather than "a bug in a script". */
const UNAVAILABLE_REPLY = /^(LOADING|CLUSTERDOWN|TRYAGAIN|READONLY|MASTERDOWN|BUSY|OOM|NOREPLICAS|MISCONF|MOVED|ASK)\b/;

/** ioredis's refusals of a command it did not write, there being no offline queue to hold it. */
const NOT_WRITTEN = /enableOfflineQueue options is false/;
/** Replies by which Redis refuses a command before running any of it. */
const NOT_RUN_REPLY = /^(LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|BUSY|MOVED|ASK)\b/;

/**
 * What a failed call becomes: store errors as they are, outages StoreUnavailableError. `applied` is
 * false only when the call surely never ran on Redis; a timeout or a connection lost after the write
 * (or an OOM, READONLY… that a script may meet after some of its writes) leaves it unknown.
 */
export function storeError(err: unknown, applied?: Applied): Error {
  if (err instanceof StoreError) return err;
  if (err instanceof Error && err.name === "ReplyError" && !UNAVAILABLE_REPLY.test(err.message)) return err;
  return new StoreUnavailableError("redis", err, applied ?? appliedBy(err));
}

function appliedBy(err: unknown): Applied {
  if (!(err instanceof Error)) return "unknown";
  if (NOT_WRITTEN.test(err.message)) return false;
  return err.name === "ReplyError" && NOT_RUN_REPLY.test(err.message) ? false : "unknown";
}

/**
 * Whether a command given to the client now may be written to Redis. A single client writes only
 * while ready and rejects anything else at once (no offline queue); a cluster routes per node, so it
 * may always.
 */
export function maySend(client: Client): boolean {
  return client instanceof Cluster || client.status === "ready";
}

export interface Target {
  cluster: boolean;
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
  /** For messages: the URL without credentials. */
  label: string;
}

/** redis://[user:password@]host[:port][/db], rediss://… (TLS), redis-cluster://[user:password@]host:port[,host:port…] */
export function parseTarget(url: string): Target {
  const scheme = url.slice(0, url.indexOf("://"));
  let rest = url.slice(scheme.length + 3);
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const auth = rest.slice(0, at);
    const colon = auth.indexOf(":");
    username = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth) || undefined;
    password = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) || undefined : undefined;
    rest = rest.slice(at + 1);
  }
  // "redis://secret@host" carries a password alone, as redis-cli and ioredis read it.
  if (username !== undefined && password === undefined) [username, password] = [undefined, username];
  const slash = rest.indexOf("/");
  const hosts = slash >= 0 ? rest.slice(0, slash) : rest;
  const path = slash >= 0 ? rest.slice(slash + 1).replace(/[?#].*$/, "") : "";
  const nodes = hosts
    .split(",")
    .filter(Boolean)
    .map((hostPort) => {
      const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(hostPort);
      if (!match) throw new StoreOpenError(`redis store: cannot read host:port ${JSON.stringify(hostPort)} in ${scheme}://${hosts}`);
      return { host: match[1] ?? match[2]!, port: match[3] ? Number(match[3]) : 6379 };
    });
  if (nodes.length === 0) throw new StoreOpenError(`redis store: no host in ${scheme}://${hosts}`);
  const cluster = scheme === "redis-cluster";
  if (!cluster && nodes.length > 1)
    throw new StoreOpenError(`redis store: one host expected in ${scheme}://${hosts}; use redis-cluster://`);
  if (path !== "" && (!/^\d+$/.test(path) || cluster)) {
    throw new StoreOpenError(
      `redis store: ${JSON.stringify(path)} is not a database number${cluster ? " (Redis Cluster has only 0)" : ""}`,
    );
  }
  const db = path === "" ? 0 : Number(path);
  return { cluster, nodes, username, password, db, tls: scheme === "rediss", label: `${scheme}://${hosts}${db ? `/${db}` : ""}` };
}

/** Errors that waiting will not fix. */
const FATAL_CONNECT = /WRONGPASS|NOAUTH|NOPERM|invalid password|invalid username|DB index is out of range|invalid DB index/i;

/**
 * A connected client. No auto-pipelining: the store batches its own operations (ScriptBatcher).
 * Requests never queue while Redis is away (enableOfflineQueue off, no retries of
 * sent commands, a one-second command timeout): they fail at once with StoreUnavailableError, while
 * the client keeps reconnecting (every second at most) and serves again as soon as Redis is back.
 */
export async function connect(target: Target, waitMs: number): Promise<Client> {
  const reconnect = (times: number) => Math.min(times * 100, 1000);
  const nodeOptions: RedisOptions = {
    username: target.username,
    password: target.password,
    tls: target.tls ? (isIP(target.nodes[0]!.host) ? {} : { servername: target.nodes[0]!.host }) : undefined,
    commandTimeout: 1000,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  };
  const client: Client = target.cluster
    ? new Cluster(target.nodes, {
        lazyConnect: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: reconnect,
        redisOptions: nodeOptions,
      })
    : new Redis({
        ...nodeOptions,
        ...target.nodes[0]!,
        db: target.db,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: reconnect,
      });
  client.defineCommand("batch", { numberOfKeys: 1, lua: batchScript() });
  await new Promise<void>((resolve, reject) => {
    let lastError: Error | undefined;
    // Redis Cluster reports "failed to refresh slots"; why its seed nodes failed comes separately.
    let nodeError: Error | undefined;
    const onNodeError = (err: Error) => (nodeError = err);
    const fail = (err: Error | undefined) => {
      done();
      client.on("error", () => {}); // late errors from the connection being torn down
      client.disconnect();
      const waited = waitMs > 0 ? ` after waiting ${waitMs} ms` : "";
      const why = err ? oneLine(err) + (nodeError && nodeError !== err ? ` (${oneLine(nodeError)})` : "") : "no answer";
      reject(new StoreOpenError(`cannot reach Redis at ${target.label}${waited}: ${why}`));
    };
    const onReady = () => {
      done();
      resolve();
    };
    const onError = (err: Error) => {
      lastError = err;
      if (waitMs <= 0 || FATAL_CONNECT.test(err.message)) fail(err);
    };
    const timer = waitMs > 0 ? setTimeout(() => fail(lastError), waitMs) : undefined;
    const done = () => {
      clearTimeout(timer);
      client.off("ready", onReady);
      client.off("error", onError);
      client.off("node error", onNodeError);
    };
    client.on("ready", onReady);
    client.on("error", onError);
    client.on("node error", onNodeError);
    client.connect().catch(() => {});
  });
  return client;
}

/** The bucket count is fixed on first use: another count would hash ids to the wrong buckets. */
export async function checkLayout(client: Client, keys: KeyLayout, label: string): Promise<void> {
  await client.hsetnx(keys.config, "buckets", keys.buckets);
  await client.hsetnx(keys.config, "layout", LAYOUT_VERSION);
  const [buckets, layout] = await client.hmget(keys.config, "buckets", "layout");
  if (layout !== LAYOUT_VERSION) {
    throw new StoreOpenError(
      `redis store ${label}: prefix ${JSON.stringify(keys.prefix)} holds data in layout ${layout}, not ${LAYOUT_VERSION}`,
    );
  }
  if (Number(buckets) !== keys.buckets) {
    throw new StoreOpenError(
      `redis store ${label}: prefix ${JSON.stringify(keys.prefix)} keeps its sessions in ${buckets} buckets, not ${keys.buckets}: start with --redis-buckets ${buckets}`,
    );
  }
}

/** Logs an outage once when it starts and once when it ends. */
export function reportOutages(client: Client, label: string, log: Logger): void {
  let down = false;
  client.on("error", (err: Error) => {
    if (down) return;
    down = true;
    log.warn(`redis ${label}: ${oneLine(err)}; requests fail until it is back`);
  });
  client.on("ready", () => {
    if (!down) return;
    down = false;
    log.info(`redis ${label}: connected again`);
  });
}
