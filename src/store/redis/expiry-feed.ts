import type { Logger } from "../../log.js";
import { oneLine } from "../errors.js";
import type { ServerClock } from "./clock.js";
import type { Client } from "./connection.js";
import type { KeyLayout } from "./keys.js";
import type { ExpiredSession } from "../types.js";

const POLL_MS = 250;
const POLL_BATCH = 500;

/**
 * Reads every bucket's expiry stream from where it stood when this sidecar started (so old expiries
 * are not announced to a new client), and hands each event to the listeners once. It polls, with one
 * non-blocking XREAD per bucket every POLL_MS over the shared connection: a blocking
 * XREAD would hold a connection per node, and Pub/Sub or keyspace events are lost while disconnected.
 */
export class ExpiryFeed {
  private readonly listeners: ((expired: ExpiredSession) => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failing = false;

  private constructor(
    private readonly client: Client,
    private readonly keys: KeyLayout,
    private readonly clock: ServerClock,
    private readonly log: Logger,
    private readonly lastIds: string[],
  ) {}

  static async open(client: Client, keys: KeyLayout, clock: ServerClock, log: Logger): Promise<ExpiryFeed> {
    const lastIds = await Promise.all(
      Array.from({ length: keys.buckets }, async (_, b) => {
        const newest = await client.xrevrange(keys.index(b, "events"), "+", "-", "COUNT", 1);
        return newest[0]?.[0] ?? "0-0";
      }),
    );
    return new ExpiryFeed(client, keys, clock, log, lastIds);
  }

  subscribe(listener: (expired: ExpiredSession) => void): void {
    this.listeners.push(listener);
    this.schedule(POLL_MS);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    let more = false;
    try {
      const replies = (await Promise.all(
        this.lastIds.map((id, b) => this.client.call("XREAD", "COUNT", POLL_BATCH, "STREAMS", this.keys.index(b, "events"), id)),
      )) as ([string, [string, string[]][]][] | null)[];
      replies.forEach((reply, b) => {
        const entries = reply?.[0]?.[1] ?? [];
        for (const [id, fields] of entries) {
          this.lastIds[b] = id;
          this.emit(fields);
        }
        if (entries.length === POLL_BATCH) more = true;
      });
      if (this.failing) this.log.info("redis: reading expiry events again");
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.log.warn(`redis: cannot read expiry events (${oneLine(err)}); retrying`);
      this.failing = true;
    }
    this.schedule(more ? 0 : POLL_MS);
  }

  private emit(fields: string[]): void {
    const event = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) event.set(fields[i]!, fields[i + 1]!);
    const expired: ExpiredSession = {
      sessionId: event.get("id")!,
      createdAt: this.clock.local(Number(event.get("created"))),
      lastAccessed: this.clock.local(Number(event.get("seen"))),
      expiredAt: this.clock.local(Number(event.get("at"))),
      messageCount: Number(event.get("n")),
      action: event.get("action") as ExpiredSession["action"],
    };
    for (const listener of this.listeners) {
      try {
        listener(expired);
      } catch (err) {
        this.log.error("an expiry listener failed", err);
      }
    }
  }
}
