import { ownedBytes } from "../owned-bytes.js";
import type { Role, StoredMessage } from "../types.js";

/** A message as a history keeps it: its JSON as bytes of their own, ready to be sent. */
interface KeptMessage {
  messageId: string;
  role: Role;
  json: Buffer;
}

/** Counts of what all histories hold, so tests can prove a delete leaves nothing behind. */
export class HistoryStats {
  segments = 0;
  messages = 0;
}

/**
 * A run of messages at absolute positions [base + offset, end), appended at its end. Its first `base`
 * positions are read from `parent`; `offset` counts leading messages already freed (trimmed). A fork
 * starts a new segment over its parent's, so history is shared, never copied, and each session
 * appends only to the segment it owns. A truncate drops its tail only where no fork reads it.
 */
class Segment {
  messages: KeptMessage[] = [];
  /** messageId → absolute position. */
  readonly positions = new Map<string, number>();
  readonly children = new Set<Segment>();
  offset = 0;
  owned = true;

  constructor(
    public parent: Segment | null,
    readonly base: number,
    private readonly stats: HistoryStats,
  ) {
    stats.segments++;
    parent?.children.add(this);
  }

  get end(): number {
    return this.base + this.offset + this.messages.length;
  }

  at(position: number): KeptMessage {
    return this.messages[position - this.base - this.offset]!;
  }

  push({ messageId, role, json }: StoredMessage): void {
    this.positions.set(messageId, this.end);
    this.messages.push({ messageId, role, json: ownedBytes(json) });
    this.stats.messages++;
  }

  /** Keeps positions [from, to) of this segment's own messages and frees the rest. */
  keep(from: number, to: number): void {
    const first = Math.max(0, from - this.base - this.offset);
    const last = Math.max(first, to - this.base - this.offset);
    if (first === 0 && last >= this.messages.length) return;
    // Only the tail goes (a truncate, or a collect for forks): no copy of what stays.
    if (first === 0) return this.dropFrom(to);
    const kept = this.messages.slice(first, last);
    for (let i = 0; i < this.messages.length; i++) if (i < first || i >= last) this.forget(i);
    this.stats.messages -= this.messages.length - kept.length;
    this.offset += first;
    this.messages = kept;
  }

  /** Drops the id of the message at `index` of this segment's own, unless a later copy of it took the id over. */
  private forget(index: number): void {
    const { messageId } = this.messages[index]!;
    if (this.positions.get(messageId) === this.base + this.offset + index) this.positions.delete(messageId);
  }

  /**
   * Frees this segment's own messages from `position` on, the last first: cost in proportion to what
   * goes. pop(), not a shorter length: V8 sets a long array's length far slower than it pops.
   */
  dropFrom(position: number): void {
    const kept = Math.max(0, position - this.base - this.offset);
    for (let i = this.messages.length - 1; i >= kept; i--) {
      this.forget(i);
      this.messages.pop();
      this.stats.messages--;
    }
  }

  /** Whether every fork based on this segment reads only positions below `position`. */
  forksReadBelow(position: number): boolean {
    for (const child of this.children) if (child.base > position) return false;
    return true;
  }

  /** Frees what no one can read any more; frees the whole segment once nothing refers to it. */
  collect(): void {
    if (this.owned) return;
    if (this.children.size > 0) {
      let needed = 0;
      for (const child of this.children) needed = Math.max(needed, child.base);
      this.keep(0, needed);
      return;
    }
    this.stats.segments--;
    this.stats.messages -= this.messages.length;
    this.messages = [];
    this.positions.clear();
    const parent = this.parent;
    this.parent = null;
    if (parent) {
      parent.children.delete(this);
      parent.collect();
    }
  }
}

/**
 * The head of every history that has never held a message: most sessions sit idle with none, and a
 * segment of their own (its array, map and set) would be most of what they cost. Never written to.
 */
const NO_MESSAGES = new Segment(null, 0, new HistoryStats());

/** One session's ordered messages: the visible positions [start, head.end) of its segment chain. */
export class History {
  private constructor(
    private head: Segment,
    private start: number,
    private readonly stats: HistoryStats,
  ) {}

  static empty(stats: HistoryStats): History {
    return new History(NO_MESSAGES, 0, stats);
  }

  get length(): number {
    return this.head.end - this.start;
  }

  append(messages: readonly StoredMessage[]): void {
    if (messages.length === 0) return;
    if (this.head === NO_MESSAGES) this.head = new Segment(null, 0, this.stats);
    for (const message of messages) this.head.push(message);
  }

  /** The index of a visible message, or -1. */
  indexOf(messageId: string): number {
    let limit = this.head.end;
    for (let segment: Segment | null = this.head; segment; segment = segment.parent) {
      const position = segment.positions.get(messageId);
      if (position !== undefined && position < limit) return position >= this.start ? position - this.start : -1;
      limit = segment.base;
    }
    return -1;
  }

  role(index: number): Role {
    return this.locate(this.start + index).role;
  }

  lastMessageId(): string | null {
    return this.length === 0 ? null : this.locate(this.head.end - 1).messageId;
  }

  /** Messages [from, from + count) as stored JSON: walks back only as far as the window reaches. */
  slice(from: number, count: number): Buffer[] {
    const first = this.start + from;
    const last = Math.min(this.head.end, first + count);
    if (first >= last) return [];
    const out = new Array<Buffer>(last - first);
    let end = last;
    for (let segment: Segment | null = this.head; segment && end > first; segment = segment.parent) {
      const begin = Math.min(end, Math.max(first, segment.base));
      for (let p = begin; p < end; p++) out[p - first] = segment.at(p).json;
      end = begin;
    }
    return out;
  }

  /** A new history holding the first `count` visible messages, sharing them with this one. */
  fork(count: number, stats: HistoryStats): History {
    if (this.start + count === 0) return History.empty(stats);
    return new History(this.segmentAt(count, stats), this.start, stats);
  }

  /**
   * Keeps the first `count` visible messages and frees the rest. The head's own tail goes in place
   * when no fork reads it; otherwise the session moves to a new head at the cut, as if it forked
   * itself there, and its old head is collected like a removed session's, kept as far as forks read it.
   */
  truncate(count: number, stats: HistoryStats): void {
    const cut = this.start + count;
    const head = this.head;
    if (cut >= head.base && head.forksReadBelow(cut)) {
      head.dropFrom(cut);
      return;
    }
    this.head = this.segmentAt(count, stats);
    head.owned = false;
    head.collect();
  }

  /** Hides the oldest `count` messages and frees what no fork still reads. */
  dropOldest(count: number): void {
    this.start += count;
    const head = this.head;
    // Forks based on this segment still read the parent chain below its base.
    if (head.parent && this.start >= head.base && head.children.size === 0) {
      const parent = head.parent;
      head.parent = null;
      parent.children.delete(head);
      parent.collect();
    }
    if (head.children.size === 0) head.keep(this.start, head.end);
  }

  /** The owning session is gone. */
  release(): void {
    if (this.head === NO_MESSAGES) return;
    this.head.owned = false;
    this.head.collect();
  }

  /** A new segment based after the first `count` visible messages, over the segment that holds the last of them. */
  private segmentAt(count: number, stats: HistoryStats): Segment {
    const cut = this.start + count;
    let parent: Segment | null = this.head;
    while (parent && cut <= parent.base) parent = parent.parent;
    return new Segment(count === 0 ? null : parent, cut, stats);
  }

  private locate(position: number): KeptMessage {
    let segment = this.head;
    while (position < segment.base) segment = segment.parent!;
    return segment.at(position);
  }
}
