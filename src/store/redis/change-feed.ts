/**
 * This sidecar's subscriptions, fed from the buckets' change streams (written by the scripts:
 * lua/feed.lua). Each stream is read with a blocking XREAD on a connection of its own, so a change
 * reaches the subscriber as soon as Redis has it, and not by Pub/Sub, which loses what it sends while a
 * subscriber reconnects: a stream is read on from where the reader stood. With one Redis, one connection
 * reads every bucket that has subscriptions (a new bucket interrupts its XREAD with CLIENT UNBLOCK);
 * with Redis Cluster, where one XREAD reads one slot, each such bucket has a connection of its own. A
 * bucket is read only while it has subscriptions, and from its first subscription's snapshot on.
 *
 * Every RENEW_MS the watches are renewed per bucket, which also says where each session stood at a
 * stream position; once the reader has passed it, a subscriber told of less missed entries (a watch
 * that lapsed, a stream trimmed past a reader that fell behind) and is told `lagged`.
 */
import { Cluster } from "ioredis";
import { unpack } from "msgpackr";
import type { Logger } from "../../log.js";
import { ChangeFanout, type Subscriber } from "../change-fanout.js";
import { oneLine } from "../errors.js";
import { splitLines } from "../message-lines.js";
import type { ChangeEvent, ChangeListener, SessionChange } from "../types.js";
import type { Client } from "./connection.js";
import type { KeyLayout } from "./keys.js";
import type { RecordCache } from "./records.js";
import type { RecordFields, Watched } from "./replies.js";

/** How long a watch lasts unless renewed; renewed at a third of that. */
export const WATCH_MS = 30_000;
const RENEW_MS = WATCH_MS / 3;
/** How long one XREAD waits for an entry: it bounds how late a renewal's check runs. */
const BLOCK_MS = 1000;
/** Entries read at once: each may carry a whole update's messages, so few. */
const READ_COUNT = 100;
/** Between attempts while Redis cannot be read. */
const RETRY_MS = 250;

/** A connection blocking on XREAD of some buckets' streams. */
interface Reader {
  readonly connection: Client;
  readonly buckets: Set<number>;
  running: boolean;
  /** While its XREAD waits: a new bucket must interrupt it. */
  waiting: boolean;
  /** The connection's CLIENT ID (one Redis only), for CLIENT UNBLOCK. */
  clientId: number | undefined;
}

/** A renewal's view of a bucket, applied once the bucket's reader has read up to its position. */
interface Checkpoint {
  bucket: number;
  position: string;
  states: Map<string, { revision: number; messageCount: number } | undefined>;
}

export class RedisChangeFeed {
  private readonly fanout = new ChangeFanout((sessionId) => this.unwatched(sessionId));
  /** The bucket each subscribed session lives in. */
  private readonly bucketOf = new Map<string, number>();
  /** Subscribed sessions per bucket. */
  private readonly watchedIn = new Map<number, number>();
  /** Per bucket being read: the last stream entry read. */
  private readonly cursors = new Map<number, string>();
  private shared: Reader | undefined;
  private readonly perBucket = new Map<number, Reader>();
  private checkpoints: Checkpoint[] = [];
  private renewTimer: NodeJS.Timeout | undefined;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly client: Client,
    private readonly keys: KeyLayout,
    private readonly records: RecordCache,
    /** Renews the watches of these sessions in a bucket (the store's watch operation). */
    private readonly renew: (bucket: number, sessionIds: string[], ttl: number) => Promise<Watched>,
    private readonly log: Logger,
  ) {}

  /** A subscriber whose snapshot is on its way: what the streams say meanwhile waits for started(). */
  add(sessionId: string, listener: ChangeListener): Subscriber {
    return this.fanout.add(sessionId, listener);
  }

  /** The subscriber's snapshot: the session in `bucket` at `revision`, the bucket's stream at `position`. */
  started(subscriber: Subscriber, bucket: number, position: string, revision: number, messageCount: number): void {
    if (subscriber.closed) return;
    if (!this.bucketOf.has(subscriber.sessionId)) {
      this.bucketOf.set(subscriber.sessionId, bucket);
      this.watchedIn.set(bucket, (this.watchedIn.get(bucket) ?? 0) + 1);
    }
    // A bucket already read is read from before this snapshot: what comes between is skipped by revision.
    if (!this.cursors.has(bucket)) {
      this.cursors.set(bucket, position);
      this.read(bucket);
    }
    this.fanout.start(subscriber, revision, messageCount);
    this.renewTimer ??= setInterval(() => void this.renewWatches(), RENEW_MS);
    this.renewTimer.unref();
  }

  remove(subscriber: Subscriber): void {
    this.fanout.remove(subscriber);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.renewTimer);
    for (const reader of [this.shared, ...this.perBucket.values()]) reader?.connection.disconnect();
  }

  private unwatched(sessionId: string): void {
    const bucket = this.bucketOf.get(sessionId);
    if (this.fanout.empty) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
    if (bucket === undefined) return;
    this.bucketOf.delete(sessionId);
    const left = this.watchedIn.get(bucket)! - 1;
    if (left > 0) return void this.watchedIn.set(bucket, left);
    this.watchedIn.delete(bucket);
    this.cursors.delete(bucket);
    const reader = this.readerOf(bucket);
    reader.buckets.delete(bucket);
    void this.interrupt(reader);
  }

  /** Starts reading a bucket's stream from its cursor. */
  private read(bucket: number): void {
    const reader = this.readerOf(bucket);
    reader.buckets.add(bucket);
    if (!reader.running) {
      reader.running = true;
      void this.run(reader);
    } else {
      void this.interrupt(reader);
    }
  }

  private readerOf(bucket: number): Reader {
    if (!(this.client instanceof Cluster)) return (this.shared ??= this.newReader());
    let reader = this.perBucket.get(bucket);
    if (!reader) this.perBucket.set(bucket, (reader = this.newReader()));
    return reader;
  }

  private newReader(): Reader {
    // Its XREAD waits up to BLOCK_MS: the shared connection's one-second command timeout would cut it short.
    const timeout = { commandTimeout: BLOCK_MS + 5000 };
    const connection =
      this.client instanceof Cluster
        ? this.client.duplicate(undefined, { redisOptions: { ...this.client.options.redisOptions, ...timeout } })
        : this.client.duplicate(timeout);
    const reader: Reader = { connection, buckets: new Set(), running: false, waiting: false, clientId: undefined };
    // Failures surface as failed reads, logged there.
    connection.on("error", () => {});
    if (!(connection instanceof Cluster)) {
      connection.on("ready", () => {
        reader.clientId = undefined;
        connection.client("ID").then(
          (id) => (reader.clientId = Number(id)),
          () => {},
        );
      });
    }
    return reader;
  }

  /** A waiting XREAD of the one Redis returns at once, to read again with the buckets as they now are. */
  private async interrupt(reader: Reader): Promise<void> {
    if (!reader.waiting || reader.clientId === undefined) return;
    await this.client.call("CLIENT", "UNBLOCK", reader.clientId).catch(() => {});
  }

  private async run(reader: Reader): Promise<void> {
    while (!this.stopped && reader.buckets.size > 0) {
      const buckets = [...reader.buckets];
      const streams = buckets.map((b) => this.keys.index(b, "changes"));
      const from = buckets.map((b) => this.cursors.get(b)!);
      let reply: unknown;
      try {
        await connected(reader.connection);
        reader.waiting = true;
        reply = await reader.connection.callBuffer("XREAD", "COUNT", READ_COUNT, "BLOCK", BLOCK_MS, "STREAMS", ...streams, ...from);
        if (this.failing) this.log.info("redis: reading the change streams again");
        this.failing = false;
      } catch (err) {
        if (this.stopped) break;
        if (!this.failing) this.log.warn(`redis: cannot read the change streams (${oneLine(err)}); retrying`);
        this.failing = true;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        continue;
      } finally {
        reader.waiting = false;
      }
      this.consume(reply as [Buffer, [Buffer, Buffer[]][]][] | null, buckets, streams);
      this.applyCheckpoints();
    }
    reader.running = false;
    // A Redis Cluster bucket no longer read: its connection goes.
    if (this.stopped || reader === this.shared) return;
    for (const [bucket, r] of this.perBucket) if (r === reader) this.perBucket.delete(bucket);
    reader.connection.disconnect();
  }

  private consume(reply: [Buffer, [Buffer, Buffer[]][]][] | null, buckets: number[], streams: string[]): void {
    for (const [key, entries] of reply ?? []) {
      const bucket = buckets[streams.indexOf(key.toString())]!;
      for (const [id, fields] of entries) {
        // A bucket dropped while this read was waiting is not read on.
        if (!this.cursors.has(bucket)) break;
        this.cursors.set(bucket, id.toString());
        const event = this.decode(fields);
        if (event) this.fanout.publish(event);
      }
    }
  }

  private decode(fields: Buffer[]): ChangeEvent | undefined {
    const entry = new Map<string, Buffer>();
    for (let i = 0; i + 1 < fields.length; i += 2) entry.set(fields[i]!.toString(), fields[i + 1]!);
    const text = (name: string) => entry.get(name)?.toString() ?? "";
    const sessionId = text("id");
    if (!this.fanout.watching(sessionId)) return undefined;
    let change: SessionChange;
    const type = text("t");
    switch (type) {
      case "appended":
        change = { type, messages: splitLines(entry.get("m")), trimmed: Number(text("tr")) };
        break;
      case "updated": {
        const values = unpack(entry.get("r")!) as (string | false | null)[];
        const fields: RecordFields = values.map((v) => (v === false || v === null ? null : Buffer.from(String(v))));
        change = { type, session: this.records.decode(sessionId, fields) };
        break;
      }
      case "expired":
        change = { type, action: text("action") as "delete" | "archive" };
        break;
      case "truncated":
        change = { type, removed: Number(text("removed")) };
        break;
      case "archived":
      case "unarchived":
      case "removed":
        change = { type };
        break;
      default:
        this.log.warn(`redis: a change stream entry of an unknown type ${JSON.stringify(type)}`);
        return undefined;
    }
    return { sessionId, revision: Number(text("rev")), messageCount: Number(text("n")), change };
  }

  private async renewWatches(): Promise<void> {
    const byBucket = new Map<number, string[]>();
    for (const [sessionId, bucket] of this.bucketOf) {
      let ids = byBucket.get(bucket);
      if (!ids) byBucket.set(bucket, (ids = []));
      ids.push(sessionId);
    }
    await Promise.all(
      [...byBucket].map(async ([bucket, sessionIds]) => {
        try {
          const { position, states } = await this.renew(bucket, sessionIds, WATCH_MS);
          this.checkpoints.push({ bucket, position, states: new Map(sessionIds.map((id, i) => [id, states[i]])) });
        } catch (err) {
          this.log.warn(`redis: cannot renew the watches of subscribed sessions (${oneLine(err)})`);
        }
      }),
    );
    this.applyCheckpoints();
  }

  /** The renewals whose position every bucket's reader has passed: a subscriber behind them missed something. */
  private applyCheckpoints(): void {
    if (this.checkpoints.length === 0) return;
    const waiting: Checkpoint[] = [];
    for (const checkpoint of this.checkpoints) {
      const cursor = this.cursors.get(checkpoint.bucket);
      if (cursor === undefined) continue;
      if (compareIds(cursor, checkpoint.position) < 0) {
        waiting.push(checkpoint);
        continue;
      }
      for (const [sessionId, state] of checkpoint.states) {
        if (this.bucketOf.get(sessionId) === checkpoint.bucket) this.fanout.check(sessionId, state);
      }
    }
    this.checkpoints = waiting;
  }
}

/** Orders stream entry ids ("<ms>-<seq>"). */
export function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number) as [number, number];
  const [bm, bs] = b.split("-").map(Number) as [number, number];
  return am - bm || as - bs;
}

/** Resolves once the connection is ready (connecting it first if it never was); fails after a few seconds. */
async function connected(connection: Client): Promise<void> {
  if (connection.status === "ready") return;
  if (connection.status === "wait" || connection.status === "end") void connection.connect().catch(() => {});
  await new Promise<void>((resolve, reject) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      connection.off("ready", onReady);
      reject(new Error("not connected"));
    }, 5000);
    connection.once("ready", onReady);
  });
}
