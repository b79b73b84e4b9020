import type BetterSqlite3 from "better-sqlite3";
import type { Logger } from "../../log.js";
import { ChangeFanout, type Subscriber } from "../change-fanout.js";
import { oneLine } from "../errors.js";
import type { ChangeListener, MaybePromise } from "../types.js";
import type { ChangeLog } from "./change-log.js";
import type { Transactions } from "./transactions.js";

/** How often `PRAGMA data_version` is asked whether another connection has committed, while anyone subscribes. */
const POLL_MS = 20;
/** How long a watch lasts unless renewed; renewed at a third of that. */
export const WATCH_MS = 30_000;
const RENEW_MS = WATCH_MS / 3;
/** Log entries read at once, at most, and about as many bytes of messages: the rest after a turn of the event loop. */
const READ_LIMIT = 1000;
const READ_BYTES = 4 * 1024 * 1024;

/** Where every watched session of this connection stood when its watches were renewed, and how far the log went then. */
export interface WatchRenewal {
  states: Map<string, { revision: number; messageCount: number } | undefined>;
  lastEntry: number;
}

/**
 * This connection's subscriptions, fed from the change log. The log is read after each commit of
 * this connection that logged something, and, for every other connection's commits, whenever
 * `PRAGMA data_version` has moved (asked every POLL_MS, only while anyone subscribes: with no
 * subscription nothing runs). Every RENEW_MS the watches are renewed in one write, which also reads
 * where each watched session stands: once the log has been read that far, a subscriber behind it
 * missed an entry (a watch that lapsed while this process stalled, an entry dropped before it was
 * read) and is told `lagged`.
 */
export class SqliteChangeFeed {
  private readonly fanout = new ChangeFanout(() => {
    if (this.fanout.empty) this.stopTimers();
  });
  /** The last log entry read. */
  private cursor = 0;
  private version: unknown;
  private pollTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private readScheduled = false;
  /** A read was due while this connection's own transaction was open: it runs after the commit. */
  private readWanted = false;
  private failing = false;

  constructor(
    private readonly log: ChangeLog,
    private readonly transactions: Transactions,
    private readonly dataVersion: BetterSqlite3.Statement,
    /** Renews the watch of each session, in a write, and says where they stand (the store's rows). */
    private readonly renew: (sessionIds: string[], until: number) => WatchRenewal,
    private readonly logger: Logger,
  ) {}

  /**
   * A subscriber starting at `revision`, inside the write transaction that read it: the log entries
   * from here on are all after that snapshot or skipped by revision.
   */
  add(sessionId: string, listener: ChangeListener, revision: number, messageCount: number): Subscriber {
    if (this.fanout.empty) {
      this.cursor = this.log.last();
      this.startTimers();
    }
    const subscriber = this.fanout.add(sessionId, listener);
    this.fanout.start(subscriber, revision, messageCount);
    return subscriber;
  }

  remove(subscriber: Subscriber): void {
    this.fanout.remove(subscriber);
  }

  /** After a commit of this connection: what it logged is read at once. */
  committed(): void {
    if (this.fanout.empty || !(this.log.written || this.readWanted)) return;
    this.log.written = false;
    this.read();
  }

  stop(): void {
    this.stopTimers();
  }

  /** Reads the log after the cursor, a part at a time; only outside this connection's own open transaction. */
  private read(): void {
    if (this.fanout.empty) return;
    if (this.transactions.batchOpen) {
      this.readWanted = true;
      return;
    }
    this.readWanted = false;
    let more = false;
    try {
      const part = this.transactions.read(() => this.log.read(this.cursor, READ_LIMIT, READ_BYTES));
      for (const { id, event } of part.entries) {
        this.cursor = id;
        this.fanout.publish(event);
      }
      more = part.more;
      if (this.failing) this.logger.info("sqlite: reading the change log again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn(`sqlite: cannot read the change log (${oneLine(err)}); retrying`);
      this.failing = true;
    }
    if (more && !this.readScheduled) {
      this.readScheduled = true;
      setImmediate(() => {
        this.readScheduled = false;
        this.read();
      });
    }
  }

  /** Another connection has committed since the last look: read. An open transaction of ours reads after its commit. */
  private poll(): void {
    if (this.transactions.batchOpen) return;
    let version: unknown;
    try {
      version = this.dataVersion.get();
    } catch {
      return;
    }
    if (version === this.version) return;
    this.version = version;
    this.read();
  }

  private renewWatches(): void {
    const sessions = [...this.fanout.sessions()];
    if (sessions.length === 0) return;
    let renewal: MaybePromise<WatchRenewal>;
    try {
      renewal = this.transactions.write(() => this.renew(sessions, Date.now() + WATCH_MS));
    } catch (err) {
      return this.logger.warn(`sqlite: cannot renew the watches of subscribed sessions (${oneLine(err)})`);
    }
    const check = ({ states, lastEntry }: WatchRenewal) => {
      this.read();
      if (this.cursor < lastEntry) return;
      for (const [sessionId, state] of states) this.fanout.check(sessionId, state);
    };
    if (renewal instanceof Promise) {
      renewal.then(check, (err: unknown) => this.logger.warn(`sqlite: cannot renew the watches of subscribed sessions (${oneLine(err)})`));
    } else {
      check(renewal);
    }
  }

  private startTimers(): void {
    this.version = undefined;
    this.pollTimer = setInterval(() => this.poll(), POLL_MS);
    this.pollTimer.unref();
    this.renewTimer = setInterval(() => this.renewWatches(), RENEW_MS);
    this.renewTimer.unref();
  }

  private stopTimers(): void {
    clearInterval(this.pollTimer);
    clearInterval(this.renewTimer);
    this.pollTimer = this.renewTimer = undefined;
  }
}
