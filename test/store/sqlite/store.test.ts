import Database from "better-sqlite3";
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/log.js";
import { RevisionConflictError, StoreUnavailableError } from "../../../src/store/errors.js";
import { StoreOpenError } from "../../../src/store/errors.js";
import type { BackendOptions } from "../../../src/store/types.js";
import { CHANGE_LOG_TABLE, SCHEMA_VERSION, TABLES } from "../../../src/store/sqlite/schema.js";
import { openSqliteStore } from "../../../src/store/sqlite/store.js";
import type { StoreOptions } from "../../../src/store/types.js";
import { heard, message, newSession, sharedDataHarness, storeContract, summary } from "../contract.js";

const backend: BackendOptions = { log: silentLogger, redisPrefix: "", redisBuckets: 1, storeWaitMs: 0 };

for (const groupCommit of [true, false]) {
  storeContract(groupCommit ? "sqlite (group commit)" : "sqlite (a commit per call)", () => {
    const dir = mkdtempSync(join(tmpdir(), "acp-sqlite-"));
    const file = join(dir, "sessions.db");
    return sharedDataHarness(
      (options) => openSqliteStore(file, options, backend, { groupCommit }),
      () => rmSync(dir, { recursive: true, force: true }),
    );
  });
}

const T0 = Date.UTC(2026, 0, 1);

describe("sqlite store: the file", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "acp-sqlite-file-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const open = (file: string, options: Partial<StoreOptions> = {}, groupCommit = true) =>
    openSqliteStore(file, { maxIdleMs: 3_600_000, ...options }, backend, { groupCommit });
  const openError = async (file: string): Promise<StoreOpenError> => {
    const err = await open(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreOpenError);
    expect((err as Error).message).not.toContain("\n");
    return err as StoreOpenError;
  };
  const snapshot = (file: string) => ({ bytes: readFileSync(file), mtime: statSync(file).mtimeMs });
  const siblings = (file: string) => readdirSync(dir).filter((name) => name !== basename(file));

  it("creates the file with mode 0600, the current schema version and WAL", async () => {
    const file = join(dir, "new.db");
    const store = await open(file);
    await store.create(newSession(), T0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    for (const name of siblings(file)) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    store.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual([...TABLES, CHANGE_LOG_TABLE].sort());
    db.close();
  });

  it("keeps sessions, messages, forks and revisions across close and reopen", async () => {
    const file = join(dir, "keep.db");
    const first = await open(file);
    const { sessionId } = await first.create(newSession({ title: "kept" }), T0);
    await first.update({ sessionId, messages: [message("a"), message("b", "assistant")], changes: {} }, T0 + 1);
    const fork = await first.fork(
      { parentSessionId: sessionId, sessionId: newSession().sessionId, cwd: "/f", mcpServers: [], title: undefined },
      T0 + 2,
    );
    first.close();
    const again = await open(file);
    expect((await again.list({ limit: 10 })).sessions.find((s) => s.sessionId === sessionId)).toMatchObject({
      revision: 2,
      lastAccessed: T0 + 2,
    });
    const got = await again.get(fork.sessionId, {}, T0 + 3);
    expect(got.session).toMatchObject({ title: "kept", messageCount: 2, parentSessionId: sessionId, forkedAtMessageId: "b" });
    expect(got.messages.map((m) => m.toString())).toEqual([message("a").json.toString(), message("b", "assistant").json.toString()]);
    again.close();
  });

  it("measures idleness from the stored last access: a session that aged while closed expires on reopen", async () => {
    const file = join(dir, "idle.db");
    const first = await open(file, { maxIdleMs: 1000 });
    const { sessionId } = await first.create(newSession(), T0);
    first.close();
    const again = await open(file, { maxIdleMs: 1000 });
    expect((await again.expireDue(T0 + 1000, 10)).map((e) => e.sessionId)).toEqual([sessionId]);
    again.close();
  });

  it("refuses a file that is not a SQLite database and leaves it untouched", async () => {
    const file = join(dir, "notes.txt");
    writeFileSync(file, "these are my notes, not a database\n".repeat(200));
    const before = snapshot(file);
    const err = await openError(file);
    expect(err.message).toContain(file);
    expect(err.message).toContain("not a SQLite database");
    expect(snapshot(file)).toEqual(before);
    expect(siblings(file)).toEqual([]);
  });

  it("refuses a SQLite database of another application and leaves it untouched", async () => {
    const file = join(dir, "other.db");
    const db = new Database(file);
    db.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine')");
    db.close();
    const before = snapshot(file);
    const err = await openError(file);
    expect(err.message).toContain(file);
    expect(err.message).toContain("another application");
    expect(snapshot(file)).toEqual(before);
  });

  it("refuses a schema version newer than it knows and leaves the file untouched", async () => {
    const file = join(dir, "newer.db");
    (await open(file)).close();
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const before = snapshot(file);
    const err = await openError(file);
    expect(err.message).toContain(file);
    expect(err.message).toContain(`schema version ${SCHEMA_VERSION + 1} is newer`);
    expect(snapshot(file)).toEqual(before);
  });

  it("migrates an empty file from version 0 and opens its own files again without migrating", async () => {
    const file = join(dir, "empty.db");
    writeFileSync(file, "");
    const store = await open(file);
    await store.create(newSession(), T0);
    store.close();
    const again = await open(file);
    expect((await again.list({ limit: 10 })).sessions).toHaveLength(1);
    again.close();
  });

  it("refuses a path that cannot be written, creating nothing", async () => {
    const missing = join(dir, "no-such-dir", "s.db");
    expect((await openError(missing)).message).toContain(missing);
    expect(existsSync(join(dir, "no-such-dir"))).toBe(false);
    expect((await openError(dir)).message).toContain(dir);
    const notADir = join(dir, "plain-file");
    writeFileSync(notADir, "x");
    expect((await openError(join(notADir, "s.db"))).message).toContain(notADir);
    if (process.getuid?.() !== 0) {
      const readOnly = join(dir, "read-only.db");
      writeFileSync(readOnly, "");
      chmodSync(readOnly, 0o400);
      expect((await openError(readOnly)).message).toContain(readOnly);
    }
  });
});

describe("sqlite store: group commit", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "acp-sqlite-group-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("answers a change only once it is committed, and a failed request undoes only itself", async () => {
    const file = join(dir, "g.db");
    const store = await openSqliteStore(file, { maxIdleMs: 3_600_000 }, backend);
    const { sessionId } = await store.create(newSession(), T0);
    const reader = new Database(file, { readonly: true });
    const stored = () => reader.prepare("SELECT count(*) FROM messages").pluck().get();
    const first = store.update({ sessionId, messages: [message("a")], changes: {}, expectedRevision: 1 }, T0);
    expect(first).toBeInstanceOf(Promise);
    expect(() => store.update({ sessionId, messages: [message("b")], changes: {}, expectedRevision: 1 }, T0)).toThrow(
      RevisionConflictError,
    );
    const third = store.update({ sessionId, messages: [message("c")], changes: {} }, T0);
    expect(stored()).toBe(0); // nothing is visible outside this turn's transaction yet
    await expect(first).resolves.toMatchObject({ appended: 1 });
    expect(stored()).toBe(2);
    await expect(third).resolves.toMatchObject({ session: { messageCount: 2, revision: 3 } });
    reader.close();
    store.close();
  });

  it("answers a read that changed nothing at once", async () => {
    const store = await openSqliteStore(join(dir, "r.db"), { maxIdleMs: 3_600_000 }, backend);
    const { sessionId } = await store.create(newSession(), T0);
    await store.get(sessionId, {}, T0 + 1);
    const read = store.get(sessionId, {}, T0 + 1);
    expect(read).not.toBeInstanceOf(Promise);
    store.close();
  });
});

describe("sqlite store: what a connection keeps of its reads", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "acp-sqlite-cache-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const open = (file: string, groupCommit: boolean, options: Partial<StoreOptions> = {}) =>
    openSqliteStore(file, { maxIdleMs: 3_600_000, ...options }, backend, { groupCommit });
  const texts = (messages: Buffer[]) => messages.map((m) => JSON.parse(m.toString()).messageId);
  const segmentOf = (file: string, sessionId: string) => {
    const db = new Database(file, { readonly: true });
    const segment = db.prepare("SELECT segment FROM sessions WHERE session_id = ?").pluck().get(sessionId);
    db.close();
    return segment;
  };

  for (const groupCommit of [true, false]) {
    const mode = groupCommit ? "group commit" : "a commit per call";

    it(`sees another connection's appends, changes, removals and reused segment ids at the next read (${mode})`, async () => {
      const file = join(dir, "two.db");
      const reader = await open(file, groupCommit);
      const writer = await open(file, groupCommit);
      const x = await writer.create(newSession(), T0);
      await writer.update({ sessionId: x.sessionId, messages: [message("x1"), message("x2")], changes: {} }, T0);
      expect(texts((await reader.get(x.sessionId, {}, T0)).messages)).toEqual(["x1", "x2"]);

      await writer.update({ sessionId: x.sessionId, messages: [message("x3")], changes: { title: "renamed" } }, T0);
      const after = await reader.get(x.sessionId, {}, T0);
      expect(texts(after.messages)).toEqual(["x1", "x2", "x3"]);
      expect(after.session).toMatchObject({ title: "renamed", revision: 3, messageCount: 3 });

      // Removing the newest session frees the highest segment id, which the next session reuses.
      const segment = segmentOf(file, x.sessionId);
      await writer.remove(x.sessionId);
      await expect(Promise.resolve().then(() => reader.get(x.sessionId, {}, T0))).rejects.toThrow(/not found/i);
      const y = await writer.create(newSession(), T0);
      await writer.update({ sessionId: y.sessionId, messages: [message("y1"), message("y2")], changes: {} }, T0);
      expect(segmentOf(file, y.sessionId)).toBe(segment);
      expect(texts((await reader.get(y.sessionId, {}, T0)).messages)).toEqual(["y1", "y2"]);
      reader.close();
      writer.close();
    });

    it(`reads its own removals, reused segment ids and trims right (${mode})`, async () => {
      const file = join(dir, "one.db");
      const store = await open(file, groupCommit, { maxContextMessages: 3, onContextFull: "trim" });
      const x = await store.create(newSession(), T0);
      await store.update({ sessionId: x.sessionId, messages: [message("x1"), message("x2", "assistant")], changes: {} }, T0);
      expect(texts((await store.get(x.sessionId, {}, T0)).messages)).toEqual(["x1", "x2"]);
      const segment = segmentOf(file, x.sessionId);
      await store.remove(x.sessionId);
      const y = await store.create(newSession(), T0);
      expect(segmentOf(file, y.sessionId)).toBe(segment);
      await store.update({ sessionId: y.sessionId, messages: [message("y1"), message("y2", "assistant")], changes: {} }, T0);
      expect(texts((await store.get(y.sessionId, {}, T0)).messages)).toEqual(["y1", "y2"]);
      await store.update({ sessionId: y.sessionId, messages: [message("y3"), message("y4", "assistant")], changes: {} }, T0);
      const trimmed = await store.get(y.sessionId, {}, T0);
      expect(texts(trimmed.messages)).toEqual(["y3", "y4"]);
      expect(trimmed.session.messageCount).toBe(2);
      store.close();
    });

    it(`a request SQLite fails after some of its writes leaves every later read and append right (${mode})`, async () => {
      const file = join(dir, "abort.db");
      const store = await open(file, groupCommit);
      const { sessionId } = await store.create(newSession(), T0);
      await store.update({ sessionId, messages: [message("a")], changes: {} }, T0);
      await store.get(sessionId, {}, T0);
      // The second message of the next update fails inside SQLite, after the first was written.
      (store as unknown as { db: Database.Database }).db.exec(
        `CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.message_id = 'refused' BEGIN SELECT RAISE(ABORT, 'refused'); END`,
      );
      const failing = () => store.update({ sessionId, messages: [message("b"), message("refused")], changes: {} }, T0);
      await expect(Promise.resolve().then(failing)).rejects.toBeInstanceOf(StoreUnavailableError);
      const after = await store.get(sessionId, {}, T0);
      expect(after.session).toMatchObject({ messageCount: 1, revision: 2 });
      expect(texts(after.messages)).toEqual(["a"]);
      await store.update({ sessionId, messages: [message("c")], changes: {} }, T0);
      expect(texts((await store.get(sessionId, {}, T0)).messages)).toEqual(["a", "c"]);
      store.close();
    });

    it(`a request that fails leaves every later read as before it (${mode})`, async () => {
      const store = await open(join(dir, "fail.db"), groupCommit, { maxContextMessages: 2 });
      const { sessionId } = await store.create(newSession({ title: "kept" }), T0);
      await store.update({ sessionId, messages: [message("a")], changes: {} }, T0);
      const before = await store.get(sessionId, {}, T0);
      const conflict = () => store.update({ sessionId, messages: [message("b")], changes: { title: "lost" }, expectedRevision: 1 }, T0);
      expect(conflict).toThrow(RevisionConflictError);
      const full = () => store.update({ sessionId, messages: [message("b"), message("c")], changes: { title: "lost too" } }, T0);
      expect(full).toThrow(/maxContextMessages/);
      const after = await store.get(sessionId, {}, T0);
      expect(after.session).toEqual(before.session);
      expect(texts(after.messages)).toEqual(["a"]);
      store.close();
    });
  }
});

describe("sqlite store: a turn's transaction lost", () => {
  it("fails every answer that waited on it, and nothing of it is read afterwards", async () => {
    const dir = mkdtempSync(join(tmpdir(), "acp-sqlite-lost-"));
    const store = await openSqliteStore(join(dir, "lost.db"), { maxIdleMs: 3_600_000 }, backend);
    const { sessionId } = await store.create(newSession(), T0);
    await store.update({ sessionId, messages: [message("a")], changes: {} }, T0);
    await store.get(sessionId, {}, T0);
    const lost = store.update({ sessionId, messages: [message("b")], changes: { title: "lost" } }, T0);
    // What SQLite does on its own after some errors (SQLITE_FULL, SQLITE_IOERR): roll the whole transaction back.
    (store as unknown as { db: Database.Database }).db.exec("ROLLBACK");
    const next = store.get(sessionId, {}, T0);
    await expect(lost).rejects.toBeInstanceOf(StoreUnavailableError);
    const read = await next;
    expect(read.session).toMatchObject({ title: null, messageCount: 1, revision: 2 });
    expect(read.messages.map((m) => JSON.parse(m.toString()).messageId)).toEqual(["a"]);
    await store.update({ sessionId, messages: [message("c")], changes: {} }, T0);
    expect((await store.get(sessionId, {}, T0)).messages.map((m) => JSON.parse(m.toString()).messageId)).toEqual(["a", "c"]);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("holds back a read's answer until the commit of a change it may have seen", async () => {
    const dir = mkdtempSync(join(tmpdir(), "acp-sqlite-hold-"));
    const store = await openSqliteStore(join(dir, "hold.db"), { maxIdleMs: 3_600_000 }, backend);
    const { sessionId } = await store.create(newSession(), T0);
    await store.get(sessionId, {}, T0);
    expect(store.get(sessionId, {}, T0)).not.toBeInstanceOf(Promise);
    const update = store.update({ sessionId, messages: [message("a")], changes: {} }, T0);
    const read = store.get(sessionId, {}, T0);
    expect(read).toBeInstanceOf(Promise);
    await update;
    expect((await read).session.messageCount).toBe(1);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("sqlite store: real deletion", () => {
  it("holds no row in any table after thousands of random new/update/fork/delete/expire steps", async () => {
    const dir = mkdtempSync(join(tmpdir(), "acp-sqlite-footprint-"));
    try {
      for (const onExpire of ["delete", "archive"] as const) {
        const store = await openSqliteStore(
          join(dir, `${onExpire}.db`),
          { maxIdleMs: 5_000, onExpire, maxContextMessages: 12, onContextFull: "trim" },
          backend,
        );
        let seed = onExpire === "delete" ? 7 : 11;
        const random = (n: number) => {
          seed = (seed * 1103515245 + 12345) % 2 ** 31;
          return seed % n;
        };
        const model = new Map<string, string[]>();
        let now = T0;
        let counter = 0;
        for (let step = 0; step < 2500; step++) {
          now += random(400);
          const live = [...model.keys()];
          const pick = () => live[random(live.length)]!;
          const kind = live.length === 0 ? 0 : random(10);
          if (kind === 0) {
            const { sessionId } = await store.create(newSession(), now);
            model.set(sessionId, []);
          } else if (kind <= 4) {
            const s = pick();
            const fresh = Array.from({ length: 1 + random(4) }, () => `m${++counter}`);
            const batch = fresh.map((id, i) => message(id, i === 0 && random(2) === 0 ? "user" : "assistant"));
            const r = await store.update({ sessionId: s, messages: batch, changes: {} }, now);
            model.set(s, [...model.get(s)!, ...fresh].slice(r.trimmed));
          } else if (kind <= 6) {
            const s = pick();
            const history = model.get(s)!;
            const at = history.length > 0 && random(2) === 0 ? history[random(history.length)] : undefined;
            const f = await store.fork(
              { parentSessionId: s, sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: undefined, atMessageId: at },
              now,
            );
            model.set(f.sessionId, at === undefined ? [...history] : history.slice(0, history.indexOf(at) + 1));
          } else if (kind === 7) {
            const s = pick();
            await store.remove(s);
            model.delete(s);
          } else if (kind === 8) {
            for (const e of await store.expireDue(now, 50)) if (e.action === "delete") model.delete(e.sessionId);
          } else {
            const s = pick();
            const texts = (await store.get(s, {}, now)).messages.map((m) => JSON.parse(m.toString()).messageId);
            expect(texts).toEqual(model.get(s));
          }
        }
        for (const [s, history] of model) {
          expect((await store.get(s, {}, now)).messages.map((m) => JSON.parse(m.toString()).messageId)).toEqual(history);
        }
        const forkless = await store.footprint();
        expect(forkless.messages).toBeGreaterThan(0);
        for (const s of model.keys()) await store.remove(s);
        expect(await store.footprint()).toEqual({ sessions: 0, segments: 0, messages: 0, counters: 0 });
        store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a fork of a long session adds one session and one segment row, and no message rows", async () => {
    const dir = mkdtempSync(join(tmpdir(), "acp-sqlite-fork-"));
    const store = await openSqliteStore(join(dir, "f.db"), { maxIdleMs: 3_600_000 }, backend);
    try {
      const { sessionId } = await store.create(newSession(), T0);
      for (let i = 0; i < 5_000; i += 500) {
        await store.update({ sessionId, messages: Array.from({ length: 500 }, (_, k) => message(`m${i + k}`)), changes: {} }, T0);
      }
      const before = await store.footprint();
      await store.fork({ parentSessionId: sessionId, sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: undefined }, T0);
      expect(await store.footprint()).toEqual({ ...before, sessions: before.sessions! + 1, segments: before.segments! + 1 });
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("sqlite store: the change log", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "acp-sqlite-changes-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const open = (file: string) => openSqliteStore(file, { maxIdleMs: 3_600_000 }, backend);

  it("logs nothing for a session nobody watches, and only while it is watched", async () => {
    const file = join(dir, "log.db");
    const store = await open(file);
    const raw = new Database(file);
    const logged = () => raw.prepare("SELECT count(*) FROM changes").pluck().get();
    try {
      const { sessionId } = await store.create(newSession(), T0);
      await store.update({ sessionId, messages: [message("m1")], changes: { title: "t" } }, T0);
      expect(logged()).toBe(0);
      const h = heard();
      const sub = await store.subscribe(sessionId, undefined, h.listener);
      await store.update({ sessionId, messages: [message("m2")], changes: {} }, T0);
      await h.until(1);
      expect(logged()).toBe(1);
      sub.close();
      raw.prepare("UPDATE sessions SET watched_until = 1").run();
      await store.update({ sessionId, messages: [message("m3")], changes: {} }, T0);
      expect(logged()).toBe(1);
    } finally {
      raw.close();
      store.close();
    }
  });

  it("a subscriber that missed a change (its watch lapsed meanwhile) hears `lagged`, then every change again", async () => {
    const file = join(dir, "lapse.db");
    const subscriber = await open(file);
    const writer = await open(file);
    const raw = new Database(file);
    try {
      const { sessionId } = await writer.create(newSession(), T0);
      const h = heard();
      const sub = await subscriber.subscribe(sessionId, undefined, h.listener);
      const append = (id: string) => writer.update({ sessionId, messages: [message(id)], changes: {} }, T0);
      await append("m1");
      await h.until(1);
      raw.prepare("UPDATE sessions SET watched_until = 1").run();
      await append("m2");
      raw.prepare("UPDATE sessions SET watched_until = ?").run(Date.now() + 60_000);
      await append("m3");
      await append("m4");
      await h.until(3);
      expect(summary(h.events)).toEqual([
        { type: "appended", revision: 2, messageCount: 1, ids: ["m1"], trimmed: 0 },
        { type: "lagged", revision: 4, messageCount: 3 },
        { type: "appended", revision: 5, messageCount: 4, ids: ["m4"], trimmed: 0 },
      ]);
      sub.close();
    } finally {
      raw.close();
      subscriber.close();
      writer.close();
    }
  });

  it("drops entries a minute old at the reaper's pass, never the newest", async () => {
    const file = join(dir, "prune.db");
    const store = await open(file);
    const raw = new Database(file);
    try {
      const { sessionId } = await store.create(newSession(), T0);
      const sub = await store.subscribe(sessionId, undefined, () => {});
      for (const id of ["m1", "m2", "m3"]) await store.update({ sessionId, messages: [message(id)], changes: {} }, T0);
      raw.prepare("UPDATE changes SET at = at - 120000").run();
      await store.expireDue(T0, 10);
      expect(raw.prepare("SELECT revision FROM changes").pluck().all()).toEqual([4]);
      sub.close();
    } finally {
      raw.close();
      store.close();
    }
  });
});
