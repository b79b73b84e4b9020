import { describe, expect, it } from "vitest";
import { Queue } from "../../src/rpc/queue.js";

describe("Queue", () => {
  it("is first in, first out across its compactions, and iterates what is left in order", () => {
    const queue = new Queue<number>();
    expect(queue.shift()).toBeUndefined();
    expect(queue.peek()).toBeUndefined();
    for (let i = 0; i < 5000; i++) queue.push(i);
    const out: number[] = [];
    for (let i = 0; i < 3000; i++) out.push(queue.shift()!);
    for (let i = 5000; i < 6000; i++) queue.push(i);
    expect(queue.length).toBe(3000);
    expect(queue.peek()).toBe(3000);
    expect([...queue]).toEqual(Array.from({ length: 3000 }, (_, i) => 3000 + i));
    while (queue.length > 0) out.push(queue.shift()!);
    expect(out).toEqual(Array.from({ length: 6000 }, (_, i) => i));
    queue.push(7);
    expect([queue.shift(), queue.shift()]).toEqual([7, undefined]);
  });
});
