import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionClient, type Session } from "../../src/client/index.js";
import { silentLogger } from "../../src/log.js";
import { storedMessage } from "../../src/protocol/encode-session.js";
import { openSqliteStore } from "../../src/store/sqlite/store.js";
import type { NewSession, SessionStore } from "../../src/store/types.js";
import { RedisServer, skipWithoutRedis } from "../helpers/redis-server.js";
import { BIN } from "../helpers/sidecar.js";

// Moving a store: acp-sessions --store sqlite:old.db export | acp-sessions --store redis://… import.
const noRedis = skipWithoutRedis("the SQLite to Redis migration test");

const LONG = 10_000;
const HOUR = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), "acp-migration-"));
const sqlite = `sqlite:${join(dir, "old.db")}`;
const PREFIX = "migrated:";
const options = ["--max-context-messages", String(LONG)];
let redis: RedisServer | undefined;

let ids = 0;
const session = (title: string | null, overrides: Partial<NewSession> = {}): NewSession => ({
  sessionId: `00000000-0000-4000-8000-${String(++ids).padStart(12, "0")}`,
  cwd: `/projects/p${ids % 3}`,
  title,
  clientCapabilities: ids % 2 ? { fs: { readTextFile: true }, terminal: true } : null,
  mcpServers: ids % 2 ? ["fs", "git"] : [],
  additionalDirectories: ids % 2 ? ["/lib"] : [],
  retention: { maxIdleMs: null, pinned: false },
  ...overrides,
});
const roles = ["user", "assistant", "system"] as const;
const messages = (prefix: string, count: number, at: number) =>
  Array.from({ length: count }, (_, i) => {
    const content =
      i % 5 === 4 ? [{ type: "image", data: "AAAA", mimeType: "image/png" }] : `${prefix} says ${i}: ${"·".repeat(i % 40)} ü ✓`;
    return storedMessage(
      { role: roles[i % 3]!, content: content as string, timestamp: new Date(at + i).toISOString() },
      `${prefix}-${i}`,
      at,
    );
  });

/** A store with plain sessions, forks (of forks too), archived and pinned ones, and a 10,000-message session. */
async function fill(store: SessionStore, now: number): Promise<void> {
  const append = (sessionId: string, list: ReturnType<typeof messages>, at: number) =>
    store.update({ sessionId, messages: list, changes: {} }, at);
  const long = (await store.create(session("long"), now)).sessionId;
  for (let from = 0; from < LONG; from += 1000) await append(long, messages("long", LONG, now).slice(from, from + 1000), now + 1);
  const fork = (parentSessionId: string, atMessageId: string | undefined, title?: string | null) =>
    store.fork(
      { parentSessionId, sessionId: session(null).sessionId, cwd: "/projects/forks", mcpServers: ["fs"], title, atMessageId },
      now + 2,
    );
  const longFork = await fork(long, "long-4999", "half of long");
  await append(longFork.sessionId, messages("lf", 20, now + 3), now + 3);
  const forkOfFork = await fork(longFork.sessionId, "lf-9");
  await append(forkOfFork.sessionId, messages("ff", 3, now + 4), now + 4);
  for (let i = 0; i < 12; i++) {
    const { sessionId } = await store.create(session(i % 4 === 0 ? null : `session ${i}`), now + 10 + i);
    await append(sessionId, messages(`s${i}`, 5 + i, now + 10 + i), now + 10 + i);
    if (i % 3 === 0) await store.setArchived(sessionId, true, now + 30);
    if (i % 5 === 1)
      await store.update({ sessionId, messages: [], changes: { retention: { maxIdleMs: 7 * HOUR, pinned: i === 1 } } }, now + 31);
    if (i === 2) await fork(sessionId, undefined, "whole fork");
  }
  const archivedFork = await fork(long, undefined);
  await store.setArchived(archivedFork.sessionId, true, now + 40);
}

/** Every session the store lists, archived ones too, in listing order, each as session/export answers it (session/get without the access). */
async function everything(store: string, extra: string[] = []): Promise<Session[]> {
  const client = SessionClient.spawn({ store, redisPrefix: PREFIX, maxContextMessages: LONG, args: extra, stderr: "inherit" });
  try {
    await client.initialize();
    const out: Session[] = [];
    for await (const { sessionId } of client.listAll({ archived: "include" }))
      out.push((await client.exportSession({ sessionId })).session);
    return out;
  } finally {
    await client.close();
  }
}

beforeAll(async () => {
  if (noRedis) return;
  redis = await RedisServer.start();
  const store = await openSqliteStore(
    join(dir, "old.db"),
    { maxIdleMs: HOUR, maxContextMessages: LONG },
    {
      log: silentLogger,
      redisPrefix: "",
      redisBuckets: 1,
      storeWaitMs: 0,
    },
  );
  await fill(store, Date.now() - 60_000);
  await store.close();
});
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(noRedis)("migration from SQLite to Redis", () => {
  it("moves every session, fork, archived session and message, and keeps the forks' histories shared", async () => {
    const pipeline = [
      `"${process.execPath}" "${BIN}" --store "${sqlite}" ${options.join(" ")} export`,
      `"${process.execPath}" "${BIN}" --store "${redis!.url}" --redis-prefix "${PREFIX}" ${options.join(" ")} import`,
    ].join(" | ");
    const migrated = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("bash", ["-c", `set -o pipefail; ${pipeline}`]);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    expect(migrated).toMatchObject({ code: 0, stderr: "" });
    expect(migrated.stdout).toBe("imported 17 sessions: 17 new, 0 with messages added, 0 unchanged\n");

    const before = await everything(sqlite);
    const after = await everything(redis!.url);
    expect(before).toHaveLength(17);
    expect(before.some((s) => s.archived) && before.some((s) => s.retention.pinned)).toBe(true);
    expect(before.find((s) => s.messageCount === LONG)).toBeDefined();
    // Revisions start again at the target; everything else is the same, in the same listing order.
    const withoutRevision = (sessions: Session[]) => sessions.map(({ revision: _revision, ...rest }) => rest);
    expect(withoutRevision(after)).toEqual(withoutRevision(before));

    // The forks share their parents' history in Redis too: each message is stored once.
    const client = new Redis(redis!.url);
    try {
      let stored = 0;
      const keys = await client.keys(`${PREFIX}*:m:*`);
      for (const key of keys) stored += await client.llen(key);
      const distinct = new Set(before.flatMap((s) => s.context.map((m) => `${m.messageId}`))).size;
      expect(stored).toBe(distinct);
    } finally {
      client.disconnect();
    }
  });
});
