import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { killAll, rpc, spawnSidecar, until, type Sidecar } from "../helpers/sidecar.js";

// The SQLite store as the built bin uses it: kill -9, two sidecars on one file, expiry across restarts.
// Needs the build (npm run build). Every wait polls a condition against a deadline.
afterEach(killAll);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "acp-sqlite-process-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const freshFile = () => join(dir, `s${++files}.db`);
const sqlite = (file: string, ...args: string[]) => spawnSidecar(["--store", `sqlite:${file}`, ...args]);
const ids = (result: any): string[] => result.session.context.map((m: any) => m.messageId);

/** Whether `all` holds `part` in its order (other items may come between). */
function inOrder(all: string[], part: string[]): boolean {
  let i = 0;
  for (const item of all) if (item === part[i]) i++;
  return i === part.length;
}

interface Stream {
  /** Updates sent in this round, in order, each as its message ids. */
  updates: string[][];
  /** How many of them were answered before the kill. */
  acked: number;
}

describe("sqlite store: kill -9", () => {
  it("keeps every acknowledged update, in order, and never half an update, over 20 kills mid-stream", async () => {
    const file = freshFile();
    const args = ["--max-context-messages", "1000000"];
    /** Per session: what it held at the last check, and what was streamed to it since. */
    const sessions = new Map<string, { base: string[]; stream: Stream }>();

    /** Stored = what it held + a prefix of whole updates streamed since, at least every acknowledged one. */
    const check = async (s: Sidecar) => {
      for (const [sessionId, { base, stream }] of sessions) {
        const stored = ids(await s.ok("session/get", { sessionId }));
        expect(stored.slice(0, base.length)).toEqual(base);
        let at = base.length;
        let applied = 0;
        for (; at < stored.length; at += 2, applied++) expect(stored.slice(at, at + 2)).toEqual(stream.updates[applied]);
        expect(applied, `acknowledged updates of ${sessionId}`).toBeGreaterThanOrEqual(stream.acked);
        sessions.set(sessionId, { base: stored, stream: { updates: [], acked: 0 } });
      }
    };

    let main: string | undefined;
    for (let round = 0; round < 20; round++) {
      const s = sqlite(file, ...args);
      await check(s);
      const own = (await s.ok("session/new", { cwd: "/w" })).sessionId as string;
      main ??= own;
      if (!sessions.has(own)) sessions.set(own, { base: [], stream: { updates: [], acked: 0 } });
      const targets = [main, own];

      let lines = "";
      const sentIds: { stream: Stream; index: number; id: string }[] = [];
      for (let i = 0; i < 600; i++) {
        const sessionId = targets[i % 2]!;
        const stream = sessions.get(sessionId)!.stream;
        const update = [`r${round}-u${i}-a`, `r${round}-u${i}-b`];
        stream.updates.push(update);
        const id = `r${round}-${i}`;
        sentIds.push({ stream, index: stream.updates.length - 1, id });
        lines += rpc(id, "session/update", {
          sessionId,
          messages: update.map((messageId, k) => ({ messageId, role: k ? "assistant" : "user", content: `${messageId} text` })),
        });
      }
      s.write(lines);
      const killAt = Math.floor(Math.random() * 450);
      await until(() => s.messages.length >= killAt, `${killAt} answers`);
      s.child.kill("SIGKILL");
      await s.exit;
      for (const { stream, index, id } of sentIds) {
        const answer = s.responses(id)[0];
        if (!answer) continue;
        expect(answer.error).toBeUndefined();
        stream.acked = Math.max(stream.acked, index + 1);
      }
    }
    const last = sqlite(file, ...args);
    await check(last);
    expect(sessions.size).toBe(20);
    expect(await last.end()).toBe(0);
    expect(last.stderr()).toBe("");
  });
});

describe("sqlite store: two sidecars on one file", () => {
  it("see each other's sessions at once, and 1,000 interleaved appends from each all land in order", async () => {
    const file = freshFile();
    const a = sqlite(file);
    const b = sqlite(file);
    const { sessionId } = await a.ok("session/new", { cwd: "/w", title: "shared" });
    expect((await b.ok("session/get", { sessionId })).session).toMatchObject({ title: "shared", messageCount: 0 });
    expect((await b.ok("session/list", {})).sessions.map((s: any) => s.sessionId)).toContain(sessionId);
    await b.ok("session/update", { sessionId, messages: [{ messageId: "from-b", role: "user", content: "hi" }] });
    expect(ids(await a.ok("session/get", { sessionId }))).toEqual(["from-b"]);

    const appends = (name: string) => {
      let lines = "";
      for (let i = 0; i < 1000; i++) {
        lines += rpc(`${name}${i}`, "session/update", {
          sessionId,
          messages: [{ messageId: `${name}-${i}`, role: "user", content: `${i}` }],
        });
      }
      return lines;
    };
    a.write(appends("a"));
    b.write(appends("b"));
    // Each sidecar answers in order, so its last answer comes after all of its others.
    await until(() => a.responses("a999").length > 0 && b.responses("b999").length > 0, "every append answered");
    for (const s of [a, b]) expect(s.messages.filter((m) => m.error)).toEqual([]);
    const stored = ids(await a.ok("session/get", { sessionId }));
    expect(stored).toHaveLength(2001);
    expect(
      inOrder(
        stored,
        Array.from({ length: 1000 }, (_, i) => `a-${i}`),
      ),
    ).toBe(true);
    expect(
      inOrder(
        stored,
        Array.from({ length: 1000 }, (_, i) => `b-${i}`),
      ),
    ).toBe(true);
    expect((await b.ok("session/get", { sessionId, limit: 0 })).session.messageCount).toBe(2001);
    expect(await a.end()).toBe(0);
    expect(await b.end()).toBe(0);
  });
});

describe("sqlite store: expiry across restarts and processes", () => {
  const AGE = 1000;

  it("a session that aged past --max-session-age while no sidecar ran is expired, and notified, at the next start", async () => {
    const file = freshFile();
    const first = sqlite(file, "--max-session-age", `${AGE}ms`);
    const { sessionId } = await first.ok("session/new", { cwd: "/w" });
    const createdAt = Date.now();
    expect(await first.end()).toBe(0);
    await until(() => Date.now() > createdAt + AGE + 50, "the session's age to pass");
    const next = sqlite(file, "--max-session-age", `${AGE}ms`);
    const [expired] = await until(
      () => next.notifications("session/expired").length > 0 && next.notifications("session/expired"),
      "session/expired",
    );
    expect(expired).toMatchObject({ sessionId, action: "delete" });
    expect((await next.call("session/get", { sessionId })).error?.code).toBe(-32002);
    expect(await next.end()).toBe(0);
  });

  it("several sidecars reaping one file delete each expired session once, notified by exactly one of them", async () => {
    const file = freshFile();
    const creator = sqlite(file, "--max-session-age", `${AGE}ms`);
    let lines = "";
    for (let i = 0; i < 60; i++) lines += rpc(i, "session/new", { cwd: "/w" });
    creator.write(lines);
    await until(() => creator.messages.length >= 60, "60 sessions");
    const created = creator.messages.map((m) => m.result.sessionId as string);
    const lastCreated = Date.now();
    expect(await creator.end()).toBe(0);
    await until(() => Date.now() > lastCreated + AGE + 50, "the sessions' age to pass");
    const reapers = [0, 1, 2].map(() => sqlite(file, "--max-session-age", `${AGE}ms`, "--cleanup-interval", "20ms"));
    const notified = () => reapers.flatMap((r) => r.notifications("session/expired").map((n) => n.sessionId as string));
    await until(() => notified().length >= 60, "60 expiries");
    expect(notified().sort()).toEqual([...created].sort());
    expect((await reapers[0]!.ok("session/list", {})).sessions).toEqual([]);
    for (const r of reapers) expect(await r.end()).toBe(0);
    expect(notified()).toHaveLength(60);
  });
});

describe("sqlite store: files it must not touch", () => {
  it("exits 1 with one line on stderr naming the file, leaving it as it was", async () => {
    const file = join(dir, "notes.txt");
    writeFileSync(file, "not a database\n".repeat(100));
    const s = sqlite(file);
    const { code } = await s.exit;
    expect(code).toBe(1);
    const stderr = s.stderr();
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(stderr).toContain(file);
    expect(stderr).toContain("not a SQLite database");
    expect(readFileSync(file, "utf8")).toBe("not a database\n".repeat(100));
  });
});
