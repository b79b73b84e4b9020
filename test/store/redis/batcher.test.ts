import { unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { ScriptBatcher } from "../../../src/store/redis/batcher.js";

interface Sent {
  bucket: number;
  /** Each operation as the packed array carries it: name, then arguments. */
  operations: unknown[][];
  /** Each operation's first argument, in the order the batch carries them. */
  firsts: unknown[];
  buffers: Buffer[];
}

/** A batcher whose script calls are recorded and answered with each operation's first argument. */
function recording(fail?: (bucket: number) => boolean) {
  const sent: Sent[] = [];
  const batcher = new ScriptBatcher((bucket, packed, buffers) => {
    if (fail?.(bucket)) throw new Error(`cannot send to bucket ${bucket}`);
    const args = unpack(packed) as unknown[];
    const operations: unknown[][] = [];
    for (let i = 1, op = 0; op < (args[0] as number); op++) {
      const size = args[i + 1] as number;
      operations.push([args[i], ...args.slice(i + 2, i + 2 + size)]);
      i += 2 + size;
    }
    const firsts = operations.map((operation) => operation[1]);
    sent.push({ bucket, operations, firsts, buffers });
    return Promise.resolve(firsts);
  });
  return { sent, batcher };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("ScriptBatcher", () => {
  it("sends a full batch at once and the rest at the end of the turn, each bucket's in the order started", async () => {
    const { sent, batcher } = recording();
    const replies: Promise<unknown>[] = [];
    for (let i = 0; i < 150; i++) {
      replies.push(batcher.run("has", 1, [`one-${i}`]));
      if (i % 15 === 0) replies.push(batcher.run("has", 2, [`two-${i}`]));
    }
    // Two batches of bucket 1 filled while the turn ran; nothing else has gone yet.
    expect(sent.map((s) => [s.bucket, s.firsts.length])).toEqual([
      [1, 64],
      [1, 64],
    ]);
    await turn();
    // Buckets are independent: only each one's own order matters.
    expect(sent.slice(2).map((s) => [s.bucket, s.firsts.length])).toEqual(
      expect.arrayContaining([
        [1, 22],
        [2, 10],
      ]),
    );
    expect(sent).toHaveLength(4);
    const ones = sent.filter((s) => s.bucket === 1).flatMap((s) => s.firsts);
    expect(ones).toEqual(Array.from({ length: 150 }, (_, i) => `one-${i}`));
    // Every operation reads its own reply.
    const expected: string[] = [];
    for (let i = 0; i < 150; i++) {
      expected.push(`one-${i}`);
      if (i % 15 === 0) expected.push(`two-${i}`);
    }
    expect(await Promise.all(replies)).toEqual(expected);
  });

  it("closes a batch once its bytes reach a mebibyte, and sends bytes beside the packed arguments", async () => {
    const { sent, batcher } = recording();
    const big = Buffer.alloc(1 << 20, 120);
    const replies = [batcher.run("has", 3, ["small"]), batcher.run("read", 3, ["large", big]), batcher.run("has", 3, ["after"])];
    expect(sent.map((s) => s.firsts)).toEqual([["small", "large"]]);
    // The bytes go as ARGV[3], named in the packed arguments by a one-element array of that index.
    expect(sent[0]!.operations).toEqual([
      ["has", "small"],
      ["read", "large", [3]],
    ]);
    // Buffer.equals, not toEqual: a deep comparison of a mebibyte byte by byte takes seconds.
    expect(sent[0]!.buffers).toHaveLength(1);
    expect(sent[0]!.buffers[0]!.equals(big)).toBe(true);
    await turn();
    expect(sent.map((s) => s.firsts)).toEqual([["small", "large"], ["after"]]);
    expect(await Promise.all(replies)).toEqual(["small", "large", "after"]);
  });

  it("fails every operation of a batch that cannot be sent, and only those", async () => {
    const { batcher } = recording((bucket) => bucket === 5);
    const doomed = [batcher.run("has", 5, ["a"]), batcher.run("has", 5, ["b"])];
    const fine = batcher.run("has", 6, ["c"]);
    const settled = await Promise.allSettled([...doomed, fine]);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected", "fulfilled"]);
    expect((settled[0] as PromiseRejectedResult).reason.message).toBe("cannot send to bucket 5");
  });
});
