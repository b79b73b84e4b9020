import { ownedCopies } from "../owned-bytes.js";
import type { StoredMessage } from "../types.js";
import type { ReadCache } from "./cache.js";
import { head, type Segment, type SessionRow } from "./rows.js";
import type { Statements } from "./statements.js";

/**
 * Sessions' messages, kept in segments: a session sees the absolute positions [first_position,
 * first_position + message_count) of its segment's chain, each segment holding the positions from its
 * base on and reading the ones below from its parent. A fork starts a segment over its parent's, so
 * forks share history rather than copy it, and a walk goes back only as far as the positions it needs.
 */
export class History {
  constructor(
    private readonly sql: Statements,
    private readonly cache: ReadCache<SessionRow>,
  ) {}

  segment(id: number): Segment {
    return this.sql.segmentById.get(id) as Segment;
  }

  /** Appends `messages` after the session's last one; the row's count changes once they are stored. */
  append(row: SessionRow, messages: StoredMessage[]): void {
    let position = row.first_position + row.message_count;
    for (const m of messages) this.sql.insertMessage.run(row.segment, position++, m.messageId, m.role, Buffer.from(m.json));
    row.message_count += messages.length;
  }

  /** The segment a fork of `parent` that sees its first `count` messages is based on; none for an empty fork. */
  forkBase(parent: SessionRow, count: number): Segment | undefined {
    const cut = parent.first_position + count;
    let base: Segment | undefined;
    if (count > 0) for (base = head(parent); cut <= base.base;) base = this.segment(base.parent!);
    return base;
  }

  /** Frees what no session can read any more, from `id` up its parents. */
  collect(id: number | null): void {
    while (id !== null) {
      const segment = this.sql.segmentById.get(id) as (Segment & { owned: number }) | undefined;
      if (!segment || segment.owned) return;
      const needed = this.sql.highestChildBase.get(id) as number | null;
      this.cache.dropSegment(id);
      if (needed !== null) {
        this.sql.deleteMessagesFrom.run(id, needed, id);
        return;
      }
      this.sql.deleteSegmentMessages.run(id, id);
      this.sql.deleteSegment.run(id);
      id = segment.parent;
    }
  }

  /** The index of a visible message, or -1: the newest copy in the chain, as a retry would see it. */
  indexOf(row: SessionRow, messageId: string): number {
    const start = row.first_position;
    let limit = start + row.message_count;
    for (let segment: Segment | null = head(row); segment && limit > start;) {
      const position = this.sql.positionOf.get(segment.id, messageId, segment.id, limit) as number | null;
      if (position !== null) return position >= start ? position - start : -1;
      limit = segment.base;
      segment = segment.parent === null ? null : this.segment(segment.parent);
    }
    return -1;
  }

  /**
   * Visible messages [from, from + count) as stored JSON: walks back only as far as the window reaches.
   * Reads may `cache` what they read; a replay streaming a long history does not.
   */
  slice(row: SessionRow, from: number, count: number, cache: boolean): Buffer[] {
    const first = row.first_position + from;
    const end = row.first_position + row.message_count;
    const last = count >= end - first ? end : first + count;
    if (first >= last) return [];
    const runs: Buffer[][] = [];
    let upto = last;
    for (let segment: Segment | null = head(row); segment && upto > first;) {
      const begin = Math.min(upto, Math.max(first, segment.base));
      if (begin < upto) runs.push(this.messages(segment.id, begin, upto, cache));
      upto = begin;
      segment = segment.parent === null ? null : this.segment(segment.parent);
    }
    return runs.length === 1 ? runs[0]! : runs.reverse().flat();
  }

  lastMessageId(row: SessionRow): string | null {
    if (row.message_count === 0) return null;
    const position = row.first_position + row.message_count - 1;
    return this.sql.messageIdAt.get(this.locate(row, position).id, position) as string;
  }

  /** The index of the first user message at or after `index` in the stored history, or -1. */
  firstUserFrom(row: SessionRow, index: number): number {
    const end = row.first_position + row.message_count;
    const from = row.first_position + index;
    const chain: Segment[] = [head(row)];
    while (from < chain[chain.length - 1]!.base) chain.push(this.segment(chain[chain.length - 1]!.parent!));
    for (let i = chain.length - 1; i >= 0; i--) {
      const upto = i === 0 ? end : chain[i - 1]!.base;
      const position = this.sql.firstUser.get(chain[i]!.id, Math.max(from, chain[i]!.base), chain[i]!.id, upto) as number | undefined;
      if (position !== undefined) return position - row.first_position;
    }
    return -1;
  }

  /**
   * Hides the oldest `count` messages and frees what no fork still reads. While forks are based on
   * this segment they may read through it into its parents, so nothing is let go of then.
   */
  dropOldest(row: SessionRow, count: number): void {
    row.first_position += count;
    row.message_count -= count;
    if (this.sql.highestChildBase.get(row.segment) !== null) return;
    if (row.segment_parent !== null && row.first_position >= row.segment_base) {
      const parent = row.segment_parent;
      row.segment_parent = null;
      this.sql.detachSegment.run(row.segment);
      this.collect(parent);
    }
    this.cache.dropSegment(row.segment);
    this.sql.deleteMessagesBelow.run(row.segment, row.segment, row.first_position);
  }

  /**
   * Keeps the first `count` visible messages and frees the rest. The head's own tail is deleted in
   * place when no fork reads it; otherwise the session moves to a new head segment at the cut, as if it
   * forked itself there, and its old head is collected like a removed session's, kept as far as forks
   * read it. Sets the row's count, for the caller to store, and stores its new segment.
   */
  truncate(row: SessionRow, count: number): void {
    const cut = row.first_position + count;
    const forksRead = this.sql.highestChildBase.get(row.segment) as number | null;
    row.message_count = count;
    if (cut >= row.segment_base && (forksRead === null || forksRead <= cut)) {
      // A later append reuses these positions: the cache must not keep their old bytes.
      this.cache.dropSegment(row.segment);
      this.sql.deleteMessagesFrom.run(row.segment, cut, row.segment);
      return;
    }
    const old = row.segment;
    const parent = this.forkBase(row, count)?.id ?? null;
    row.segment = Number(this.sql.insertSegment.run(parent, cut).lastInsertRowid);
    row.segment_parent = parent;
    row.segment_base = cut;
    this.sql.moveToSegment.run(row.segment, row.seq);
    this.sql.disown.run(old);
    this.collect(old);
  }

  /**
   * Messages [from, to) of a segment. Read as text and copied into pooled buffers, cheaper than a
   * buffer of its own per message (answers are written and dropped, so no slab outlives its request);
   * or, for a read that may `cache`, taken from the cache as far as it reaches and the rest read into
   * one block that the cache keeps (a get after an append reads only the new message).
   */
  private messages(segment: number, from: number, to: number, cache: boolean): Buffer[] {
    if (cache) {
      const kept = this.cache.leading(segment, from, to);
      if (kept.length === to - from) return kept;
      const start = from + kept.length;
      const read = ownedCopies(this.sql.messageRange.all(segment, start, segment, to) as string[]);
      this.cache.storeMessages(segment, start, read);
      return kept.length === 0 ? read : kept.concat(read);
    }
    const texts = this.sql.messageRange.all(segment, from, segment, to) as string[];
    const out = new Array<Buffer>(texts.length);
    for (let i = 0; i < texts.length; i++) out[i] = Buffer.from(texts[i]!);
    return out;
  }

  /** The segment of this session's chain that holds an absolute position. */
  private locate(row: SessionRow, position: number): Segment {
    let segment = head(row);
    while (position < segment.base) segment = this.segment(segment.parent!);
    return segment;
  }
}
