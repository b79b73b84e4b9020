/** What the index needs of a session. */
export interface Indexed {
  readonly seq: number;
  removed: boolean;
  archived: boolean;
}

export type ArchivedFilter = "exclude" | "include" | "only";

const BLOCK_BITS = 8;

/**
 * Sessions in creation order (ascending `seq`), for listing and the lifetime cap. Removed sessions
 * linger, flagged, until they are half the array, then it is compacted. Per block of 256 slots it
 * counts the live active and archived sessions, so a listing skips whole blocks that hold nothing
 * it wants: with 100,000 archived sessions, listing the active ones does not walk past each.
 */
export class CreationIndex<T extends Indexed> {
  private items: T[] = [];
  private active: number[] = [];
  private archived: number[] = [];
  private removedCount = 0;
  private front = 0;

  get slots(): number {
    return this.items.length;
  }

  add(item: T): void {
    this.items.push(item);
    this.count(this.items.length - 1, item.archived, 1);
  }

  /** Call before flipping `item.archived`. */
  archiveChanging(item: T, archived: boolean): void {
    if (item.archived === archived) return;
    const index = this.indexOf(item);
    this.count(index, item.archived, -1);
    this.count(index, archived, 1);
  }

  remove(item: T): void {
    this.count(this.indexOf(item), item.archived, -1);
    item.removed = true;
    this.removedCount++;
    if (this.removedCount * 2 > this.items.length) this.compact();
  }

  /** Up to `limit` live items below `seq`, newest first, and whether another one follows. */
  page(belowSeq: number, limit: number, filter: ArchivedFilter, accept: (item: T) => boolean): { items: T[]; more: boolean } {
    const items: T[] = [];
    for (let i = this.indexBelow(belowSeq); i >= 0; i--) {
      const block = i >> BLOCK_BITS;
      if (this.wanted(block, filter) === 0) {
        i = block << BLOCK_BITS; // the loop's i-- moves to the previous block's last slot
        continue;
      }
      const item = this.items[i]!;
      if (item.removed || !matchesFilter(item, filter) || !accept(item)) continue;
      if (items.length === limit) return { items, more: true };
      items.push(item);
    }
    return { items, more: false };
  }

  /** The oldest live item. Slots before it hold only removed items, so each is skipped once. */
  oldest(): T | undefined {
    while (this.front < this.items.length && this.items[this.front]!.removed) this.front++;
    return this.items[this.front];
  }

  private wanted(block: number, filter: ArchivedFilter): number {
    if (filter === "exclude") return this.active[block]!;
    if (filter === "only") return this.archived[block]!;
    return this.active[block]! + this.archived[block]!;
  }

  private count(index: number, archived: boolean, delta: number): void {
    const counts = archived ? this.archived : this.active;
    const block = index >> BLOCK_BITS;
    while (counts.length <= block) {
      this.active.push(0);
      this.archived.push(0);
    }
    counts[block]! += delta;
  }

  private compact(): void {
    const live = this.items.filter((item) => !item.removed);
    this.items = [];
    this.active = [];
    this.archived = [];
    this.removedCount = 0;
    this.front = 0;
    for (const item of live) this.add(item);
  }

  private indexOf(item: T): number {
    return this.indexBelow(item.seq + 1);
  }

  /** Index of the last item whose seq is below `seq`. */
  private indexBelow(seq: number): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}

function matchesFilter(item: Indexed, filter: ArchivedFilter): boolean {
  return filter === "include" || item.archived === (filter === "only");
}
