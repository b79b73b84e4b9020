/**
 * What -32012 tells a client about a write Redis did not answer: `data.applied` false only when the
 * write surely took no effect, "unknown" when it was sent and may have been (or may still be) applied.
 * Against a real redis-server, paused (SIGSTOP) and killed under running updates.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../../src/rpc/errors.js";
import { inProcess, type Harness, type Response } from "../../helpers/in-process.js";
import { RedisServer, skipWithoutRedis } from "../../helpers/redis-server.js";
import { freshPrefix } from "./harness.js";

const noRedis = skipWithoutRedis("the Redis outage tests");

/** An update of one message with an id of its own, and how it was answered. */
interface Outcome {
  messageId: string;
  response: Response;
}

const LOOPS = 10;

let server: RedisServer | undefined;
let harness: Harness | undefined;

beforeAll(async () => {
  if (noRedis) return;
  // Append-only and written before each reply: under load, everysec may answer before its write, and a kill then loses it.
  server = await RedisServer.start({ appendonly: true, args: ["--appendfsync", "always"] });
});

afterAll(async () => {
  await harness?.close();
  await server?.stop();
});

/** Polls until `check` holds; fails after `ms`. */
async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const failed = (outcomes: Outcome[]) => outcomes.filter((o) => o.response.error);
const answeredApplied = (outcomes: Outcome[], applied: false | "unknown") =>
  outcomes.filter((o) => o.response.error?.data?.applied === applied).map((o) => o.messageId);

describe.skipIf(noRedis)("Redis outage: whether a write answered -32012 was applied", () => {
  it("says unknown for updates sent to a stopped Redis, false for those never sent, and false means not stored", async () => {
    const redis = server!;
    const sidecar = (harness = await inProcess({ store: redis.url, redisPrefix: freshPrefix("outage") }));
    const { sessionId } = await sidecar.ok("session/new", { cwd: "/w" });
    const update = async (messageId: string): Promise<Outcome> => {
      const messages = [{ messageId, role: "user", content: messageId }];
      return { messageId, response: await sidecar.call("session/update", { sessionId, messages }) };
    };

    // Concurrent update loops, with Redis paused (SIGSTOP) under them and then resumed.
    const outcomes: Outcome[] = [];
    let running = true;
    const loop = async (n: number) => {
      for (let i = 0; running; i++) {
        const outcome = await update(`loop-${n}-${i}`);
        outcomes.push(outcome);
        // A failure comes at once only after a stop; the loops then wait a little rather than spin.
        if (outcome.response.error) await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const loops = Array.from({ length: LOOPS }, (_, n) => loop(n));
    await until(() => outcomes.length >= 5 * LOOPS, "updates acknowledged before the pause");
    redis.pause();
    await until(() => failed(outcomes).length >= 2 * LOOPS, "updates to fail while Redis is stopped");
    redis.resume();
    const failedByPause = outcomes.length;
    await until(() => outcomes.slice(failedByPause).filter((o) => o.response.result).length >= LOOPS, "updates after the resume");
    running = false;
    await Promise.all(loops);

    // Redis killed: once the sidecar knows it is gone, an update is never sent and says so.
    await redis.kill();
    let downs = 0;
    await until(async () => {
      const down = await update(`down-${downs++}`);
      outcomes.push(down);
      return down.response.error?.data?.applied === false;
    }, "an update answered applied: false while Redis is down");
    await redis.start();
    await until(async () => !(await update("after-restart")).response.error, "the sidecar to serve again");

    for (const { response } of failed(outcomes)) {
      expect(response.error).toMatchObject({ code: ErrorCode.StoreUnavailable, data: { backend: "redis" } });
      expect([false, "unknown"]).toContain(response.error!.data.applied);
    }
    const stored = new Set<string>(
      (await sidecar.ok("session/get", { sessionId })).session.context.map((m: { messageId: string }) => m.messageId),
    );
    for (const { messageId, response } of outcomes) if (response.result) expect(stored).toContain(messageId);
    const neverSent = answeredApplied(outcomes, false);
    const maybeApplied = answeredApplied(outcomes, "unknown");
    expect(neverSent.length).toBeGreaterThan(0);
    for (const messageId of neverSent) expect(stored).not.toContain(messageId);
    // Sent to the stopped server, these ran once it was resumed: "not applied" would have been a lie.
    expect(maybeApplied.length).toBeGreaterThanOrEqual(LOOPS);
    expect(maybeApplied.filter((id) => stored.has(id)).length).toBeGreaterThan(0);
  }, 120_000);
});
