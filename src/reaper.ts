import type { Logger } from "./log.js";
import type { ExpiredSession, SessionStore } from "./store/types.js";

export interface ReaperOptions {
  store: SessionStore;
  intervalMs: number;
  now: () => number;
  log: Logger;
  /** Called once for each session the store removed. */
  onExpired: (session: ExpiredSession) => void;
  /** Sessions removed per store call; the pass yields to the event loop between batches. */
  batchSize?: number;
}

/**
 * Removes sessions idle past their deadline on an unref'd timer (it never keeps the process alive).
 * The store keeps sessions ordered by deadline, so a pass costs in proportion to what it removes.
 */
export class Reaper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly batchSize: number;

  constructor(private readonly options: ReaperOptions) {
    this.batchSize = options.batchSize ?? 1000;
  }

  start(): void {
    this.timer = setInterval(() => void this.pass(), this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass; a pass already under way is joined, not doubled. */
  pass(): Promise<void> {
    this.running ??= this.sweep().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async sweep(): Promise<void> {
    try {
      for (;;) {
        const expired = await this.options.store.expireDue(this.options.now(), this.batchSize);
        for (const session of expired) this.options.onExpired(session);
        if (expired.length < this.batchSize) return;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.options.log.error("reaper pass failed; retrying at the next interval", err);
    }
  }
}
