/**
 * The Redis store (single Redis or Redis Cluster, through ioredis), shared by every sidecar that
 * points at it. Layout: redis-keys.ts; the atomic operations: redis-scripts.ts.
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
 * Time: deadlines and creation order are kept on the Redis server's clock, so that sidecars on hosts
 * whose clocks disagree expire sessions at the same moment. The store is handed `now` on the
 * sidecar's clock (injected, so tests and the contract suite drive time); it converts with an offset
 * measured against Redis `TIME` at start-up (lowest round trip of a few samples) and re-measured every
 * minute. An offset under a second counts as none: hosts kept in step by NTP then store exactly the
 * times they were given, and every sidecar reads back the same values; a host further off is corrected.
 * A new offset is adopted only when it moved by more than a quarter second (a clock step), so that
 * consecutive calls see one consistent clock.
 *
 * Throughput: operations started in the same event-loop turn go to Redis as one script call per
 * bucket (ScriptBatcher in redis-scripts.ts), and a read sends the session's fields, and the window of
 * messages asked for, back only when the copy this sidecar keeps is out of date (same revision and
 * creation time: only lastAccessed and the count travel; see window-cache.ts).
 */
import { isIP } from "node:net";
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../log.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import {
  CwdMismatchError,
  InvalidCursorError,
  LimitExceededError,
  MessageNotFoundError,
  RevisionConflictError,
  SessionNotFoundError,
  StoreError,
  StoreUnavailableError,
} from "./errors.js";
import type { BackendOptions } from "./index.js";
import { StoreOpenError } from "./index.js";
import { KeyLayout, LAYOUT_VERSION } from "./redis-keys.js";
import { WindowCache } from "./window-cache.js";
import { BATCH_SCRIPT, ScriptBatcher, STATUS, type Arg, type OperationName, type Reply } from "./redis-scripts.js";
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
} from "./types.js";

type Client = Redis | Cluster;
type BatchCall = (key: string, bucketPrefix: string, packed: Buffer, ...buffers: Buffer[]) => Promise<Reply[]>;

/** Expiry events kept per bucket stream (approximately): plenty for sidecars polling every POLL_MS. */
const STREAM_LENGTH = 10_000;
const POLL_MS = 250;
const POLL_BATCH = 500;
const CLOCK_CHECK_MS = 60_000;
const CLOCK_STEP_MS = 250;
const CLOCK_TOLERANCE_MS = 1000;
/** Forks whose bucket this sidecar remembers. */
const PLACED_CAPACITY = 100_000;
/** Sessions whose record this sidecar keeps, so that a read sends back only what changed. */
const RECORD_CACHE = 10_000;
const ROLE_LETTER = { user: "u", assistant: "a", system: "s" } as const;

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

/** A session's record as last read here, and its version (the scripts' version(): fv and score). */
interface CachedRecord {
  record: SessionRecord;
  version: string;
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
    const windowKey = `${window.offset ?? 0}:${window.limit ?? -1}:${window.afterMessageId ?? ""}`;
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
    return this.atSession("get", sessionId, args).then((reply) => {
      if (reply[0] !== STATUS.ok) throw failure(reply, sessionId, "afterMessageId", window.afterMessageId);
      const session = this.current(sessionId, reply, cached);
      if (reply[5] === null) return { session, messages: held! };
      const messages = flatten(reply[5]);
      this.windows.set(sessionId, windowVersion(this.records.get(sessionId)!), windowKey, messages);
      return { session, messages };
    });
  }

  update(request: UpdateRequest, now: number): Promise<UpdateResult> {
    const cached = this.records.get(request.sessionId);
    const args = this.changeArgs(request.sessionId, cached, now, request.changes, request.expectedRevision, undefined);
    args.push(request.messages.length);
    for (const m of request.messages) args.push(m.messageId, ROLE_LETTER[m.role], m.json);
    return this.atSession("update", request.sessionId, args).then((reply) => {
      if (reply[0] !== STATUS.ok) throw failure(reply, request.sessionId, undefined, undefined, request.expectedRevision);
      return { session: this.current(request.sessionId, reply, cached), appended: reply[5], trimmed: reply[6] };
    });
  }

  async touch(sessionId: string, changes: SessionChanges, now: number, cwd?: string): Promise<SessionRecord> {
    const cached = this.records.get(sessionId);
    const args = this.changeArgs(sessionId, cached, now, changes, undefined, cwd);
    args.push(0);
    const reply = await this.atSession("update", sessionId, args);
    if (reply[0] !== STATUS.ok) throw failure(reply, sessionId);
    return this.current(sessionId, reply, cached);
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
      const args = [serverNow, ...optional(createdBefore), count, onExpire, STREAM_LENGTH];
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

  /** Keys under the prefix, but the layout record and the expiry streams (capped; see redis-keys.ts). */
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

  /** Runs an operation on a session wherever it lives (see the top of this file): its reply. */
  private atSession(name: OperationName, sessionId: string, args: Arg[]): Promise<Reply> {
    const bucket = this.placed.get(sessionId) ?? this.keys.home(sessionId);
    return this.run(name, bucket, args).then((reply) =>
      reply[0] === STATUS.missing || reply[0] === STATUS.redirect
        ? this.locate(name, sessionId, args, { reply, bucket }).then((r) => r.reply)
        : reply,
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

  /** The update operation's arguments up to its messages. */
  private changeArgs(
    sessionId: string,
    cached: CachedRecord | undefined,
    now: number,
    changes: SessionChanges,
    expectedRevision: number | undefined,
    cwd: string | undefined,
  ): Arg[] {
    return [
      sessionId,
      known(cached),
      this.clock.server(now),
      this.options.maxIdleMs,
      this.options.maxContextMessages ?? -1,
      this.options.onContextFull === "trim" ? "1" : "0",
      expectedRevision ?? "",
      ...optional(cwd),
      ...changeValues(changes),
    ];
  }

  /**
   * The session from a get or update reply: [status, rev, seen, n, full record or null, ...]. The
   * script sends the full record only when the copy this sidecar had (`cached`) is out of date.
   */
  private current(sessionId: string, reply: Reply, cached: CachedRecord | undefined): SessionRecord {
    const full = reply[4] as (Buffer | null)[] | null;
    if (full) return this.record(sessionId, full);
    const kept = cached!.record;
    const lastAccessed = this.clock.local(reply[2]);
    // Reads within one millisecond change nothing: the same (read-only) record serves them all.
    if (kept.revision === reply[1] && kept.lastAccessed === lastAccessed && kept.messageCount === reply[3]) return kept;
    const record = { ...kept, revision: reply[1], lastAccessed, messageCount: reply[3] };
    this.records.set(sessionId, { record, version: cached!.version });
    return record;
  }

  /** A session from the fields a script returns, in RECORD_FIELDS order; kept for later replies. */
  private record(sessionId: string, f: (Buffer | null)[]): SessionRecord {
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
    this.records.delete(sessionId);
    if (this.records.size >= RECORD_CACHE) this.records.delete(this.records.keys().next().value!);
    this.records.set(sessionId, { record, version: `${text(f[14]) ?? 0}:${text(f[15])}` });
    return record;
  }
}

/** What the scripts compare with the stored session to tell whether this copy is still right. */
const known = (cached: CachedRecord | undefined) => cached?.version ?? "";

/** Which copy of a session a window of its messages was read from: they change only with the revision. */
const windowVersion = (cached: CachedRecord) => `${cached.record.revision}:${cached.version}`;

const newer = (a: ListItem, b: ListItem) => a.score > b.score || (a.score === b.score && a.bucket > b.bucket);

const text = (value: Buffer | null | undefined): string | null => (value === null || value === undefined ? null : value.toString());

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

/** An optional script argument: a presence flag, then the value. */
function optional(value: string | number | null | undefined): Arg[] {
  return value === undefined || value === null ? ["0", ""] : ["1", value];
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

/** Server replies that mean "not now" rather than "a bug in a script". */
const UNAVAILABLE_REPLY = /^(LOADING|CLUSTERDOWN|TRYAGAIN|READONLY|MASTERDOWN|BUSY|OOM|NOREPLICAS|MISCONF|MOVED|ASK)\b/;

function storeError(err: unknown): Error {
  if (err instanceof StoreError) return err;
  if (err instanceof Error && err.name === "ReplyError" && !UNAVAILABLE_REPLY.test(err.message)) return err;
  return new StoreUnavailableError("redis", err);
}

function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, " ");
}

// ---------------------------------------------------------------------------------------------
// Connecting

interface Target {
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
function parseTarget(url: string): Target {
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
async function connect(target: Target, waitMs: number): Promise<Client> {
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
  client.defineCommand("batch", { numberOfKeys: 1, lua: BATCH_SCRIPT });
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
async function checkLayout(client: Client, keys: KeyLayout, label: string): Promise<void> {
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
function reportOutages(client: Client, label: string, log: Logger): void {
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

// ---------------------------------------------------------------------------------------------
// The server clock

/** Converts the sidecar's clock to the Redis server's and back (see the top of this file). */
class ServerClock {
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly client: Client,
    private offset: number,
    private readonly log: Logger,
  ) {}

  static async start(client: Client, log: Logger): Promise<ServerClock> {
    const clock = new ServerClock(client, await measureOffset(client), log);
    clock.timer = setInterval(() => void clock.check(), CLOCK_CHECK_MS);
    clock.timer.unref();
    return clock;
  }

  server(localMs: number): number {
    return localMs + this.offset;
  }

  local(serverMs: number): number {
    return serverMs - this.offset;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    try {
      const offset = await measureOffset(this.client);
      if (Math.abs(offset - this.offset) <= CLOCK_STEP_MS) return;
      this.log.info(`redis: this host's clock moved by ${offset - this.offset} ms against the server's; following it`);
      this.offset = offset;
    } catch {
      // An outage: the next check will do.
    }
  }
}

/** Redis TIME minus local time, from the sample with the shortest round trip; 0 when within tolerance. */
async function measureOffset(client: Client): Promise<number> {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 5; i++) {
    const before = Date.now();
    const [seconds, micros] = await client.time();
    const after = Date.now();
    if (after - before < best) {
      best = after - before;
      offset = Math.round(Number(seconds) * 1000 + Number(micros) / 1000 - (before + after) / 2);
    }
  }
  return Math.abs(offset) < CLOCK_TOLERANCE_MS ? 0 : offset;
}

// ---------------------------------------------------------------------------------------------
// Expiry notifications

/**
 * Reads every bucket's expiry stream from where it stood when this sidecar started (so old expiries
 * are not announced to a new client), and hands each event to the listeners once. It polls, with one
 * non-blocking XREAD per bucket every POLL_MS over the shared (auto-pipelined) connection: a blocking
 * XREAD would hold a connection per node, and Pub/Sub or keyspace events are lost while disconnected.
 */
class ExpiryFeed {
  private readonly listeners: ((expired: ExpiredSession) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failing = false;

  private constructor(
    private readonly client: Client,
    private readonly keys: KeyLayout,
    private readonly clock: ServerClock,
    private readonly log: Logger,
    private readonly lastIds: string[],
  ) {}

  static async open(client: Client, keys: KeyLayout, clock: ServerClock, log: Logger): Promise<ExpiryFeed> {
    const lastIds = await Promise.all(
      Array.from({ length: keys.buckets }, async (_, b) => {
        const newest = await client.xrevrange(keys.index(b, "events"), "+", "-", "COUNT", 1);
        return newest[0]?.[0] ?? "0-0";
      }),
    );
    return new ExpiryFeed(client, keys, clock, log, lastIds);
  }

  subscribe(listener: (expired: ExpiredSession) => void): void {
    this.listeners.push(listener);
    this.schedule(POLL_MS);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    let more = false;
    try {
      const replies = (await Promise.all(
        this.lastIds.map((id, b) => this.client.call("XREAD", "COUNT", POLL_BATCH, "STREAMS", this.keys.index(b, "events"), id)),
      )) as ([string, [string, string[]][]][] | null)[];
      replies.forEach((reply, b) => {
        const entries = reply?.[0]?.[1] ?? [];
        for (const [id, fields] of entries) {
          this.lastIds[b] = id;
          this.emit(fields);
        }
        if (entries.length === POLL_BATCH) more = true;
      });
      if (this.failing) this.log.info("redis: reading expiry events again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn(`redis: cannot read expiry events (${oneLine(err)}); retrying`);
      this.failing = true;
    }
    this.schedule(more ? 0 : POLL_MS);
  }

  private emit(fields: string[]): void {
    const event = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) event.set(fields[i]!, fields[i + 1]!);
    const expired: ExpiredSession = {
      sessionId: event.get("id")!,
      createdAt: this.clock.local(Number(event.get("created"))),
      lastAccessed: this.clock.local(Number(event.get("seen"))),
      expiredAt: this.clock.local(Number(event.get("at"))),
      messageCount: Number(event.get("n")),
      action: event.get("action") as ExpiredSession["action"],
    };
    for (const listener of this.listeners) {
      try {
        listener(expired);
      } catch (err) {
        this.log.error("an expiry listener failed", err);
      }
    }
  }
}
