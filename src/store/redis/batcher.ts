/**
 * Batching operations into calls of the batch script (script.ts): pipelined requests then cost one
 * script call per batch, not one per request, in the client and on Redis's one thread alike. How the
 * arguments travel, and how the script reads them: lua/arguments.lua.
 */
import { Packr } from "msgpackr";
import type { OperationName } from "./script.js";

/** An operation's argument: text and numbers go packed, bytes (long messages) as arguments of their own. */
export type Arg = string | number | Buffer;

/** Sends one batch to a bucket: its packed arguments and its bytes; resolves with one reply per operation. */
export type SendBatch = (bucket: number, packed: Buffer, buffers: Buffer[]) => Promise<unknown[]>;

/**
 * Operations per script call: enough to amortize a call, few enough that Redis runs one batch while
 * the sidecar prepares the next and reads the last one's replies. Big messages close a batch sooner.
 */
const BATCH_LIMIT = 64;
const BATCH_BYTES = 1 << 20;

interface Batch {
  /** Every argument as it goes, but bytes: those are in `buffers`, named here by [their ARGV index]. */
  args: (string | number | [number])[];
  buffers: Buffer[];
  bytes: number;
  operations: number;
  /** Settles with the batch's replies, one per operation: each operation reads its own from it. */
  replies: Promise<unknown[]>;
  settle: (sent: Promise<unknown[]>) => void;
}

function newBatch(): Batch {
  let settle!: (sent: Promise<unknown[]>) => void;
  const replies = new Promise<unknown[]>((resolve) => (settle = resolve));
  return { args: [0], buffers: [], bytes: 0, operations: 0, replies, settle };
}

/** ARGV[1] is the key prefix and ARGV[2] the packed arguments: bytes start at ARGV[3]. */
const FIRST_BUFFER_ARGV = 3;

/**
 * Gathers the operations started in one event-loop turn, per bucket, and sends each bucket's as batch
 * script calls, in the order they were started (so requests pipelined on one connection apply in
 * arrival order). A batch goes out as soon as it is full, so that Redis starts on it while the rest of
 * a long burst is still being read, and the rest at the end of the turn. Each call resolves on its own
 * reply: several batches are in flight together (ioredis's auto-pipelining would instead hold a turn's
 * commands until the previous turn's have all been answered, so that Redis and the sidecar take turns
 * instead of working at once).
 */
export class ScriptBatcher {
  /** Each bucket's batch still open to more operations. */
  private readonly open = new Map<number, Batch>();
  private scheduled = false;

  /** Plain MessagePack: arrays, strings and numbers, none of msgpackr's record extension. */
  private readonly packr = new Packr({ useRecords: false });

  constructor(private readonly send: SendBatch) {}

  /**
   * Queues an operation; resolves with `then` applied to its reply (the reply itself without one).
   * Taking the continuation here costs a pipelined request one promise instead of three.
   */
  run(operation: OperationName, bucket: number, args: Arg[]): Promise<unknown>;
  run<T>(operation: OperationName, bucket: number, args: Arg[], then: (reply: unknown) => T | Promise<T>): Promise<T>;
  run<T>(operation: OperationName, bucket: number, args: Arg[], then?: (reply: unknown) => T | Promise<T>): Promise<unknown> {
    let batch = this.open.get(bucket);
    if (!batch) this.open.set(bucket, (batch = newBatch()));
    const index = batch.operations++;
    batch.args.push(operation, args.length);
    for (const arg of args) {
      if (typeof arg === "string") {
        // msgpackr writes text as Buffer.from does, a lone surrogate as U+FFFD.
        batch.args.push(arg);
        batch.bytes += arg.length;
      } else if (typeof arg === "number") {
        batch.args.push(arg);
      } else {
        batch.args.push([FIRST_BUFFER_ARGV + batch.buffers.length]);
        batch.buffers.push(arg);
        batch.bytes += arg.length;
      }
    }
    if (batch.operations >= BATCH_LIMIT || batch.bytes >= BATCH_BYTES) {
      this.open.delete(bucket);
      this.dispatch(bucket, batch);
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return batch.replies.then(then ? (replies) => then(replies[index]) : (replies) => replies[index]);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    for (const [bucket, batch] of this.open) this.dispatch(bucket, batch);
    this.open.clear();
  };

  private dispatch(bucket: number, { args, buffers, operations, settle }: Batch): void {
    args[0] = operations;
    try {
      settle(this.send(bucket, this.packr.pack(args), buffers));
    } catch (err) {
      // Whatever failed, every operation of the batch hears of it rather than waiting forever.
      settle(Promise.reject(err));
    }
  }
}
