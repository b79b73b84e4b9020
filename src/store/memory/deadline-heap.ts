/** A min-heap of items by deadline that knows each item's place, so a deadline can move in O(log n). */
export class DeadlineHeap<T extends { heapIndex: number }> {
  private readonly items: T[] = [];

  constructor(private readonly deadline: (item: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** Adds the item, or moves it after its deadline changed. */
  set(item: T): void {
    if (item.heapIndex < 0) {
      item.heapIndex = this.items.length;
      this.items.push(item);
    }
    this.up(this.down(item.heapIndex));
  }

  delete(item: T): void {
    const index = item.heapIndex;
    if (index < 0) return;
    const last = this.items.pop()!;
    item.heapIndex = -1;
    if (last === item) return;
    this.items[index] = last;
    last.heapIndex = index;
    this.up(this.down(index));
  }

  private up(index: number): number {
    const item = this.items[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.deadline(this.items[parent]!) <= this.deadline(item)) break;
      this.place(this.items[parent]!, index);
      index = parent;
    }
    this.place(item, index);
    return index;
  }

  private down(index: number): number {
    const item = this.items[index]!;
    const n = this.items.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= n) break;
      if (child + 1 < n && this.deadline(this.items[child + 1]!) < this.deadline(this.items[child]!)) child++;
      if (this.deadline(this.items[child]!) >= this.deadline(item)) break;
      this.place(this.items[child]!, index);
      index = child;
    }
    this.place(item, index);
    return index;
  }

  private place(item: T, index: number): void {
    this.items[index] = item;
    item.heapIndex = index;
  }
}
