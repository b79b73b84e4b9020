import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { appendedIds, catchUpUnderAppends, changesOf, followAcrossSidecars, waitForChanges } from "../helpers/observers.js";
import { RedisCluster, skipWithoutRedis } from "../helpers/redis-server.js";
import { killAll, rpc, spawnSidecar, until } from "../helpers/sidecar.js";

// Live observers under load, as the built bin runs them (npm run build): a subscriber whose client
// stops reading, and sidecars sharing a Redis Cluster.
afterEach(killAll);

const MiB = 1024 * 1024;
const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;

describe("observers: a subscriber whose client stops reading", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "acp-observers-heavy-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("holds a bounded backlog while another sidecar appends 192 MiB, then says `lagged` once and goes on live", async () => {
    const args = ["--store", `sqlite:${join(dir, "stall.db")}`, "--max-context-messages", "100000"];
    const subscriber = spawnSidecar(args);
    const writer = spawnSidecar(args);
    const { sessionId } = await writer.ok("session/new", { cwd: "/w" });
    await subscriber.ok("session/subscribe", { sessionId });
    const content = "x".repeat(64 * 1024);
    let next = 0;
    /** A burst of pipelined appends of 64 KiB each; resolves once all are answered, every one without error. */
    const burst = async (count: number) => {
      let lines = "";
      const ids: number[] = [];
      for (let end = next + count; next < end; next++) {
        ids.push(next);
        lines += rpc(next, "session/update", { sessionId, messages: [{ messageId: `m${next}`, role: "user", content }] });
      }
      writer.write(lines);
      const answers = await Promise.all(ids.map((id) => writer.response(id, 120_000)));
      expect(answers.filter((a) => a.error)).toEqual([]);
    };
    await burst(10);
    await waitForChanges(subscriber, sessionId, (c) => c.length === 10, "the first appends");
    const before = rss(subscriber.pid);

    // The client stops reading: the pipe fills, then the sidecar's output backs up.
    subscriber.child.stdout.pause();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(subscriber.pid))), 20);
    try {
      for (let i = 0; i < 30; i++) await burst(100);
    } finally {
      clearInterval(sampler);
    }
    // Writers were never held back: every append above was answered while the subscriber stalled.
    expect(peak - before, `grew from ${before / MiB} MiB to ${peak / MiB} MiB`).toBeLessThan(64 * MiB);

    // Reading again: what waited is written, the notice in place of what was dropped, then live changes.
    subscriber.child.stdout.resume();
    await waitForChanges(subscriber, sessionId, (c) => c.some((x) => x.change.type === "lagged"), "the lag notice");
    await burst(1);
    const last = `m${next - 1}`;
    await waitForChanges(subscriber, sessionId, (c) => appendedIds(c).includes(last), "the append after the stall");
    const changes = changesOf(subscriber, sessionId);
    const lagged = changes.filter((c) => c.change.type === "lagged");
    expect(lagged).toHaveLength(1);
    expect(lagged[0].change).toEqual({ type: "lagged", revision: lagged[0].revision, messageCount: lagged[0].messageCount });
    const at = changes.indexOf(lagged[0]);
    expect(appendedIds(changes.slice(at + 1))).toContain(last);
    const revisions = changes.map((c) => c.revision as number);
    for (let i = 1; i < revisions.length; i++) expect(revisions[i]).toBeGreaterThan(revisions[i - 1]!);

    // The client reads again from the last message it heard before the lag: the session goes on from there.
    const heardBefore = appendedIds(changes.slice(0, at));
    expect(heardBefore).toEqual(Array.from({ length: heardBefore.length }, (_, i) => `m${i}`));
    const { session } = await subscriber.ok("session/get", { sessionId, afterMessageId: heardBefore.at(-1), limit: 1 });
    expect(session.messageCount).toBe(next);
    expect(session.context.map((m: { messageId: string }) => m.messageId)).toEqual([`m${heardBefore.length}`]);
  });
});

const noRedis = skipWithoutRedis("the Redis Cluster observer tests");

describe.skipIf(noRedis)("observers: sidecars sharing a Redis Cluster", () => {
  let cluster: RedisCluster | undefined;
  let prefixes = 0;
  const store = () => ["--store", cluster!.url, "--redis-prefix", `obs-cluster-${process.pid}-${++prefixes}:`];
  beforeAll(async () => {
    cluster = await RedisCluster.start();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("one hears every change the other makes, in order, until the session is removed", async () => {
    const args = store();
    await followAcrossSidecars(spawnSidecar(args), spawnSidecar(args));
  });

  it("catch-up after a message while the other appends: nothing missed, nothing told twice", async () => {
    const args = store();
    await catchUpUnderAppends(spawnSidecar(args), spawnSidecar(args));
  });

  it("subscriptions to sessions in every bucket are each followed, and end with their sessions", async () => {
    const args = store();
    const subscriber = spawnSidecar(args);
    const writer = spawnSidecar(args);
    const sessions: string[] = [];
    for (let i = 0; i < 40; i++) sessions.push((await writer.ok("session/new", { cwd: "/w" })).sessionId);
    for (const sessionId of sessions) await subscriber.ok("session/subscribe", { sessionId });
    for (const sessionId of sessions)
      await writer.ok("session/update", { sessionId, messages: [{ messageId: "a", role: "user", content: "a" }] });
    for (const sessionId of sessions) await writer.ok("session/remove", { sessionId });
    await until(() => sessions.every((s) => changesOf(subscriber, s).length === 2), "every session's append and removal");
    for (const s of sessions) expect(changesOf(subscriber, s).map((c) => c.change.type)).toEqual(["appended", "removed"]);
  });
});
