/**
 * The Redis store's time. Deadlines and creation order are kept on the Redis server's clock, so
 * that sidecars on hosts whose clocks disagree expire sessions at the same moment. The store is handed `now` on the
 * sidecar's clock (injected, so tests and the contract suite drive time); it converts with an offset
 * measured against Redis `TIME` at start-up (lowest round trip of a few samples) and re-measured every
 * minute. An offset under a second counts as none: hosts kept in step by NTP then store exactly the
 * times they were given, and every sidecar reads back the same values; a host further off is corrected.
 * A new offset is adopted only when it moved by more than a quarter second (a clock step), so that
 * consecutive calls see one consistent clock.
 */
import type { Logger } from "../../log.js";
import type { Client } from "./connection.js";

const CLOCK_CHECK_MS = 60_000;
const CLOCK_STEP_MS = 250;
const CLOCK_TOLERANCE_MS = 1000;

/** Converts the sidecar's clock to the Redis server's and back. */
export class ServerClock {
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly client: Client,
    private offset: number,
    private readonly log: Logger,
  ) {}

  static async start(client: Client, log: Logger): Promise<ServerClock> {
    const clock = new ServerClock(client, await measureOffset(client), log);
    clock.timer = setInterval(() => void clock.check(), CLOCK_CHECK_MS);
    clock.timer.unref();
    return clock;
  }

  server(localMs: number): number {
    return localMs + this.offset;
  }

  local(serverMs: number): number {
    return serverMs - this.offset;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    try {
      const offset = await measureOffset(this.client);
      if (Math.abs(offset - this.offset) <= CLOCK_STEP_MS) return;
      this.log.info(`redis: this host's clock moved by ${offset - this.offset} ms against the server's; following it`);
      this.offset = offset;
    } catch {
      // An outage: the next check will do.
    }
  }
}

/** Redis TIME minus local time, from the sample with the shortest round trip; 0 when within tolerance. */
async function measureOffset(client: Client): Promise<number> {
  let best = Infinity;
  let offset = 0;
  for (let i = 0; i < 5; i++) {
    const before = Date.now();
    const [seconds, micros] = await client.time();
    const after = Date.now();
    if (after - before < best) {
      best = after - before;
      offset = Math.round(Number(seconds) * 1000 + Number(micros) / 1000 - (before + after) / 2);
    }
  }
  return Math.abs(offset) < CLOCK_TOLERANCE_MS ? 0 : offset;
}
