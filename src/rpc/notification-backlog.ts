import type { Piece } from "../transport/frame-writer.js";
import { answerBytes } from "./answer-budget.js";

/** Where the backlog's notifications go: the connection's output. */
export interface NotificationOutput {
  /** True while the output is backed up (the client is not reading). */
  readonly blocked: boolean;
  /** Writes one encoded notification. */
  send(pieces: readonly Piece[]): void;
}

interface Entry {
  readonly key: string;
  /** undefined: the place of the key's dropped notifications, where its notice goes. */
  pieces: readonly Piece[] | undefined;
  bytes: number;
  /** Never dropped (a subscription's end). */
  readonly keep: boolean;
  dropped: boolean;
}

/**
 * Notifications that belong to no request (a subscription's changes), each under a key (its
 * session), held while the output is backed up, up to a byte limit. Past it, the pending
 * notifications of the key being added are dropped, and of the keys holding the most if that is not
 * enough: one notice takes each key's place, made only when it is written (so it says where the key
 * stands then), and the key's later notifications are dropped until that notice is out. Whoever
 * causes the changes is never slowed, and what a client that stops reading costs stays bounded.
 */
export class NotificationBacklog {
  private entries: Entry[] = [];
  private head = 0;
  private bytes = 0;
  private readonly bytesOf = new Map<string, number>();
  /** Keys whose notice is waiting to be written. */
  private readonly lagging = new Set<string>();

  constructor(
    private readonly output: NotificationOutput,
    private readonly limit: number,
    /** The notice written in place of a key's dropped notifications; undefined for none (the key is gone). */
    private readonly notice: (key: string) => readonly Piece[] | undefined,
  ) {}

  /** Bytes of notifications waiting. */
  get pending(): number {
    return this.bytes;
  }

  /** Writes now, or holds while the output is backed up (or others wait before it). `keep`: never dropped. */
  send(key: string, pieces: readonly Piece[], keep = false): void {
    if (this.head === this.entries.length && !this.output.blocked) return this.output.send(pieces);
    if (this.lagging.has(key) && !keep) return;
    const entry: Entry = { key, pieces, bytes: answerBytes(pieces), keep, dropped: false };
    this.entries.push(entry);
    this.count(entry, 1);
    if (this.bytes > this.limit) this.overflow(key);
  }

  /** The output took what it held: writes what waits, until it is backed up again. */
  drain(): void {
    while (this.head < this.entries.length && !this.output.blocked) {
      const entry = this.entries[this.head]!;
      this.entries[this.head++] = undefined as unknown as Entry;
      if (entry.dropped) continue;
      if (entry.pieces) {
        this.count(entry, -1);
        this.output.send(entry.pieces);
        continue;
      }
      this.lagging.delete(entry.key);
      const notice = this.notice(entry.key);
      if (notice) this.output.send(notice);
    }
    if (this.head === this.entries.length) {
      this.entries = [];
      this.head = 0;
    }
  }

  /** Drops whatever waits under `key` (its subscription ended). */
  forget(key: string): void {
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.key === key) this.drop(entry);
    }
    this.lagging.delete(key);
  }

  /** Over the limit: the key just added gives way first, then (past kept ones) the keys holding the most. */
  private overflow(key: string): void {
    this.lag(key);
    while (this.bytes > this.limit) {
      let largest: string | undefined;
      let most = 0;
      for (const [k, bytes] of this.bytesOf) {
        if (this.lagging.has(k) || bytes <= most) continue;
        largest = k;
        most = bytes;
      }
      // What is left are kept notifications: small, and no more than the subscriptions that ended.
      if (largest === undefined) return;
      this.lag(largest);
    }
  }

  /** The key's pending notifications (but kept ones) give way to its notice, at the place of the first. */
  private lag(key: string): void {
    let first = -1;
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.key !== key || entry.dropped || entry.keep || !entry.pieces) continue;
      if (first < 0) first = i;
      this.drop(entry);
    }
    if (first < 0 || this.lagging.has(key)) return;
    this.lagging.add(key);
    this.entries[first] = { key, pieces: undefined, bytes: 0, keep: false, dropped: false };
  }

  private drop(entry: Entry): void {
    if (entry.dropped) return;
    if (entry.pieces) this.count(entry, -1);
    entry.dropped = true;
    entry.pieces = undefined;
  }

  private count(entry: Entry, sign: 1 | -1): void {
    this.bytes += sign * entry.bytes;
    const bytes = (this.bytesOf.get(entry.key) ?? 0) + sign * entry.bytes;
    if (bytes > 0) this.bytesOf.set(entry.key, bytes);
    else this.bytesOf.delete(entry.key);
  }
}
