import type BetterSqlite3 from "better-sqlite3";
import { StoreError, StoreUnavailableError } from "../errors.js";
import type { MaybePromise } from "../types.js";
import type { ReadCache } from "./cache.js";
import type { SessionRow } from "./rows.js";
import type { Statements } from "./statements.js";

/** The turn's open transaction; `changed` once a request in it changed more than access times. */
interface Batch {
  done: Promise<void>;
  settle: (err?: unknown) => void;
  changed: boolean;
}

/** Connections whose group commit holds the write lock now: another one in this process commits them first. */
const openBatches = new Set<Transactions>();

/**
 * Runs each request of one connection in a transaction and keeps its read cache right around them.
 * With group commit the writes of one event-loop turn share a transaction, each in a savepoint of its
 * own, committed once the turn's input is handled; without it every write commits alone.
 */
export class Transactions {
  private readonly transaction: BetterSqlite3.Transaction<(work: () => unknown) => unknown>;
  private batch: Batch | undefined;
  /** Rows written to record an access, so write() can tell them from real changes. */
  private accessWrites = 0;
  /** PRAGMA data_version when the cache was last known right. */
  private cacheVersion: unknown;
  /** Called after each commit of this connection's writes (the change feed reads the change log then). */
  onCommit: () => void = () => {};

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly sql: Statements,
    private readonly cache: ReadCache<SessionRow>,
    private readonly groupCommit: boolean,
  ) {
    this.transaction = db.transaction((work: () => unknown) => work());
  }

  /**
   * Runs `work` as one write. Without group commit it is a transaction of its own. With it, it is a
   * savepoint in the turn's transaction (a failure undoes only this request), and once the turn has
   * changed anything but access times its results are released only after the commit: an answer
   * never shows what a kill could still undo. (Access times alone hold no answer back; losing the
   * last milliseconds of them only lets a session expire a little sooner.) Work of kind "access"
   * writes nothing but an access time, as its last statement: one statement applies whole or not at
   * all, so it needs no savepoint, and it adds nothing a commit must come before (though what it read
   * may need one).
   */
  write<T>(work: () => T, kind: "change" | "access" = "change"): MaybePromise<T> {
    if (!this.groupCommit) {
      const result = guard(() => this.cached(() => this.transaction.immediate(() => this.afterBegin(work)) as T));
      this.onCommit();
      return result;
    }
    const batch = guard(() => this.openBatch());
    if (kind === "access") {
      const read = guard(() => this.cached(work));
      return batch.changed ? batch.done.then(() => read) : read;
    }
    const changesBefore = this.sql.totalChanges.get() as number;
    const accessesBefore = this.accessWrites;
    const result = guard(() => this.cached(() => this.transaction(work) as T));
    if ((this.sql.totalChanges.get() as number) - changesBefore > this.accessWrites - accessesBefore) batch.changed = true;
    return batch.changed ? batch.done.then(() => result) : result;
  }

  /** A read in one snapshot; inside an open batch it sees that batch's writes. */
  read<T>(work: () => T): T {
    return guard(() => this.cached(() => this.transaction.deferred(() => this.afterBegin(work)) as T));
  }

  /** A group commit's transaction is open: what it wrote is not committed yet. */
  get batchOpen(): boolean {
    return this.batch !== undefined;
  }

  /** The work in progress wrote a row only to record an access. */
  countAccessWrite(): void {
    this.accessWrites++;
  }

  /** Commits the open batch now, if there is one (before the connection closes). */
  commitBatch(): void {
    if (!this.batch) return;
    try {
      if (!this.db.inTransaction) throw new Error("the transaction was rolled back");
      this.sql.commit.run();
      this.settleBatch();
    } catch (err) {
      if (this.db.inTransaction) this.sql.rollback.run();
      this.settleBatch(err);
      return;
    }
    this.onCommit();
  }

  private afterBegin<T>(work: () => T): T {
    this.checkCache();
    return work();
  }

  /**
   * Keeps the cache right around one request: the rows it leaves are kept once `run` has returned
   * (after its commit or savepoint). A store error undid only this request; anything else is SQLite's
   * own failure, which may have rolled back more (the whole turn's transaction), so nothing kept is
   * trusted after it.
   */
  private cached<T>(run: () => T): T {
    try {
      const result = run();
      this.cache.keep();
      return result;
    } catch (err) {
      if (err instanceof StoreError) this.cache.discard();
      else this.cache.clear();
      throw err;
    }
  }

  /** Inside a transaction: drops the cache if another connection has committed since it was filled. */
  private checkCache(): void {
    const version = this.sql.dataVersion.get();
    if (version === this.cacheVersion) return;
    this.cache.clear();
    this.cacheVersion = version;
  }

  private openBatch(): Batch {
    // A statement error that rolled the whole transaction back has lost the batch: fail it now.
    if (this.batch && !this.db.inTransaction) this.settleBatch(new Error("the transaction was rolled back"));
    if (this.batch) return this.batch;
    for (const other of openBatches) other.commitBatch();
    this.sql.begin.run();
    try {
      this.checkCache();
    } catch (err) {
      this.sql.rollback.run();
      throw err;
    }
    let settle!: (err?: unknown) => void;
    // A failed commit rejects with whatever SQLite threw, as it is.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const done = new Promise<void>((resolve, reject) => (settle = (err) => (err === undefined ? resolve() : reject(err))));
    // Each request's own promise carries a failure; this one alone must not count as unhandled.
    done.catch(() => {});
    this.batch = { done, settle, changed: false };
    openBatches.add(this);
    // After the loop's I/O phase, which hands over every input chunk already waiting (libuv reads a
    // busy pipe several times over): one commit for all of them. A commit writes each page its requests
    // dirtied once, so requests spread over many sessions cost far less in big commits than in small.
    setImmediate(() => this.commitBatch());
    return this.batch;
  }

  private settleBatch(err?: unknown): void {
    // The cache holds what the lost transaction wrote.
    if (err !== undefined) this.cache.clear();
    const batch = this.batch!;
    this.batch = undefined;
    openBatches.delete(this);
    batch.settle(err === undefined ? undefined : new StoreUnavailableError("sqlite", err));
  }
}

/** Store errors pass through; anything SQLite throws becomes StoreUnavailableError. */
export function guard<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreUnavailableError("sqlite", err);
  }
}
