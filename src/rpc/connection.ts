import type { FrameSink } from "../transport/frames.js";
import type { FrameWriter, Piece } from "../transport/frame-writer.js";
import type { Logger } from "../log.js";
import type { MaybePromise } from "../store/types.js";
import { AnswerBudget, answerBytes } from "./answer-budget.js";
import { encodeError, encodeNotification, encodeResult } from "./encode.js";
import { ErrorCode, RequestError, invalidParams, isZodError, requestError } from "./errors.js";
import { classify, parseFrame, type Incoming, type RequestId } from "./messages.js";
import { Queue } from "./queue.js";

export interface RequestContext {
  /**
   * Sends a notification. From an exclusive handler it leaves ahead of this request's response and
   * after every earlier one; from any other it may pass earlier answers still in progress.
   */
  notify(method: string, params: unknown): void;
  /** Resolves once the output is no longer backed up (backpressure for long replies). */
  drained(): Promise<void>;
}

export interface MethodEntry {
  handle(params: unknown, ctx: RequestContext): MaybePromise<unknown>;
  /** Runs alone: after every earlier request is answered, before any later one starts (e.g. a replay). */
  exclusive?: boolean;
}

export type MethodTable = ReadonlyMap<string, MethodEntry>;

/**
 * A handler's result with work to run once its answer has been written: notifications that must come
 * after it (a subscription's first changes). In a batch, the work runs once the whole array is out.
 */
export class AnswerThen {
  constructor(
    readonly result: unknown,
    // Not `then`: a promise resolved with a thenable would call it.
    readonly after: () => void,
  ) {}
}

export interface ConnectionOptions {
  writer: FrameWriter;
  methods: MethodTable;
  log: Logger;
  /** Maps a thrown domain error to its wire error; undefined means "unexpected" (-32603). */
  mapError?: (err: unknown) => RequestError | undefined;
  /** Told true when input should stop being read (output backed up, or too much in flight), false to resume. */
  onPause?: (paused: boolean) => void;
  /**
   * Requests read but not yet answered before input stops being read, and started but not yet
   * answered before the next waits (default DEFAULT_MAX_IN_FLIGHT).
   */
  maxInFlight?: number;
  /** Bytes of answers started and not yet written before the next request waits (default DEFAULT_ANSWER_BUDGET). */
  answerBudget?: number;
  /** Told when the output has drained, before any waiting request starts (held notifications go first). */
  onDrained?: () => void;
}

/**
 * Deep enough that a remote store always has several batches of the pipelined requests on the wire,
 * shallow enough that the requests waiting on it are few: each one's state lives until it is
 * answered, and 1,024 of them lived long enough to be promoted out of the young generation and swept
 * again (Redis session/get spent a fifth of the sidecar's time in GC). In paired runs here, Redis reads
 * were faster at 384–512 than at 1,024, Redis appends no slower, SQLite unchanged.
 */
const DEFAULT_MAX_IN_FLIGHT = 512;

/** Thousands of small answers, or a few large ones: what a connection holds besides its output buffer. */
const DEFAULT_ANSWER_BUDGET = 16 * 1024 * 1024;

const CANCEL_METHODS = new Set(["$/cancel_request", "$/cancelRequest"]);

/** A job's answer: the pieces of its response, or nothing (a notification's). */
type Output = Piece[] | undefined;

/** What a job's run returns when its handler answers later: the answer then goes to finish(). */
const LATER = Symbol("later");

const NO_IDS: readonly RequestId[] = [];
const ARRAY_OPEN = ["["];
const ARRAY_SEPARATOR = [","];
const ARRAY_CLOSE = ["]"];

/** A batch whose items run as requests of their own; their answers leave as one array. */
interface Batch {
  /** Items not yet answered and handed to the batch (held items count as handed). */
  unwritten: number;
  /**
   * Exclusive items not yet answered. Their notifications (a replay) must come before the array, so
   * until the last has answered, the answers before it wait here instead of opening the array.
   */
  exclusives: number;
  held: Piece[][];
  opened: boolean;
  /** Its items' AnswerThen work, run once the array is written. */
  after: (() => void)[];
}

interface Job {
  readonly exclusive: boolean;
  /** Request ids this job answers, for cancellation while it waits. */
  readonly ids: readonly RequestId[];
  /** The method whose answers its own is expected to be like; undefined when it can only answer an error. */
  readonly method: string | undefined;
  readonly batch: Batch | undefined;
  cancelled: boolean;
  /** Started once; dropped then, so that a job waiting on a remote store no longer holds its request. */
  run: ((self: Job) => Output | typeof LATER) | undefined;
  done: boolean;
  output: Output;
  /** Bytes charged to the answer budget from its start until its answer is written. */
  charge: number;
  /** AnswerThen's work, run once its answer is written. */
  after: (() => void) | undefined;
}

/**
 * Frames in, responses out, in arrival order. Each request runs to completion before the next starts
 * when its handler is synchronous; asynchronous handlers (remote stores) are started in order and may
 * overlap, but their responses still leave in order. An `exclusive` handler waits for every earlier
 * one and holds back every later one. The items of a batch run the same way, as requests of their own.
 *
 * Memory is bounded by bytes, not by what one input chunk or batch holds: while the output is backed
 * up, no request starts (and input stops being read), and the answers started but not yet written
 * stay within an AnswerBudget. Two cases still hold answers whole: an LSP-framed batch (its frame
 * starts with the length of the whole array) and the answers a batch holds back until its replay ends.
 */
export class RpcConnection implements FrameSink {
  private readonly waiting = new Queue<Job>();
  private readonly running: Job[] = [];
  private exclusiveRunning = false;
  private paused = false;
  private drainWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private flushScheduled = false;
  private readonly maxInFlight: number;
  private readonly budget: AnswerBudget;
  private readonly context: RequestContext = {
    notify: (method, params) => this.options.writer.message(encodeNotification(method, params)),
    drained: () => {
      this.flush();
      if (!this.options.writer.blocked) return Promise.resolve();
      return new Promise((resolve) => this.drainWaiters.push(resolve));
    },
  };

  constructor(private readonly options: ConnectionOptions) {
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    this.budget = new AnswerBudget(options.answerBudget ?? DEFAULT_ANSWER_BUDGET);
  }

  // FrameSink: called by the frame reader.
  frame(body: Buffer): void {
    const parsed = parseFrame(body);
    if (parsed instanceof RequestError) return this.enqueue(errorJob(null, parsed));
    if (Array.isArray(parsed)) return this.enqueueBatch(parsed);
    const message = classify(parsed);
    if (message.kind === "notification" && CANCEL_METHODS.has(message.method)) return this.cancel(message.params);
    if (message.kind === "request" && this.waiting.length === 0 && this.running.length === 0 && !this.options.writer.blocked) {
      const entry = this.options.methods.get(message.method);
      if (entry && !entry.exclusive) return this.runAlone(message, entry);
    }
    this.enqueue(this.messageJob(message));
  }

  /**
   * A request that finds nothing waiting or running and the output free starts at once, as pump()
   * would start it, without a queued job and its closure: the common case of a pipelined burst.
   */
  private runAlone(message: Extract<Incoming, { kind: "request" }>, entry: MethodEntry): void {
    const alone = job(NO_IDS, false, message.method, undefined, undefined);
    this.running.push(alone);
    alone.charge = this.budget.expect(message.method);
    this.budget.charge(alone.charge);
    const output = this.call(alone, entry, message.params, message.id);
    if (output !== LATER) {
      this.complete(alone, output);
      this.writeFinished();
    }
    this.updatePause();
  }

  oversize(bytes: number): void {
    this.enqueue(
      errorJob(null, requestError(ErrorCode.InvalidRequest, `Invalid request: message of ${bytes} bytes exceeds the limit`, { bytes })),
    );
  }

  /** Sends a notification that belongs to no request (e.g. an expiry). */
  notify(method: string, params: unknown): void {
    this.send(encodeNotification(method, params));
  }

  /** Sends an encoded notification that belongs to no request. */
  send(pieces: readonly Piece[]): void {
    this.options.writer.message(pieces);
    this.scheduleFlush();
  }

  /** Writes whatever is buffered: the transport calls it once per input chunk. */
  flush(): void {
    this.flushScheduled = false;
    this.options.writer.flush();
    this.updatePause();
  }

  /** The output stream emitted 'drain': the requests that waited for it start. */
  outputDrained(): void {
    this.options.writer.drained();
    this.options.onDrained?.();
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
    this.pump();
    this.scheduleFlush();
  }

  /** Resolves when every request received so far has been answered and written. */
  idle(): Promise<void> {
    if (this.waiting.length === 0 && this.running.length === 0) {
      this.flush();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(job: Job): void {
    this.waiting.push(job);
    this.pump();
  }

  private enqueueBatch(items: unknown[]): void {
    if (items.length === 0) return this.enqueue(errorJob(null, requestError(ErrorCode.InvalidRequest, "Invalid request: empty batch")));
    const batch: Batch = { unwritten: items.length, exclusives: 0, held: [], opened: false, after: [] };
    for (const item of items) {
      const job = this.messageJob(classify(item), batch);
      if (job.exclusive) batch.exclusives++;
      this.waiting.push(job);
    }
    this.pump();
  }

  private pump(): void {
    // Answered jobs leave `running` first: an exclusive job waits only for unfinished ones.
    for (this.writeFinished(); this.waiting.length > 0 && !this.exclusiveRunning; this.writeFinished()) {
      const job = this.waiting.peek()!;
      if (job.exclusive && this.running.length > 0) break;
      // A batch's items would otherwise all start at once: thousands of commands queued on a remote store.
      if (this.running.length >= this.maxInFlight) break;
      // While the output is backed up every request waits, a small one too: answers leave in order.
      if (this.options.writer.blocked) break;
      const charge = job.method === undefined || job.cancelled ? 0 : this.budget.expect(job.method);
      if (!this.budget.fits(charge)) break;
      this.waiting.shift();
      this.start(job, charge);
    }
    this.updatePause();
  }

  private start(job: Job, charge: number): void {
    this.running.push(job);
    job.charge = charge;
    this.budget.charge(charge);
    if (job.cancelled) return this.complete(job, encodeError(job.ids[0] ?? null, ErrorCode.RequestCancelled, "Request cancelled"));
    let output: Output | typeof LATER;
    try {
      const run = job.run!;
      job.run = undefined;
      output = run(job);
    } catch (err) {
      // run() answers its own handler's failures; reaching here is a bug in the connection itself.
      this.options.log.error("request failed outside its handler", err);
      output = encodeError(job.ids[0] ?? null, ErrorCode.InternalError, "Internal error");
    }
    if (output !== LATER) return this.complete(job, output);
    if (job.exclusive) this.exclusiveRunning = true;
  }

  /** A job's answer has come later. */
  private finish(job: Job, output: Output): void {
    this.complete(job, output);
    if (job.exclusive) this.exclusiveRunning = false;
    this.pump();
    this.scheduleFlush();
  }

  /** From now until it is written, the job is charged what its answer takes. */
  private complete(job: Job, output: Output): void {
    job.output = output;
    job.done = true;
    const bytes = output ? answerBytes(output) : 0;
    if (output && job.method !== undefined) this.budget.learn(job.method, bytes);
    this.budget.charge(bytes - job.charge);
    job.charge = bytes;
  }

  private writeFinished(): void {
    while (this.running.length > 0 && this.running[0]!.done) {
      const job = this.running.shift()!;
      this.budget.release(job.charge);
      if (job.batch) {
        this.writeItem(job.batch, job);
      } else {
        if (job.output) this.options.writer.message(job.output);
        if (job.after) this.runAfter(job.after);
      }
    }
    if (this.waiting.length === 0 && this.running.length === 0 && this.idleWaiters.length > 0) {
      this.flush();
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** An item's answer joins its batch's array, which is written as its answers come and closed after the last. */
  private writeItem(batch: Batch, item: Job): void {
    batch.unwritten--;
    if (item.exclusive) batch.exclusives--;
    if (item.output) batch.held.push(item.output);
    if (item.after) batch.after.push(item.after);
    if (batch.exclusives > 0) return;
    const writer = this.options.writer;
    for (const output of batch.held) {
      if (batch.opened) {
        writer.appendToMessage(ARRAY_SEPARATOR);
      } else {
        writer.beginMessage();
        writer.appendToMessage(ARRAY_OPEN);
        batch.opened = true;
      }
      writer.appendToMessage(output);
    }
    batch.held.length = 0;
    if (batch.unwritten === 0 && batch.opened) {
      writer.appendToMessage(ARRAY_CLOSE);
      writer.endMessage();
    }
    if (batch.unwritten === 0) for (const after of batch.after.splice(0)) this.runAfter(after);
  }

  private runAfter(after: () => void): void {
    try {
      after();
    } catch (err) {
      this.options.log.error("the work after an answer failed", err);
    }
  }

  private updatePause(): void {
    const paused = this.options.writer.blocked || this.running.length + this.waiting.length >= this.maxInFlight;
    if (paused !== this.paused) {
      this.paused = paused;
      this.options.onPause?.(paused);
    }
  }

  private cancel(params: unknown): void {
    if (typeof params !== "object" || params === null) return;
    const p = params as Record<string, unknown>;
    const id = (Object.hasOwn(p, "requestId") ? p.requestId : p.id) as RequestId | undefined;
    if (id === undefined) return;
    for (const job of this.waiting) if (job.ids.length === 1 && job.ids[0] === id) job.cancelled = true;
  }

  /** A job for one message, standing alone or an item of `batch` (items are not cancelled one by one). */
  private messageJob(message: Incoming, batch?: Batch): Job {
    switch (message.kind) {
      case "invalid":
        return errorJob(message.id, message.error, batch);
      case "response":
        return job(NO_IDS, false, undefined, batch, () => undefined);
      case "notification": {
        const entry = this.options.methods.get(message.method);
        // No method for the budget: a notification has no answer to learn its size from.
        return job(NO_IDS, entry?.exclusive ?? false, undefined, batch, (self) => {
          if (!entry) return undefined;
          return this.call(self, entry, message.params, undefined);
        });
      }
      case "request": {
        const entry = this.options.methods.get(message.method);
        const ids = batch ? NO_IDS : [message.id];
        return job(ids, entry?.exclusive ?? false, entry ? message.method : undefined, batch, (self) => {
          if (!entry)
            return encodeError(message.id, ErrorCode.MethodNotFound, `Method not found: ${message.method}`, { method: message.method });
          return this.call(self, entry, message.params, message.id);
        });
      }
    }
  }

  /**
   * Runs a handler: its answer now, or LATER when it returns a promise (the answer then goes to
   * finish()). Its reactions finish the job themselves, so that a request waiting on a remote store
   * holds one promise and two closures here.
   */
  private call(job: Job, entry: MethodEntry, params: unknown, id: RequestId | undefined): Output | typeof LATER {
    let result: MaybePromise<unknown>;
    try {
      result = entry.handle(params ?? {}, this.context);
    } catch (err) {
      return this.answer(id, err, true);
    }
    if (!(result instanceof Promise)) return this.answer(id, this.unwrap(job, result), false);
    result.then(
      (value) => this.finish(job, this.answer(id, this.unwrap(job, value), false)),
      (err: unknown) => this.finish(job, this.answer(id, err, true)),
    );
    return LATER;
  }

  /** A handler's result; AnswerThen's work is kept on the job for when its answer is written. */
  private unwrap(job: Job, result: unknown): unknown {
    if (!(result instanceof AnswerThen)) return result;
    job.after = result.after;
    return result.result;
  }

  /**
   * A handler's outcome as its answer (none for a notification): a thrown or rejected error as a
   * RequestError, never an exception. An answer that cannot be encoded (a bug) is an internal error,
   * for this request alone: thrown, it would take the rest of its batch down with it, or leave a late
   * answer unsent.
   */
  private answer(id: RequestId | undefined, outcome: unknown, failed: boolean): Output {
    try {
      const result = failed ? this.toRequestError(outcome) : outcome;
      if (id === undefined) return undefined;
      if (result instanceof RequestError) return encodeError(id, result.code, result.message, result.data);
      return encodeResult(id, result);
    } catch (err) {
      this.options.log.error("a request's answer could not be made", err);
      return id === undefined ? undefined : encodeError(id, ErrorCode.InternalError, "Internal error");
    }
  }

  private toRequestError(err: unknown): RequestError {
    if (err instanceof RequestError) return err;
    if (isZodError(err)) return invalidParams(err);
    const mapped = this.options.mapError?.(err);
    if (mapped) return mapped;
    this.options.log.error("unexpected fault while handling a request", err);
    return requestError(ErrorCode.InternalError, "Internal error");
  }
}

function job(
  ids: readonly RequestId[],
  exclusive: boolean,
  method: string | undefined,
  batch: Batch | undefined,
  run: ((self: Job) => Output | typeof LATER) | undefined,
): Job {
  return { ids, exclusive, method, batch, run, cancelled: false, done: false, output: undefined, charge: 0, after: undefined };
}

function errorJob(id: RequestId, error: RequestError, batch?: Batch): Job {
  return job(NO_IDS, false, undefined, batch, () => encodeError(id, error.code, error.message, error.data));
}
