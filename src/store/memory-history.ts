import type { StoredMessage } from "./types.js";

/**
 * An append-only run of messages. A fork (a later issue) starts a new segment whose `parent` is read up
 * to `base`, so history is shared, never copied; each session appends only to its own segment.
 */
class Segment {
  readonly messages: StoredMessage[] = [];
  /** messageId → index in `messages`. */
  readonly positions = new Map<string, number>();

  constructor(
    readonly parent: Segment | null,
    /** How many messages come before this segment's first: all read from `parent`. */
    readonly base: number,
  ) {}

  get end(): number {
    return this.base + this.messages.length;
  }
}

/** A session's ordered messages. */
export class History {
  private readonly head: Segment;

  constructor() {
    this.head = new Segment(null, 0);
  }

  get length(): number {
    return this.head.end;
  }

  append(messages: readonly StoredMessage[]): void {
    for (const message of messages) {
      this.head.positions.set(message.messageId, this.head.messages.length);
      this.head.messages.push(message);
    }
  }

  /** The position of a message in this history, or -1. */
  indexOf(messageId: string): number {
    let limit = this.head.end;
    for (let segment: Segment | null = this.head; segment; segment = segment.parent) {
      const index = segment.positions.get(messageId);
      if (index !== undefined && segment.base + index < limit) return segment.base + index;
      limit = segment.base;
    }
    return -1;
  }

  /** Messages [from, from + count), in order: walks from the head back only as far as the window reaches. */
  slice(from: number, count: number): Buffer[] {
    const to = Math.min(this.length, from + count);
    if (from >= to) return [];
    const out: Buffer[] = new Array(to - from);
    let end = to;
    for (let segment: Segment | null = this.head; segment && end > from; segment = segment.parent) {
      const start = Math.max(from, segment.base);
      for (let i = start; i < end; i++) out[i - from] = segment.messages[i - segment.base]!.json;
      end = start;
    }
    return out;
  }
}
