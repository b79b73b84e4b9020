/**
 * The Redis store (single Redis or Redis Cluster, through ioredis), shared by every sidecar that
 * points at it. Layout: keys.ts; the atomic operations: lua/ (assembled by script.ts); batching them:
 * batcher.ts; connecting: connection.ts; expiry notifications: expiry-feed.ts.
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
 * operations per bucket (ScriptBatcher in batcher.ts). A reply leaves out what this sidecar
 * already holds: the session's fields when none changed since its copy (only revision, lastAccessed
 * and the count travel), and a read's window of messages when the revision has not moved since it
 * read the same window (window-cache.ts); a read that finds both still right gets lastAccessed alone.
 */
import { randomBytes } from "node:crypto";
import { Cluster } from "ioredis";
import { decodeCursor, encodeCursor } from "../cursor.js";
import {
  CwdMismatchError,
  InvalidCursorError,
  LimitExceededError,
  MessageNotFoundError,
  RevisionConflictError,
  SessionNotFoundError,
  StoreError,
  oneLine,
} from "../errors.js";
import type { BackendOptions } from "../types.js";
import { StoreOpenError } from "../errors.js";
import { ServerClock } from "./clock.js";
import { checkLayout, connect, parseTarget, reportOutages, storeError, type Client } from "./connection.js";
import { ExpiryFeed } from "./expiry-feed.js";
import { KeyLayout } from "./keys.js";
import { ScriptBatcher, type Arg } from "./batcher.js";
import type { OperationName } from "./script.js";
import { STATUS } from "./shared.js";
import { WindowCache } from "./window-cache.js";
import type {
  ContextWindow,
  ExpiredSession,
  ForkRequest,
  ListPage,
  ListQuery,
  NewSession,
  SessionChanges,
  SessionRecord,
  SessionSnapshot,
  SessionStore,
  StoreOptions,
  UpdateRequest,
  UpdateResult,
} from "../types.js";

type BatchCall = (key: string, bucketPrefix: string, packed: Buffer, ...buffers: Buffer[]) => Promise<unknown[]>;
/** A script's reply, read by position. */
type Reply = any;

/** Expiry events kept per bucket stream (approximately): plenty for sidecars polling every few hundred ms. */
const STREAM_LENGTH = 10_000;
/** Forks whose bucket this sidecar remembers. */
const PLACED_CAPACITY = 100_000;
/** Sessions whose record this sidecar keeps, so that a read sends back only what changed. */
const RECORD_CACHE = 10_000;
const ROLE_LETTER = { user: "u", assistant: "a", system: "s" } as const;
/**
 * Messages longer than this (in UTF-16 units: up to three bytes each) travel as bytes of their own, an
 * ARGV each, rather than inside the packed arguments, whose encoder keeps the largest buffer it ever
 * needed.
 */
const INLINE_TEXT = 16 * 1024;

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
    return new RedisStore(client, keys, options, clock, feed);
  } catch (err) {
    client.disconnect();
    if (err instanceof StoreOpenError) throw err;
    throw new StoreOpenError(`redis store ${target.label}: ${oneLine(err)}`);
  }
}

/** A session's record as last read here, and its version (the field ve: see lua/shared.lua). */
interface CachedRecord {
  record: SessionRecord;
  version: string;
  /** windowVersion(), once asked. */
  windowVersion?: string;
}

interface ListItem {
  score: number;
  bucket: number;
  session: SessionRecord;
}

/** One bucket's listing index, read newest first in batches during one list call. */
interface ListSource {
  bucket: number;
  index: "live" | "arch";
  /** Where the next batch starts (Redis score range syntax). */
  max: string;
  items: ListItem[];
  next: number;
  done: boolean;
}

export class RedisStore implements SessionStore {
  private readonly batcher: ScriptBatcher;
  /** Buckets of forks living away from their id's bucket, as learned here. */
  private readonly placed = new Map<string, number>();
  private readonly records = new Map<string, CachedRecord>();
  private readonly windows = new WindowCache();
  private readonly bucketNumbers: number[];
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly keys: KeyLayout,
    private readonly options: StoreOptions,
    private readonly clock: ServerClock,
    private readonly feed: ExpiryFeed,
  ) {
    const batch = (client as unknown as { batchBuffer: BatchCall }).batchBuffer.bind(client);
    this.batcher = new ScriptBatcher((bucket, packed, buffers) =>
      batch(keys.index(bucket, "idle"), keys.bucket(bucket), packed, ...buffers).catch((err: unknown) => {
        throw storeError(err);
      }),
    );
    this.bucketNumbers = Array.from({ length: keys.buckets }, (_, b) => b);
  }

  async create(input: NewSession, now: number): Promise<SessionRecord> {
    await this.checkCapacity();
    const id = input.sessionId;
    const bucket = this.keys.home(id);
    const reply = await this.run("create", bucket, [
      id,
      this.clock.server(now),
      this.options.maxIdleMs,
      input.cwd,
      ...optional(input.title),
      JSON.stringify(input.clientCapabilities ?? null),
      JSON.stringify(input.mcpServers),
      JSON.stringify(input.additionalDirectories),
      ...optional(input.retention.maxIdleMs),
      input.retention.pinned ? "1" : "0",
      nonce(),
    ]);
    if (reply[0] !== STATUS.ok) throw failure(reply, id);
    return this.record(id, reply[1]);
  }

  async fork(request: ForkRequest, now: number): Promise<SessionRecord> {
    await this.checkCapacity();
    const id = request.sessionId;
    const { reply, bucket } = await this.locate("fork", request.parentSessionId, [
      request.parentSessionId,
      id,
      this.clock.server(now),
      this.options.maxIdleMs,
      ...optional(request.atMessageId),
      request.cwd,
      JSON.stringify(request.mcpServers),
      request.title === undefined ? "0" : "1",
      ...optional(request.title),
      nonce(),
    ]);
    if (reply[0] === STATUS.idTaken) throw failure(reply, id);
    if (reply[0] !== STATUS.ok) throw failure(reply, request.parentSessionId, "atMessageId", request.atMessageId);
    const home = this.keys.home(id);
    if (home !== bucket) {
      try {
        await this.client.set(this.keys.alias(home, id), String(bucket));
      } catch (err) {
        // Unreachable without its alias: take the fork back if Redis still answers (else it expires).
        await this.run("remove", bucket, [id]).catch(() => {});
        throw storeError(err);
      }
      this.remember(id, bucket);
    }
    return this.record(id, reply[1]);
  }

  get(sessionId: string, window: ContextWindow, now: number): Promise<SessionSnapshot> {
    const cached = this.records.get(sessionId);
    const windowKey = windowKeyOf(window);
    const held = cached && this.windows.get(sessionId, windowVersion(cached), windowKey);
    const args = [
      sessionId,
      known(cached),
      held ? cached.record.revision : "",
      this.clock.server(now),
      this.options.maxIdleMs,
      window.offset ?? 0,
      window.limit ?? -1,
      ...optional(window.afterMessageId),
    ];
    return this.atSession("get", sessionId, args, (reply) => {
      if (typeof reply === "number") {
        // The last access alone: the copy of the record and the window held here are both still right.
        const { revision, messageCount } = cached!.record;
        return { session: this.refreshed(sessionId, cached!, revision, this.clock.local(reply), messageCount).record, messages: held! };
      }
      if (reply[0] !== STATUS.ok) throw failure(reply, sessionId, "afterMessageId", window.afterMessageId);
      const copy = this.current(sessionId, reply, cached);
      const messages = flatten(reply[5]);
      this.windows.set(sessionId, windowVersion(copy), windowKey, messages);
      return { session: copy.record, messages };
    });
  }

  update(request: UpdateRequest, now: number): Promise<UpdateResult> {
    const cached = this.records.get(request.sessionId);
    const appendOnly = request.expectedRevision === undefined && changesNothing(request.changes);
    const args = appendOnly
      ? this.accessArgs(request.sessionId, cached, now)
      : this.changeArgs(request.sessionId, cached, now, request.changes, request.expectedRevision, undefined);
    args.push(request.messages.length);
    for (const m of request.messages)
      args.push(m.messageId, ROLE_LETTER[m.role], m.json.length > INLINE_TEXT ? Buffer.from(m.json) : m.json);
    return this.atSession(appendOnly ? "append" : "update", request.sessionId, args, (reply) => {
      if (reply[0] !== STATUS.ok) throw failure(reply, request.sessionId, undefined, undefined, request.expectedRevision);
      return { session: this.current(request.sessionId, reply, cached).record, appended: reply[5], trimmed: reply[6] };
    });
  }

  async touch(sessionId: string, changes: SessionChanges, now: number, cwd?: string): Promise<SessionRecord> {
    const cached = this.records.get(sessionId);
    const args = this.changeArgs(sessionId, cached, now, changes, undefined, cwd);
    args.push(0);
    const reply = await this.atSession("update", sessionId, args);
    if (reply[0] !== STATUS.ok) throw failure(reply, sessionId);
    return this.current(sessionId, reply, cached).record;
  }

  async readMessages(sessionId: string, from: number, count: number): Promise<Buffer[]> {
    const reply = await this.atSession("read", sessionId, [sessionId, from, count]);
    return reply[0] === STATUS.ok ? flatten(reply[1]) : [];
  }

  async has(sessionId: string): Promise<boolean> {
    const reply = await this.atSession("has", sessionId, [sessionId]);
    return reply[0] === STATUS.ok;
  }

  async setArchived(sessionId: string, archived: boolean, now: number): Promise<SessionRecord> {
    const reply = await this.atSession("archive", sessionId, [
      sessionId,
      archived ? "1" : "0",
      this.clock.server(now),
      this.options.maxIdleMs,
    ]);
    if (reply[0] !== STATUS.ok) throw failure(reply, sessionId);
    return this.record(sessionId, reply[1]);
  }

  async remove(sessionId: string): Promise<boolean> {
    const { reply, bucket } = await this.locate("remove", sessionId, [sessionId]);
    if (reply[0] !== STATUS.ok) return false;
    this.forget(sessionId);
    await this.dropAlias(sessionId, bucket);
    return true;
  }

  async list(query: ListQuery): Promise<ListPage> {
    const after = query.cursor === undefined ? undefined : this.cursorPosition(query.cursor);
    const archived = query.archived ?? "exclude";
    const indexes: ListSource["index"][] = archived === "only" ? ["arch"] : archived === "include" ? ["live", "arch"] : ["live"];
    const sources: ListSource[] = [];
    for (const bucket of this.bucketNumbers) {
      for (const index of indexes) {
        // Order is (score, bucket), newest first: a page resumes strictly after the cursor's item.
        const max = after === undefined ? "+inf" : bucket < after.bucket ? String(after.score) : `(${after.score}`;
        sources.push({ bucket, index, max, items: [], next: 0, done: false });
      }
    }
    const page: ListItem[] = [];
    for (;;) {
      // Each source is asked for a fair share (twice it, in case the page leans on a few buckets);
      // one that runs dry before the page is full is asked again.
      const need = query.limit + 1 - page.length;
      const want = Math.min(need, Math.max(4, Math.ceil((2 * need) / sources.length)));
      await Promise.all(sources.filter((s) => s.next === s.items.length && !s.done).map((s) => this.fill(s, want, query.cwd)));
      let best: ListSource | undefined;
      for (const s of sources) {
        if (s.next < s.items.length && (!best || newer(s.items[s.next]!, best.items[best.next]!))) best = s;
      }
      if (!best) return { sessions: page.map((item) => item.session) };
      // Another page only if another match exists, so the last page never comes back empty.
      if (page.length >= query.limit) {
        const last = page[page.length - 1];
        return { sessions: page.map((item) => item.session), nextCursor: last ? encodeCursor([last.score, last.bucket]) : query.cursor };
      }
      page.push(best.items[best.next++]!);
    }
  }

  async expireDue(now: number, limit: number): Promise<ExpiredSession[]> {
    if (limit <= 0) return [];
    const serverNow = this.clock.server(now);
    const { maxLifetimeMs, onExpire = "delete" } = this.options;
    const createdBefore = maxLifetimeMs === undefined ? undefined : serverNow - maxLifetimeMs;
    // Count first, so that the buckets together expire at most `limit`.
    const due: number[] = await Promise.all(this.bucketNumbers.map((b) => this.run("due", b, [serverNow, ...optional(createdBefore)])));
    let left = limit;
    const runs: Promise<{ bucket: number; reply: Reply }>[] = [];
    for (const bucket of this.bucketNumbers) {
      const count = Math.min(due[bucket]!, left);
      if (count === 0) continue;
      left -= count;
      const args = [serverNow, this.options.maxIdleMs, ...optional(createdBefore), count, onExpire, STREAM_LENGTH];
      runs.push(this.run("expire", bucket, args).then((reply) => ({ bucket, reply })));
    }
    const expired: { session: ExpiredSession; phase: number; order: number }[] = [];
    const aliases: Promise<void>[] = [];
    for (const { bucket, reply } of await Promise.all(runs)) {
      for (const [id, created, seen, count, action, phase, order] of reply) {
        const sessionId = String(id);
        const session: ExpiredSession = {
          sessionId,
          createdAt: this.clock.local(Number(String(created))),
          lastAccessed: this.clock.local(Number(String(seen))),
          expiredAt: now,
          messageCount: Number(String(count)),
          action: String(action) as ExpiredSession["action"],
        };
        expired.push({ session, phase, order: Number(String(order)) });
        if (session.action === "delete") {
          this.forget(sessionId);
          aliases.push(this.dropAlias(sessionId, bucket));
        }
      }
    }
    await Promise.all(aliases);
    expired.sort((a, b) => a.phase - b.phase || a.order - b.order);
    return expired.map((e) => e.session);
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
    this.clock.stop();
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  private forget(sessionId: string): void {
    this.records.delete(sessionId);
    this.windows.forget(sessionId);
  }

  /** Runs an operation in a bucket (batched with others); outages become StoreUnavailableError. */
  private run(name: OperationName, bucket: number, args: Arg[]): Promise<Reply> {
    return this.batcher.run(name, bucket, args);
  }

  /**
   * Runs an operation on a session wherever it lives (see the top of this file): `then` of its reply
   * (the reply itself without one). A reply is an array led by its status, or, for a get that found
   * everything held here still right, a bare number (the last access), which is never a miss or redirect.
   */
  private atSession<T = Reply>(name: OperationName, sessionId: string, args: Arg[], then: (reply: Reply) => T = identity): Promise<T> {
    const bucket = this.placed.get(sessionId) ?? this.keys.home(sessionId);
    return this.batcher.run(name, bucket, args, (reply: Reply) =>
      reply[0] === STATUS.missing || reply[0] === STATUS.redirect
        ? this.locate(name, sessionId, args, { reply, bucket }).then((r) => then(r.reply))
        : then(reply),
    );
  }

  /** atSession's long way, also telling the bucket: follows an alias, or drops a stale remembered bucket. */
  private async locate(
    name: OperationName,
    sessionId: string,
    args: Arg[],
    first?: { reply: Reply; bucket: number },
  ): Promise<{ reply: Reply; bucket: number }> {
    const remembered = this.placed.get(sessionId);
    const home = this.keys.home(sessionId);
    let bucket = first?.bucket ?? remembered ?? home;
    let reply = first?.reply ?? (await this.run(name, bucket, args));
    if (bucket !== home && reply[0] === STATUS.missing) {
      this.placed.delete(sessionId);
      bucket = home;
      reply = await this.run(name, bucket, args);
    }
    if (reply[0] === STATUS.redirect) {
      bucket = Number(String(reply[1]));
      reply = await this.run(name, bucket, args);
      if (reply[0] === STATUS.missing || reply[0] === STATUS.redirect) {
        // The alias outlived its session (a delete cut short): nothing to redirect to.
        await this.client.del(this.keys.alias(home, sessionId)).catch(() => {});
        reply = [STATUS.missing];
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
      throw storeError(err);
    }
  }

  /**
   * maxSessions holds across buckets, so it is checked against their summed index sizes just before
   * the write: sidecars creating at the same instant may overshoot it by one each.
   */
  private async checkCapacity(): Promise<void> {
    const max = this.options.maxSessions;
    if (max === undefined) return;
    const counts: number[] = await Promise.all(this.bucketNumbers.map((b) => this.run("count", b, [])));
    if (counts.reduce((a, b) => a + b, 0) >= max) throw new LimitExceededError("maxSessions", max);
  }

  /** The next batch of a listing source: `want` matches, scanning more entries when filtering by cwd. */
  private async fill(source: ListSource, want: number, cwd: string | undefined): Promise<void> {
    const budget = cwd === undefined ? want : Math.max(want, 256);
    const reply = await this.run("list", source.bucket, [source.index, source.max, want, budget, ...optional(cwd)]);
    source.items = [];
    source.next = 0;
    for (let i = 2; i < reply.length; i += 3) {
      const session = this.record(String(reply[i]), reply[i + 2]);
      source.items.push({ score: Number(String(reply[i + 1])), bucket: source.bucket, session });
    }
    if (reply[0] === 1) source.done = true;
    else source.max = `(${String(reply[1])}`;
  }

  private cursorPosition(cursor: string): { score: number; bucket: number } {
    const position = decodeCursor(cursor);
    if (Array.isArray(position) && position.length === 2) {
      const [score, bucket] = position;
      if (Number.isSafeInteger(score) && Number.isSafeInteger(bucket) && bucket >= 0 && bucket < this.keys.buckets)
        return { score, bucket };
    }
    throw new InvalidCursorError(cursor);
  }

  /** The append operation's arguments up to its messages, which the update operation's start with. */
  private accessArgs(sessionId: string, cached: CachedRecord | undefined, now: number): Arg[] {
    return [
      sessionId,
      known(cached),
      this.clock.server(now),
      this.options.maxIdleMs,
      this.options.maxContextMessages ?? -1,
      this.options.onContextFull === "trim" ? "1" : "0",
    ];
  }

  /** The update operation's arguments up to its messages. */
  private changeArgs(
    sessionId: string,
    cached: CachedRecord | undefined,
    now: number,
    changes: SessionChanges,
    expectedRevision: number | undefined,
    cwd: string | undefined,
  ): Arg[] {
    return [...this.accessArgs(sessionId, cached, now), expectedRevision ?? "", ...optional(cwd), ...changeValues(changes)];
  }

  /**
   * The session from a get or update reply: [status, rev, seen, n, full record or null, ...]. The
   * script sends the full record only when the copy this sidecar had (`cached`) is out of date.
   */
  private current(sessionId: string, reply: Reply, cached: CachedRecord | undefined): CachedRecord {
    const full = reply[4] as (Buffer | null)[] | null;
    if (full) return this.keep(sessionId, full);
    // No full record: the script found this sidecar's copy (`cached`, sent as `known`) still right.
    return this.refreshed(sessionId, cached!, reply[1], this.clock.local(reply[2]), reply[3]);
  }

  /**
   * `cached`, a copy the script found still right, with the revision, last access and count it read. A
   * pipelined request's reply comes after earlier replies have replaced that copy: start from the
   * latest one when it is of the same version, so that replies saying the same share one record.
   */
  private refreshed(sessionId: string, cached: CachedRecord, revision: number, lastAccessed: number, messageCount: number): CachedRecord {
    const latest = this.records.get(sessionId);
    const kept = latest !== undefined && latest.version === cached.version ? latest : cached;
    // Reads within one millisecond change nothing: the same (read-only) record serves them all.
    const record = kept.record;
    if (record.revision === revision && record.lastAccessed === lastAccessed && record.messageCount === messageCount) return kept;
    const updated = { record: withCounters(record, revision, lastAccessed, messageCount), version: kept.version };
    this.records.set(sessionId, updated);
    return updated;
  }

  /** A session from the fields a script returns, in RECORD_FIELDS order; kept for later replies. */
  private record(sessionId: string, f: (Buffer | null)[]): SessionRecord {
    return this.keep(sessionId, f).record;
  }

  private keep(sessionId: string, f: (Buffer | null)[]): CachedRecord {
    const idle = f[10];
    const record: SessionRecord = {
      sessionId,
      cwd: text(f[0])!,
      title: text(f[1]),
      createdAt: this.clock.local(Number(text(f[5]))),
      lastAccessed: this.clock.local(Number(text(f[6]))),
      clientCapabilities: JSON.parse(text(f[2]) ?? "null"),
      mcpServers: JSON.parse(text(f[3]) ?? "[]"),
      additionalDirectories: JSON.parse(text(f[4]) ?? "[]"),
      messageCount: Number(text(f[7])),
      revision: Number(text(f[8])),
      archived: text(f[9]) === "1",
      retention: { maxIdleMs: idle ? Number(text(idle)) : null, pinned: text(f[11]) === "1" },
      parentSessionId: text(f[12]),
      forkedAtMessageId: text(f[13]),
    };
    const kept = { record, version: text(f[14]) ?? "" };
    this.records.delete(sessionId);
    if (this.records.size >= RECORD_CACHE) this.records.delete(this.records.keys().next().value!);
    this.records.set(sessionId, kept);
    return kept;
  }
}

const identity = (reply: Reply) => reply;

/** What the scripts compare with the stored session to tell whether this copy is still right. */
const known = (cached: CachedRecord | undefined) => cached?.version ?? "";

/**
 * `record` with a new revision, last access and count, every field spelled out in keep()'s order: a
 * spread overriding three fields took 0.7–1.5 µs here (node microbench), this 0.03, and it ran once
 * per pipelined update.
 */
function withCounters(record: SessionRecord, revision: number, lastAccessed: number, messageCount: number): SessionRecord {
  return {
    sessionId: record.sessionId,
    cwd: record.cwd,
    title: record.title,
    createdAt: record.createdAt,
    lastAccessed,
    clientCapabilities: record.clientCapabilities,
    mcpServers: record.mcpServers,
    additionalDirectories: record.additionalDirectories,
    messageCount,
    revision,
    archived: record.archived,
    retention: record.retention,
    parentSessionId: record.parentSessionId,
    forkedAtMessageId: record.forkedAtMessageId,
  };
}

/** A creation's nonce (see ve in lua/shared.lua). */
const nonce = () => randomBytes(6).toString("base64url");

const WHOLE_CONTEXT = "0:-1:";
/** What a window asks for, as the window cache keys it. */
const windowKeyOf = ({ offset, limit, afterMessageId }: ContextWindow) =>
  offset === undefined && limit === undefined && afterMessageId === undefined
    ? WHOLE_CONTEXT
    : `${offset ?? 0}:${limit ?? -1}:${afterMessageId ?? ""}`;

/** Which copy of a session a window of its messages was read from: they change only with the revision. */
const windowVersion = (cached: CachedRecord) => (cached.windowVersion ??= `${cached.record.revision}:${cached.version}`);

const newer = (a: ListItem, b: ListItem) => a.score > b.score || (a.score === b.score && a.bucket > b.bucket);

const text = (value: Buffer | null | undefined): string | null => (value === null || value === undefined ? null : value.toString());

/** True when an update changes no field: with no revision expected, it only appends. */
function changesNothing({ title, clientCapabilities, mcpServers, additionalDirectories, retention }: SessionChanges): boolean {
  return (
    title === undefined &&
    clientCapabilities === undefined &&
    mcpServers === undefined &&
    additionalDirectories === undefined &&
    retention === undefined
  );
}

/** The fields an update sets, as the update operation reads them: which are given ("tcmdr"), then their values. */
function changeValues({ title, clientCapabilities, mcpServers, additionalDirectories, retention }: SessionChanges): Arg[] {
  let given = "";
  const values: Arg[] = [];
  if (title !== undefined) {
    given += "t";
    values.push(...optional(title));
  }
  if (clientCapabilities !== undefined) {
    given += "c";
    values.push(JSON.stringify(clientCapabilities ?? null));
  }
  if (mcpServers !== undefined) {
    given += "m";
    values.push(JSON.stringify(mcpServers));
  }
  if (additionalDirectories !== undefined) {
    given += "d";
    values.push(JSON.stringify(additionalDirectories));
  }
  if (retention !== undefined) {
    given += "r";
    values.push(...optional(retention?.maxIdleMs), retention?.pinned ? "1" : "0");
  }
  return [given, ...values];
}

/**
 * An optional script argument: a presence flag, then the value, always as text: the scripts store
 * these as they come and compare them with what they stored.
 */
function optional(value: string | number | null | undefined): Arg[] {
  return value === undefined || value === null ? ["0", ""] : ["1", String(value)];
}

function flatten(chunks: Buffer[][]): Buffer[] {
  return chunks.length === 1 ? chunks[0]! : chunks.flat();
}

/** The error for a script's non-OK reply. */
function failure(reply: Reply, sessionId: string, field?: string, messageId?: string, expectedRevision?: number): StoreError {
  switch (reply[0]) {
    case STATUS.conflict:
      return new RevisionConflictError(sessionId, expectedRevision!, Number(reply[1]));
    case STATUS.contextFull:
      return new LimitExceededError("maxContextMessages", Number(reply[1]));
    case STATUS.cwdMismatch:
      return new CwdMismatchError(sessionId, String(reply[1]));
    case STATUS.noMessage:
      return new MessageNotFoundError(field!, messageId!);
    case STATUS.idTaken:
      return new StoreError(`session id ${sessionId} is already in use`);
    default:
      return new SessionNotFoundError(sessionId);
  }
}
