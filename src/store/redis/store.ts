/**
 * The Redis store (single Redis or Redis Cluster, through ioredis), shared by every sidecar that
 * points at it. Layout: keys.ts; the atomic operations: operations.ts and lua/; batching them:
 * batcher.ts; connecting: connection.ts; expiry notifications: expiry-feed.ts; subscriptions: change-feed.ts.
 *
 * Where a fork lives: with its parent, in its lineage root's bucket, because it reads the parent's
 * history segments and every script must stay in one slot. Its id (a UUID chosen by the sidecar)
 * hashes to some other bucket, so an alias there names the bucket it lives in: a lookup tries the id's
 * own bucket, and the script there answers "redirect" when it finds the alias. Sessions that are not
 * forks (nearly all) are found in one round trip; forks take two the first time, then one (this
 * sidecar remembers where each fork it has seen lives; a stale memory is detected and dropped). The
 * alias is written after the fork exists and deleted after the fork is gone, so an interrupted fork
 * leaves at worst an unreachable fork that expires like any other, and an interrupted delete a
 * dangling alias that the next lookup removes.
 *
 * Time: deadlines and creation order are kept on the Redis server's clock (clock.ts).
 *
 * Throughput: operations started in the same event-loop turn go to Redis as script calls of up to 64
 * operations per bucket (batcher.ts). A reply leaves out what this sidecar already holds: the
 * session's fields when none changed since its copy (only revision, lastAccessed and the count travel;
 * records.ts), and a read's window of messages when the revision has not moved since it read the same
 * window (window-cache.ts); a read that finds both still right gets lastAccessed alone.
 */
import { randomBytes } from "node:crypto";
import { Cluster } from "ioredis";
import type { Logger } from "../../log.js";
import { LimitExceededError, SessionExistsError, StoreOpenError, oneLine } from "../errors.js";
import { cutOf } from "../truncate.js";
import type {
  BackendOptions,
  ChangeListener,
  ContextWindow,
  ExpiredSession,
  ForkRequest,
  ListPage,
  ListQuery,
  NewSession,
  RestoreRequest,
  SessionChanges,
  SessionRecord,
  SessionSnapshot,
  SessionStore,
  StoreOptions,
  StoredMessage,
  TruncateRequest,
  TruncateResult,
  Subscription,
  UpdateRequest,
  UpdateResult,
} from "../types.js";
import { anchorField } from "../window.js";
import { ScriptBatcher, type Arg } from "./batcher.js";
import { RedisChangeFeed, WATCH_MS } from "./change-feed.js";
import { ServerClock } from "./clock.js";
import { checkLayout, connect, maySend, parseTarget, reportOutages, storeError, type Client } from "./connection.js";
import { ExpiryFeed } from "./expiry-feed.js";
import { KeyLayout } from "./keys.js";
import { listAcrossBuckets } from "./listing.js";
import * as ops from "./operations.js";
import type { Operation } from "./operations.js";
import { RecordCache, known, type CachedRecord } from "./records.js";
import { MISSING, failureError, redirectedTo, type Counters, type Expiry, type Failure, type Updated } from "./replies.js";
import { STATUS } from "./shared.js";
import { WindowCache } from "./window-cache.js";

type BatchCall = (key: string, bucketPrefix: string, packed: Buffer, ...buffers: Buffer[]) => Promise<unknown[]>;

/** An operation on a session: its reply may say the session is elsewhere or nowhere. */
type SessionOperation<Input, Reply> = Operation<Input, Reply | Failure>;

/** Expiry events kept per bucket stream (approximately): plenty for sidecars polling every few hundred ms. */
const STREAM_LENGTH = 10_000;
/** Forks whose bucket this sidecar remembers. */
const PLACED_CAPACITY = 100_000;

export async function openRedisStore(url: string, options: StoreOptions, backend: BackendOptions): Promise<RedisStore> {
  const target = parseTarget(url);
  if (!Number.isSafeInteger(backend.redisBuckets) || backend.redisBuckets < 1) {
    throw new StoreOpenError(`redis store: --redis-buckets must be a positive integer, not ${backend.redisBuckets}`);
  }
  const keys = new KeyLayout(backend.redisPrefix, backend.redisBuckets);
  const client = await connect(target, backend.storeWaitMs);
  try {
    await checkLayout(client, keys, target.label);
    const clock = await ServerClock.start(client, backend.log);
    const feed = await ExpiryFeed.open(client, keys, clock, backend.log);
    reportOutages(client, target.label, backend.log);
    backend.log.debug(`redis store ${target.label}: prefix ${JSON.stringify(keys.prefix)}, ${keys.buckets} buckets`);
    return new RedisStore(client, keys, options, clock, feed, backend.log);
  } catch (err) {
    client.disconnect();
    if (err instanceof StoreOpenError) throw err;
    throw new StoreOpenError(`redis store ${target.label}: ${oneLine(err)}`);
  }
}

export class RedisStore implements SessionStore {
  private readonly batcher: ScriptBatcher;
  /** Buckets of forks living away from their id's bucket, as learned here. */
  private readonly placed = new Map<string, number>();
  private readonly records: RecordCache;
  private readonly windows = new WindowCache();
  private readonly bucketNumbers: number[];
  /** The store's limits as the update and append operations take them. */
  private readonly maxContext: number;
  private readonly trim: boolean;
  private readonly changes: RedisChangeFeed;
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly keys: KeyLayout,
    private readonly options: StoreOptions,
    private readonly clock: ServerClock,
    private readonly feed: ExpiryFeed,
    log: Logger,
  ) {
    const batch = (client as unknown as { batchBuffer: BatchCall }).batchBuffer.bind(client);
    this.batcher = new ScriptBatcher((bucket, packed, buffers) => {
      // Judged before the call: the client decides at once whether it writes the batch.
      const applied = maySend(client) ? undefined : false;
      return batch(keys.index(bucket, "idle"), keys.bucket(bucket), packed, ...buffers).catch((err: unknown) => {
        throw storeError(err, applied);
      });
    });
    this.records = new RecordCache((serverMs) => clock.local(serverMs));
    this.bucketNumbers = Array.from({ length: keys.buckets }, (_, b) => b);
    this.maxContext = options.maxContextMessages ?? -1;
    this.trim = options.onContextFull === "trim";
    const renew = (bucket: number, sessionIds: string[], ttl: number) => this.run(ops.watch, bucket, { ttl, sessionIds });
    this.changes = new RedisChangeFeed(client, keys, this.records, renew, log);
  }

  async create(session: NewSession, now: number): Promise<SessionRecord> {
    await this.checkCapacity();
    const id = session.sessionId;
    const reply = await this.run(ops.create, this.keys.home(id), {
      session,
      now: this.clock.server(now),
      defaultIdle: this.options.maxIdleMs,
      nonce: nonce(),
    });
    if (reply.status !== STATUS.ok) throw failureError(reply, id);
    return this.records.keep(id, reply.record).record;
  }

  async fork(request: ForkRequest, now: number): Promise<SessionRecord> {
    await this.checkCapacity();
    const id = request.sessionId;
    const input = { request, now: this.clock.server(now), defaultIdle: this.options.maxIdleMs, nonce: nonce() };
    const { reply, bucket } = await this.locate(ops.fork, request.parentSessionId, ops.fork.encode(input));
    if (reply.status === STATUS.idTaken) throw failureError(reply, id);
    if (reply.status !== STATUS.ok) throw failureError(reply, request.parentSessionId, "atMessageId", request.atMessageId);
    const home = this.keys.home(id);
    if (home !== bucket) {
      try {
        await this.client.set(this.keys.alias(home, id), String(bucket));
      } catch (err) {
        // Unreachable without its alias: take the fork back if Redis still answers (else it expires).
        const takenBack = await this.run(ops.remove, bucket, { sessionId: id }).then(
          () => true,
          () => false,
        );
        throw storeError(err, takenBack ? false : "unknown");
      }
      this.remember(id, bucket);
    }
    return this.records.keep(id, reply.record).record;
  }

  /**
   * Where a restored session lives: in its id's bucket, or, sharing a history, with the session it shares
   * it with, as a fork does. The script there sees only its own bucket, so a session sharing a history
   * first checks its id is free where lookups start, and its alias is written only if none is there.
   */
  async restore(request: RestoreRequest, now: number): Promise<SessionRecord> {
    const id = request.session.sessionId;
    const share = request.shareHistoryOf;
    if (share && (await this.has(id))) throw new SessionExistsError(id);
    await this.checkCapacity();
    const input = {
      request,
      now: this.clock.server(now),
      created: this.clock.server(request.session.createdAt),
      seen: this.clock.server(request.session.lastAccessed),
      defaultIdle: this.options.maxIdleMs,
      nonce: nonce(),
    };
    const home = this.keys.home(id);
    const { reply, bucket } = share
      ? await this.locate(ops.restore, share.sessionId, ops.restore.encode(input))
      : { reply: await this.run(ops.restore, home, input), bucket: home };
    if (reply.status === STATUS.idTaken) throw failureError(reply, id);
    if (reply.status !== STATUS.ok) throw failureError(reply, share!.sessionId, "atMessageId", share!.atMessageId);
    if (home !== bucket) {
      let aliased: boolean;
      try {
        aliased = (await this.client.set(this.keys.alias(home, id), String(bucket), "NX")) !== null;
      } catch (err) {
        await this.takeBack(id, bucket);
        throw storeError(err, "unknown");
      }
      if (!aliased) {
        // Another import restored this id meanwhile.
        await this.takeBack(id, bucket);
        throw new SessionExistsError(id);
      }
      this.remember(id, bucket);
    }
    return this.records.keep(id, reply.record).record;
  }

  get(sessionId: string, window: ContextWindow, now: number): Promise<SessionSnapshot> {
    const cached = this.records.get(sessionId);
    const windowKey = windowKeyOf(window);
    const held = cached && this.windows.get(sessionId, windowVersion(cached), windowKey);
    const input = {
      sessionId,
      known: known(cached),
      held: held ? cached.record.revision : ("" as const),
      now: this.clock.server(now),
      defaultIdle: this.options.maxIdleMs,
      window,
    };
    return this.atSession(ops.get, sessionId, input, (reply) => {
      if (reply.status !== STATUS.ok) {
        const field = anchorField(window);
        throw failureError(reply, sessionId, field, field && window[field]);
      }
      if (reply.stillRight) {
        // The last access alone: the copy of the record and the window held here are both still right.
        const { revision, messageCount } = cached!.record;
        const session = this.records.refreshed(sessionId, cached!, revision, reply.lastAccessed, messageCount).record;
        return { session, messages: held!.messages, start: held!.start };
      }
      const copy = this.current(sessionId, reply, cached);
      this.windows.set(sessionId, windowVersion(copy), windowKey, reply.messages, reply.start);
      return { session: copy.record, messages: reply.messages, start: reply.start };
    });
  }

  update(request: UpdateRequest, now: number): Promise<UpdateResult> {
    const { sessionId, messages, changes, expectedRevision } = request;
    const cached = this.records.get(sessionId);
    const then = (reply: Updated | Failure): UpdateResult => {
      if (reply.status !== STATUS.ok) throw failureError(reply, sessionId, undefined, undefined, expectedRevision);
      return { session: this.current(sessionId, reply, cached).record, appended: reply.appended, trimmed: reply.trimmed };
    };
    const input = this.appendInput(sessionId, cached, now, messages);
    if (expectedRevision === undefined && ops.changesNothing(changes)) return this.atSession(ops.append, sessionId, input, then);
    return this.atSession(ops.update, sessionId, { ...input, expectedRevision, cwd: undefined, changes }, then);
  }

  truncate(request: TruncateRequest, now: number): Promise<TruncateResult> {
    const { sessionId, expectedRevision } = request;
    const cut = cutOf(request);
    const cached = this.records.get(sessionId);
    const input = {
      sessionId,
      known: known(cached),
      now: this.clock.server(now),
      defaultIdle: this.options.maxIdleMs,
      cut,
      expectedRevision,
    };
    return this.atSession(ops.truncate, sessionId, input, (reply) => {
      if (reply.status !== STATUS.ok) throw failureError(reply, sessionId, cut.field, cut.messageId ?? undefined, expectedRevision);
      // The window read before is stale for good: its revision has gone.
      if (reply.removed > 0) this.windows.forget(sessionId);
      return { session: this.current(sessionId, reply, cached).record, removed: reply.removed };
    });
  }

  async touch(sessionId: string, changes: SessionChanges, now: number, cwd?: string): Promise<SessionRecord> {
    const cached = this.records.get(sessionId);
    const input = { ...this.appendInput(sessionId, cached, now, []), expectedRevision: undefined, cwd, changes };
    const reply = await this.atSession(ops.update, sessionId, input, identity);
    if (reply.status !== STATUS.ok) throw failureError(reply, sessionId);
    return this.current(sessionId, reply, cached).record;
  }

  async readMessages(sessionId: string, from: number, count: number): Promise<Buffer[]> {
    const reply = await this.atSession(ops.read, sessionId, { sessionId, from, count }, identity);
    return reply.status === STATUS.ok ? reply.messages : [];
  }

  async has(sessionId: string): Promise<boolean> {
    const reply = await this.atSession(ops.has, sessionId, { sessionId }, identity);
    return reply.status === STATUS.ok;
  }

  async setArchived(sessionId: string, archived: boolean, now: number): Promise<SessionRecord> {
    const input = { sessionId, archived, now: this.clock.server(now), defaultIdle: this.options.maxIdleMs };
    const reply = await this.atSession(ops.archive, sessionId, input, identity);
    if (reply.status !== STATUS.ok) throw failureError(reply, sessionId);
    return this.records.keep(sessionId, reply.record).record;
  }

  async setTitle(sessionId: string, title: string): Promise<SessionRecord> {
    const reply = await this.atSession(ops.title, sessionId, { sessionId, title }, identity);
    if (reply.status !== STATUS.ok) throw failureError(reply, sessionId);
    return this.records.keep(sessionId, reply.record).record;
  }

  async remove(sessionId: string): Promise<boolean> {
    const { reply, bucket } = await this.locate(ops.remove, sessionId, ops.remove.encode({ sessionId }));
    if (reply.status !== STATUS.ok) return false;
    this.forget(sessionId);
    await this.dropAlias(sessionId, bucket);
    return true;
  }

  list(query: ListQuery): Promise<ListPage> {
    return listAcrossBuckets(query, this.keys.buckets, async (bucket, input) => {
      const batch = await this.run(ops.list, bucket, input);
      const items = batch.matches.map(({ id, score, record }) => ({ score, session: this.records.keep(id, record).record }));
      return { exhausted: batch.exhausted, frontier: batch.frontier, items };
    });
  }

  async expireDue(now: number, limit: number): Promise<ExpiredSession[]> {
    if (limit <= 0) return [];
    const serverNow = this.clock.server(now);
    const { maxLifetimeMs, onExpire = "delete" } = this.options;
    const createdBefore = maxLifetimeMs === undefined ? undefined : serverNow - maxLifetimeMs;
    // Count first, so that the buckets together expire at most `limit`.
    const due = await Promise.all(this.bucketNumbers.map((b) => this.run(ops.due, b, { now: serverNow, createdBefore })));
    let left = limit;
    const runs: Promise<{ bucket: number; expiries: Expiry[] }>[] = [];
    for (const bucket of this.bucketNumbers) {
      const count = Math.min(due[bucket]!, left);
      if (count === 0) continue;
      left -= count;
      const input = {
        now: serverNow,
        defaultIdle: this.options.maxIdleMs,
        createdBefore,
        limit: count,
        onExpire,
        streamLength: STREAM_LENGTH,
      };
      runs.push(this.run(ops.expire, bucket, input).then((expiries) => ({ bucket, expiries })));
    }
    const expired: { session: ExpiredSession; phase: number; order: number }[] = [];
    const aliases: Promise<void>[] = [];
    for (const { bucket, expiries } of await Promise.all(runs)) {
      for (const { id, created, seen, messageCount, action, phase, order } of expiries) {
        const session: ExpiredSession = {
          sessionId: id,
          createdAt: this.clock.local(created),
          lastAccessed: this.clock.local(seen),
          expiredAt: now,
          messageCount,
          action,
        };
        expired.push({ session, phase, order });
        if (action === "delete") {
          this.forget(id);
          aliases.push(this.dropAlias(id, bucket));
        }
      }
    }
    await Promise.all(aliases);
    expired.sort((a, b) => a.phase - b.phase || a.order - b.order);
    return expired.map((e) => e.session);
  }

  async subscribe(sessionId: string, afterMessageId: string | undefined, listener: ChangeListener): Promise<Subscription> {
    // Registered first: what the change stream says while the snapshot is on its way is held for it.
    const subscriber = this.changes.add(sessionId, listener);
    try {
      const args = ops.subscribe.encode({ sessionId, ttl: WATCH_MS, afterMessageId });
      const { reply, bucket } = await this.locate(ops.subscribe, sessionId, args);
      if (reply.status !== STATUS.ok) throw failureError(reply, sessionId, "afterMessageId", afterMessageId);
      const session = this.records.keep(sessionId, reply.record).record;
      this.changes.started(subscriber, bucket, reply.position, session.revision, session.messageCount);
      return { session, messages: reply.messages, close: () => this.changes.remove(subscriber) };
    } catch (err) {
      this.changes.remove(subscriber);
      throw err;
    }
  }

  onExpired(listener: (expired: ExpiredSession) => void): void {
    this.feed.subscribe(listener);
  }

  /** Keys under the prefix, but the layout record and the expiry streams (capped; see keys.ts). */
  async footprint(): Promise<Record<string, number>> {
    const nodes = this.client instanceof Cluster ? this.client.nodes("master") : [this.client];
    let keys = 0;
    try {
      for (const node of nodes) {
        let cursor = "0";
        do {
          const [next, found] = await node.scan(cursor, "MATCH", this.keys.pattern(), "COUNT", 1000);
          cursor = next;
          keys += found.filter((key) => !this.keys.isBookkeeping(key)).length;
        } while (cursor !== "0");
      }
    } catch (err) {
      throw storeError(err);
    }
    return { keys };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.feed.stop();
    this.changes.stop();
    this.clock.stop();
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  /** Removes a session made here that cannot be reached (no alias); if Redis does not answer, it expires. */
  private async takeBack(sessionId: string, bucket: number): Promise<void> {
    await this.run(ops.remove, bucket, { sessionId }).catch(() => {});
  }

  private forget(sessionId: string): void {
    this.records.forget(sessionId);
    this.windows.forget(sessionId);
  }

  /** Runs an operation in a bucket (batched with others); outages become StoreUnavailableError. */
  private run<Input, Reply>(operation: Operation<Input, Reply>, bucket: number, input: Input): Promise<Reply> {
    return this.send(operation, bucket, operation.encode(input));
  }

  private send<Reply>(operation: Operation<unknown, Reply>, bucket: number, args: Arg[]): Promise<Reply> {
    return this.batcher.run(operation.name, bucket, args, operation.decode);
  }

  /**
   * Runs an operation on a session wherever it lives (see the top of this file): `then` of its reply.
   * Only a miss or a redirect takes the long way (locate).
   */
  private atSession<Input, Reply extends { status: number }, T>(
    operation: SessionOperation<Input, Reply>,
    sessionId: string,
    input: Input,
    then: (reply: Reply | Failure) => T,
  ): Promise<T> {
    const bucket = this.placed.get(sessionId) ?? this.keys.home(sessionId);
    const args = operation.encode(input);
    return this.batcher.run(operation.name, bucket, args, (raw) => {
      const reply = operation.decode(raw);
      return reply.status === STATUS.missing || reply.status === STATUS.redirect
        ? this.locate(operation, sessionId, args, { reply, bucket }).then((r) => then(r.reply))
        : then(reply);
    });
  }

  /** atSession's long way, also telling the bucket: follows an alias, or drops a stale remembered bucket. */
  private async locate<Reply extends { status: number }>(
    operation: SessionOperation<unknown, Reply>,
    sessionId: string,
    args: Arg[],
    first?: { reply: Reply | Failure; bucket: number },
  ): Promise<{ reply: Reply | Failure; bucket: number }> {
    const remembered = this.placed.get(sessionId);
    const home = this.keys.home(sessionId);
    let bucket = first?.bucket ?? remembered ?? home;
    let reply = first?.reply ?? (await this.send(operation, bucket, args));
    if (bucket !== home && reply.status === STATUS.missing) {
      this.placed.delete(sessionId);
      bucket = home;
      reply = await this.send(operation, bucket, args);
    }
    const redirect = redirectedTo(reply);
    if (redirect !== undefined) {
      bucket = redirect;
      reply = await this.send(operation, bucket, args);
      if (reply.status === STATUS.missing || reply.status === STATUS.redirect) {
        // The alias outlived its session (a delete cut short): nothing to redirect to.
        await this.client.del(this.keys.alias(home, sessionId)).catch(() => {});
        reply = MISSING;
      } else {
        this.remember(sessionId, bucket);
      }
    }
    return { reply, bucket };
  }

  private remember(sessionId: string, bucket: number): void {
    if (this.placed.size >= PLACED_CAPACITY) this.placed.delete(this.placed.keys().next().value!);
    this.placed.set(sessionId, bucket);
  }

  /** After a session living away from its id's bucket is gone: its alias goes too. */
  private async dropAlias(sessionId: string, bucket: number): Promise<void> {
    this.placed.delete(sessionId);
    const home = this.keys.home(sessionId);
    if (home === bucket) return;
    try {
      await this.client.del(this.keys.alias(home, sessionId));
    } catch (err) {
      // The session is gone already: the request that removed it did take effect.
      throw storeError(err, "unknown");
    }
  }

  /**
   * maxSessions holds across buckets, so it is checked against their summed index sizes just before
   * the write: sidecars creating at the same instant may overshoot it by one each.
   */
  private async checkCapacity(): Promise<void> {
    const max = this.options.maxSessions;
    if (max === undefined) return;
    const counts = await Promise.all(this.bucketNumbers.map((b) => this.run(ops.count, b, undefined)));
    if (counts.reduce((a, b) => a + b, 0) >= max) throw new LimitExceededError("maxSessions", max);
  }

  /** The append operation's input, which the update operation's starts with. */
  private appendInput(
    sessionId: string,
    cached: CachedRecord | undefined,
    now: number,
    messages: readonly StoredMessage[],
  ): ops.AppendInput {
    return {
      sessionId,
      known: known(cached),
      now: this.clock.server(now),
      defaultIdle: this.options.maxIdleMs,
      maxContext: this.maxContext,
      trim: this.trim,
      messages,
    };
  }

  /** The session from a get's or an update's counters, and its full record when the script sent one. */
  private current(sessionId: string, reply: Counters, cached: CachedRecord | undefined): CachedRecord {
    if (reply.record) return this.records.keep(sessionId, reply.record);
    // No full record: the script found this sidecar's copy (`cached`, sent as `known`) still right.
    return this.records.refreshed(sessionId, cached!, reply.revision, reply.lastAccessed, reply.messageCount);
  }
}

const identity = <T>(reply: T) => reply;

/** A creation's nonce (see ve in lua/shared.lua). */
const nonce = () => randomBytes(6).toString("base64url");

const WHOLE_CONTEXT = "0:-1:-1:";
/**
 * What a window asks for, as the window cache keys it. It names at most the one message it is placed
 * by (anchorField), last, after a sign saying which side of it the window lies.
 */
const windowKeyOf = (window: ContextWindow) => {
  const { offset, limit, tail } = window;
  const field = anchorField(window);
  if (offset === undefined && limit === undefined && tail === undefined && field === undefined) return WHOLE_CONTEXT;
  const anchor = field === undefined ? "" : `${field === "beforeMessageId" ? "<" : ">"}${window[field]}`;
  return `${offset ?? 0}:${limit ?? -1}:${tail ?? -1}:${anchor}`;
};

/** Which copy of a session a window of its messages was read from: they change only with the revision. */
const windowVersion = (cached: CachedRecord) => (cached.windowVersion ??= `${cached.record.revision}:${cached.version}`);
