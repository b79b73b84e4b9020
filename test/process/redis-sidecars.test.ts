import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../src/rpc/errors.js";
import { RedisServer, skipWithoutRedis } from "../helpers/redis-server.js";
import { killAll, rpc, spawnSidecar, until, type Sidecar } from "../helpers/sidecar.js";

// The built bin (`npm run build`: tsc, then the Lua copied) against a real redis-server, as several sidecars sharing it see it.
const noRedis = skipWithoutRedis("the Redis sidecar process tests");

let server: RedisServer | undefined;
let prefixes = 0;
const store = (prefix: string, s = server!) => ["--store", s.url, "--redis-prefix", prefix];
const freshPrefix = () => `p${process.pid}-${++prefixes}:`;

beforeAll(async () => {
  if (!noRedis) server = await RedisServer.start();
});
afterEach(killAll);
afterAll(async () => {
  await server?.stop();
});

/** Writes `lines` at once (pipelined) and waits for a response to each of `ids`. */
async function pipeline(sidecar: Sidecar, lines: string, ids: string[]): Promise<any[]> {
  sidecar.write(lines);
  return Promise.all(ids.map((id) => sidecar.response(id, 60_000)));
}

async function expiryEvents(prefix: string): Promise<number> {
  const client = new Redis({ host: "127.0.0.1", port: server!.port });
  try {
    const lengths = await Promise.all(Array.from({ length: 16 }, (_, b) => client.xlen(`${prefix}{b${b}}:events`)));
    return lengths.reduce((a, b) => a + b, 0);
  } finally {
    client.disconnect();
  }
}

describe.skipIf(noRedis)("sidecars sharing one Redis", () => {
  it("a session created by one sidecar is read, listed and appended by another", async () => {
    const prefix = freshPrefix();
    const one = spawnSidecar(store(prefix));
    const two = spawnSidecar(store(prefix));
    const { sessionId } = await one.ok("session/new", { cwd: "/w", title: "shared" });
    await one.ok("session/update", { sessionId, messages: [{ messageId: "m1", role: "user", content: "from one" }] });
    const read = await two.ok("session/get", { sessionId });
    expect(read.session).toMatchObject({ sessionId, title: "shared", messageCount: 1 });
    expect((await two.ok("session/list", {})).sessions.map((s: any) => s.sessionId)).toContain(sessionId);
    await two.ok("session/update", { sessionId, messages: [{ messageId: "m2", role: "assistant", content: "from two" }] });
    const back = await one.ok("session/get", { sessionId });
    expect(back.session.context.map((m: any) => m.content)).toEqual(["from one", "from two"]);
  });

  it("a truncate through one sidecar is what the other reads next, though it had read the session before", async () => {
    const prefix = freshPrefix();
    const one = spawnSidecar(store(prefix));
    const two = spawnSidecar(store(prefix));
    const { sessionId } = await one.ok("session/new", { cwd: "/w" });
    const messages = ["m1", "m2", "m3"].map((messageId) => ({ messageId, role: "user", content: messageId }));
    await one.ok("session/update", { sessionId, messages });
    const { sessionId: fork } = await one.ok("session/fork", { sessionId, cwd: "/w" });
    // Read twice, so that the second sidecar answers from what it keeps.
    for (let i = 0; i < 2; i++) expect((await two.ok("session/get", { sessionId })).session.messageCount).toBe(3);
    expect(await one.ok("session/truncate", { sessionId, fromMessageId: "m2" })).toMatchObject({ messageCount: 1, removed: 2 });
    await one.ok("session/update", { sessionId, messages: [{ messageId: "m2", role: "user", content: "m2 edited" }] });
    const read = (await two.ok("session/get", { sessionId })).session;
    expect(read).toMatchObject({ messageCount: 2, revision: 4 });
    expect(read.context.map((m: any) => m.content)).toEqual(["m1", "m2 edited"]);
    expect((await two.ok("session/get", { sessionId: fork })).session.context.map((m: any) => m.content)).toEqual(["m1", "m2", "m3"]);
    expect(await two.ok("session/truncate", { sessionId, afterMessageId: null })).toMatchObject({ messageCount: 0, revision: 5 });
    expect((await one.ok("session/get", { sessionId })).session).toMatchObject({ messageCount: 0, context: [] });
  });

  it("1,000 pipelined appends from each of two sidecars, interleaved: all land, each sidecar's in its order", async () => {
    const prefix = freshPrefix();
    const one = spawnSidecar(store(prefix));
    const two = spawnSidecar(store(prefix));
    const { sessionId } = await one.ok("session/new", { cwd: "/w" });
    await two.ok("session/get", { sessionId, limit: 0 });
    const appends = (name: string) => {
      let lines = "";
      const ids: string[] = [];
      for (let i = 0; i < 1000; i++) {
        ids.push(`${name}${i}`);
        lines += rpc(`${name}${i}`, "session/update", {
          sessionId,
          messages: [{ messageId: `${name}-${i}`, role: "user", content: `${i}` }],
        });
      }
      return { lines, ids };
    };
    const a = appends("a");
    const b = appends("b");
    const answers = await Promise.all([pipeline(one, a.lines, a.ids), pipeline(two, b.lines, b.ids)]);
    expect(answers.flat().filter((r) => r.error)).toEqual([]);
    const { session } = await one.ok("session/get", { sessionId, limit: 5000 });
    expect(session.messageCount).toBe(2000);
    const ids: string[] = session.context.map((m: any) => m.messageId);
    expect(ids.filter((id) => id.startsWith("a-"))).toEqual(a.ids.map((_, i) => `a-${i}`));
    expect(ids.filter((id) => id.startsWith("b-"))).toEqual(b.ids.map((_, i) => `b-${i}`));
  });

  it("expiry: each session deleted once, every connected sidecar says so once, a later one hears only later expiries", async () => {
    const prefix = freshPrefix();
    const args = [...store(prefix), "--max-session-age", "1s", "--cleanup-interval", "200ms"];
    const sidecars = [spawnSidecar(args), spawnSidecar(args), spawnSidecar(args)];
    const created: string[] = [];
    for (let i = 0; i < 6; i++) created.push((await sidecars[i % 3]!.ok("session/new", { cwd: "/w" })).sessionId);
    const expiredIn = (s: Sidecar) => s.notifications("session/expired").map((p: any) => p.sessionId as string);
    await until(() => sidecars.every((s) => expiredIn(s).length >= created.length), "every sidecar to announce every expiry");
    for (const s of sidecars) expect(expiredIn(s).sort()).toEqual([...created].sort());
    expect(await expiryEvents(prefix)).toBe(created.length);

    const late = spawnSidecar(args);
    const { sessionId } = await late.ok("session/new", { cwd: "/w" });
    await until(() => [...sidecars, late].every((s) => expiredIn(s).includes(sessionId)), "the late session's expiry");
    expect(expiredIn(late)).toEqual([sessionId]);
    for (const s of sidecars) expect(expiredIn(s).sort()).toEqual([...created, sessionId].sort());
    expect(late.notifications("session/expired")[0]).toMatchObject({ sessionId, action: "delete", messageCount: 0 });
  });

  it("Redis unreachable at start-up: one line on stderr, exit code 1", async () => {
    const sidecar = spawnSidecar(["--store", "redis://127.0.0.1:1"]);
    const { code } = await sidecar.exit;
    expect(code).toBe(1);
    expect(sidecar.stderr()).toMatch(/^acp-sessions: cannot reach Redis at redis:\/\/127\.0\.0\.1:1: .+\n$/);
  });

  it("Redis restarted under a running sidecar: requests fail with the store-unavailable error, then succeed again", async () => {
    const own = await RedisServer.start({ appendonly: true });
    try {
      const sidecar = spawnSidecar([...store(freshPrefix(), own), "--log-level", "error"]);
      const { sessionId } = await sidecar.ok("session/new", { cwd: "/w" });
      await own.kill();
      const during = await sidecar.call("session/get", { sessionId });
      expect(during.error).toMatchObject({ code: ErrorCode.StoreUnavailable });
      await own.start();
      let answer: any;
      const deadline = Date.now() + 30_000;
      do {
        answer = await sidecar.call("session/get", { sessionId });
        if (answer.error) await new Promise((resolve) => setTimeout(resolve, 50));
      } while (answer.error && Date.now() < deadline);
      expect(answer.result?.session?.sessionId).toBe(sessionId);
      expect(sidecar.child.exitCode).toBeNull();
    } finally {
      await own.stop();
    }
  });
});
