import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { SessionEncoder, storedMessage } from "../../src/protocol/encode-session.js";
import { MemoryStore } from "../../src/store/memory/store.js";
import { NOT_AN_ACCESS, type SessionStore, type StoreOptions } from "../../src/store/types.js";
import { EXPORT_HEADER } from "../../src/transfer/format.js";
import { ImportFormatError, importExport, type ImportOptions } from "../../src/transfer/importer.js";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const iso = (ms: number) => new Date(ms).toISOString();
let ids = 0;
const newId = () => `00000000-0000-4000-8000-${String(++ids).padStart(12, "0")}`;

interface ExportedMessage {
  messageId: string;
  role: "user" | "assistant" | "system";
  content: string | { type: "text"; text: string }[];
  timestamp: string;
}
const msg = (messageId: string, role: ExportedMessage["role"] = "user", at = T0 - HOUR): ExportedMessage => ({
  messageId,
  role,
  content: [{ type: "text", text: `text of ${messageId}` }],
  timestamp: iso(at),
});

/** A session as session/get answers it, in its field order: created five hours before T0, read ten minutes before. */
function exported(context: ExportedMessage[], overrides: Record<string, unknown> = {}) {
  return {
    sessionId: newId(),
    cwd: "/work",
    title: "exported",
    createdAt: iso(T0 - 5 * HOUR),
    clientCapabilities: { fs: { readTextFile: true } },
    mcpServers: ["fs"],
    additionalDirectories: ["/lib"],
    messageCount: context.length,
    revision: 9,
    archived: false,
    retention: { maxIdleMs: HOUR, pinned: false },
    parentSessionId: null,
    forkedAtMessageId: null,
    lastAccessed: iso(T0 - 10 * 60_000),
    ...overrides,
    context,
  };
}

const lines = (...sessions: object[]) => [EXPORT_HEADER, ...sessions.map((session) => JSON.stringify({ session }))].join("\n") + "\n";

interface Run {
  store: SessionStore;
  skipped: string[];
  notes: string[];
  summary: Awaited<ReturnType<typeof importExport>>;
}

/** Imports `text` fed in chunks of `chunk` bytes into `store` (a fresh memory store by default), at T0. */
async function run(text: string, options: Partial<ImportOptions> & { storeOptions?: Partial<StoreOptions> } = {}, chunk = 7): Promise<Run> {
  const store = options.store ?? new MemoryStore({ maxIdleMs: HOUR, ...options.storeOptions });
  const skipped: string[] = [];
  const notes: string[] = [];
  const bytes = Buffer.from(text);
  const chunks = Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk));
  const summary = await importExport(Readable.from(chunks), {
    store,
    now: () => T0,
    maxIdleMs: HOUR,
    maxContextMessages: 10_000,
    maxContentBytes: 1 << 20,
    overdue: "touch",
    onSkipped: (line, reason) => skipped.push(`line ${line}: ${reason}`),
    onNote: (line, note) => notes.push(`line ${line}: ${note}`),
    ...options,
  });
  return { store, skipped, notes, summary };
}

/** The session as session/get would answer it now, read without an access. */
type ReadBack = Record<string, unknown> & { context: ExportedMessage[]; contextStart?: number };

async function readBack(store: SessionStore, sessionId: string) {
  const { session, messages, start } = await store.get(sessionId, {}, NOT_AN_ACCESS);
  const pieces = new SessionEncoder(HOUR).result(session, messages, start).pieces;
  const { contextStart, ...whole } = (JSON.parse(pieces.map((p) => p.toString()).join("")) as { session: ReadBack }).session;
  // A read of the whole context starts at its first message; the rest is what an export line holds.
  expect(contextStart).toBe(0);
  return whole;
}

const withoutRevision = ({ revision: _revision, ...rest }: { revision?: unknown } & Record<string, unknown>) => rest;

describe("import", () => {
  it("creates each session as session/get answered it, but for its revision, which starts again", async () => {
    const plain = exported([msg("m1"), msg("m2", "assistant"), msg("m3", "system")]);
    const archived = exported([], {
      archived: true,
      title: null,
      clientCapabilities: null,
      retention: { maxIdleMs: 7 * HOUR, pinned: true },
    });
    const { store, skipped, summary } = await run(lines(plain, archived));
    expect(skipped).toEqual([]);
    expect(summary).toEqual({ created: 2, extended: 0, unchanged: 0, leftOut: 0, skipped: 0 });
    for (const session of [plain, archived])
      expect(withoutRevision(await readBack(store, session.sessionId))).toEqual(withoutRevision(session));
    // The store's default idle age comes back as the default: it follows the store's setting afterwards.
    expect((await store.get(plain.sessionId, { limit: 0 }, NOT_AN_ACCESS)).session.retention).toEqual({ maxIdleMs: null, pinned: false });
    expect((await store.get(archived.sessionId, { limit: 0 }, NOT_AN_ACCESS)).session.retention).toEqual({
      maxIdleMs: 7 * HOUR,
      pinned: true,
    });
  });

  it("changes nothing when the same input comes again", async () => {
    const a = exported([msg("m1"), msg("m2")]);
    const text = lines(a, exported([msg("x")]));
    const first = await run(text);
    const before = await readBack(first.store, a.sessionId);
    const again = await run(text, { store: first.store });
    expect(again.summary).toEqual({ created: 0, extended: 0, unchanged: 2, leftOut: 0, skipped: 0 });
    expect(await readBack(first.store, a.sessionId)).toEqual(before);
  });

  it("gives a session the store holds the messages it lacks, by id and in order, and keeps the rest", async () => {
    const store = new MemoryStore({ maxIdleMs: HOUR });
    const held = exported([msg("a"), msg("b")]);
    await run(lines(held), { store });
    await store.update({ sessionId: held.sessionId, messages: [storedMessage(msg("own"), "own", T0)], changes: { title: "renamed" } }, T0);
    const { summary } = await run(
      lines({ ...held, title: "exported", messageCount: 4, context: [msg("a"), msg("c"), msg("b"), msg("d")] }),
      { store },
    );
    expect(summary).toMatchObject({ extended: 1, created: 0 });
    const session = await readBack(store, held.sessionId);
    expect(session.context.map((m: ExportedMessage) => m.messageId)).toEqual(["a", "b", "own", "c", "d"]);
    expect(session.title).toBe("renamed");
  });

  describe("forks", () => {
    const lineage = () => {
      const parent = exported([msg("p1"), msg("p2", "assistant"), msg("p3")]);
      const fork = exported([msg("p1"), msg("p2", "assistant"), msg("f1")], { parentSessionId: parent.sessionId, forkedAtMessageId: "p2" });
      return { parent, fork };
    };
    /** Messages the memory store holds: a shared history is held once. */
    const held = async (store: SessionStore) => (await store.footprint()).messages;

    it("shares the parent's history when the parent came earlier and still starts the same", async () => {
      const { parent, fork } = lineage();
      const { store, summary } = await run(lines(parent, fork));
      expect(summary.created).toBe(2);
      expect(withoutRevision(await readBack(store, fork.sessionId))).toEqual(withoutRevision(fork));
      expect(await held(store)).toBe(4);
      await store.remove(parent.sessionId);
      expect((await readBack(store, fork.sessionId)).context).toEqual(fork.context);
    });

    it("keeps a copy of its own, naming its parent, when the parent is not earlier in the input or differs", async () => {
      const { parent, fork } = lineage();
      const afterwards = await run(lines(fork, parent));
      expect(await held(afterwards.store)).toBe(6);
      expect(withoutRevision(await readBack(afterwards.store, fork.sessionId))).toEqual(withoutRevision(fork));

      const edited = { ...parent, context: [msg("p1"), { ...msg("p2", "assistant"), content: "another answer" }, msg("p3")] };
      const differing = await run(lines(edited, fork));
      expect(await held(differing.store)).toBe(6);
      expect(withoutRevision(await readBack(differing.store, fork.sessionId))).toEqual(withoutRevision(fork));

      const trimmed = { ...fork, messageCount: 2, context: [msg("p2", "assistant"), msg("f1")] };
      const shorter = await run(lines(parent, trimmed));
      expect((await readBack(shorter.store, fork.sessionId)).context).toEqual(trimmed.context);
      expect(shorter.skipped).toEqual([]);
    });
  });

  describe("bad lines", () => {
    it("are reported with their line number and reason, skipped, and leave no session behind", async () => {
      const good = exported([msg("g1")]);
      const badMessage = exported([msg("m1"), msg("m2"), { ...msg("m3"), role: "robot" as "user" }, msg("m4")]);
      const relative = exported([], { cwd: "relative" });
      const duplicate = exported([msg("d"), msg("d")]);
      const miscounted = exported([msg("c1")], { messageCount: 2 });
      const cut = JSON.stringify({ session: exported([msg("x1"), msg("x2")]) }).slice(0, -40);
      const text = [
        EXPORT_HEADER,
        "not json",
        JSON.stringify({ session: badMessage }),
        '{"other":1}',
        "",
        JSON.stringify({ session: relative }),
        JSON.stringify({ session: duplicate }),
        JSON.stringify({ session: miscounted }),
        cut,
        JSON.stringify({ session: good }),
      ].join("\n");
      const { store, skipped, summary } = await run(text);
      expect(skipped).toEqual([
        expect.stringMatching(/^line 2: not JSON: /),
        'line 3: session.context[2].role: Invalid option: expected one of "user"|"assistant"|"system"',
        'line 4: expected {"session": …}',
        "line 6: session.cwd: must be an absolute path",
        "line 7: session.context[1].messageId: repeats an earlier message's id",
        "line 8: session.messageCount: 2, but its context holds 1 messages",
        "line 9: cut short: its context does not end",
      ]);
      expect(summary).toEqual({ created: 1, extended: 0, unchanged: 0, leftOut: 0, skipped: 7 });
      expect((await store.list({ limit: 10, archived: "include" })).sessions.map((s) => s.sessionId)).toEqual([good.sessionId]);
    });

    it("refuses what the store's limits would refuse", async () => {
      const big = exported([{ ...msg("big"), content: "x".repeat(2000) }]);
      const long = exported([msg("1"), msg("2"), msg("3")]);
      const { skipped, summary } = await run(lines(big, long), { maxContentBytes: 1000, maxContextMessages: 2 });
      expect(skipped).toEqual([
        expect.stringMatching(/^line 2: session\.context\[0\]: \d+ bytes, more than --max-content-bytes \(1000\)$/),
        "line 3: holds 3 messages, more than --max-context-messages (2)",
      ]);
      expect(summary.created).toBe(0);
      const full = await run(lines(exported([]), exported([])), { storeOptions: { maxSessions: 1 } });
      expect(full.skipped).toEqual(["line 3: the store's maxSessions (1) would be exceeded"]);
    });

    it("a line whose context is not last is refused, one of another key order is read whole", async () => {
      const session = exported([msg("m1")]);
      const { context, ...fields } = session;
      const contextFirst = { session: { context, ...fields } };
      const trailing = JSON.stringify({ session: { ...fields, context } }).slice(0, -2) + ',"extra":1}}';
      const { skipped, summary } = await run([EXPORT_HEADER, JSON.stringify(contextFirst), trailing].join("\n"));
      expect(skipped).toEqual([
        expect.stringMatching(/^line 2: session\.sessionId: /),
        "line 3: the session's context must be its last field, as export writes it",
      ]);
      expect(summary.created).toBe(0);
      const reordered = JSON.stringify({ session: { ...fields, context } }).replace('"context"', '"cont\\u0065xt"');
      expect((await run([EXPORT_HEADER, reordered].join("\n"))).summary.created).toBe(1);
    });

    it("stop the import when the input is not an export this version reads", async () => {
      await expect(run("")).rejects.toThrow(ImportFormatError);
      await expect(run('{"session":{}}\n')).rejects.toThrow("line 1: not an acp-sessions export");
      await expect(run('\n{"format":"acp-sessions-export","version":2}\n')).rejects.toThrow(
        "line 2: export version 2; this acp-sessions reads version 1",
      );
    });
  });

  describe("sessions the reaper would expire at once", () => {
    const idle = () => exported([msg("m1")], { lastAccessed: iso(T0 - 2 * HOUR) });
    const ancient = () => exported([], { createdAt: iso(T0 - 100 * HOUR), lastAccessed: iso(T0 - 60_000) });

    it("touch (the default) sets an idle one's last access to now, and leaves out one past the lifetime cap", async () => {
      const [i, a, fresh] = [idle(), ancient(), exported([])];
      const { store, notes, summary } = await run(lines(i, a, fresh), { maxLifetimeMs: 50 * HOUR });
      expect(notes).toEqual([
        `line 2: session ${i.sessionId} was idle past its deadline (last access ${i.lastAccessed}): imported with its last access set to now`,
        `line 3: session ${a.sessionId} was created ${a.createdAt}, longer ago than --max-session-lifetime: left out (--overdue keep imports it for the next cleanup to delete)`,
      ]);
      expect(summary).toMatchObject({ created: 2, leftOut: 1, skipped: 0 });
      expect((await readBack(store, i.sessionId)).lastAccessed).toBe(iso(T0));
      expect(await store.has(a.sessionId)).toBe(false);
    });

    it("keep imports them as they are, skip leaves them out; archived and pinned ones are never idle-overdue", async () => {
      const [i, archived, pinned] = [idle(), idle(), idle()];
      Object.assign(archived, { archived: true });
      Object.assign(pinned, { retention: { maxIdleMs: HOUR, pinned: true } });
      const kept = await run(lines(i, archived, pinned), { overdue: "keep" });
      expect(kept.notes).toEqual([
        `line 2: session ${i.sessionId} was idle past its deadline (last access ${i.lastAccessed}): imported as it is, the next cleanup expires it`,
      ]);
      expect((await readBack(kept.store, i.sessionId)).lastAccessed).toBe(i.lastAccessed);
      expect((await kept.store.expireDue(T0, 10)).map((e) => e.sessionId)).toEqual([i.sessionId]);

      const skipped = await run(lines(i, archived, pinned), { overdue: "skip" });
      expect(skipped.summary).toMatchObject({ created: 2, leftOut: 1 });
      expect(await skipped.store.has(i.sessionId)).toBe(false);
    });
  });

  it("reads a session longer than a batch, in any chunking, with the same result", async () => {
    const context = Array.from({ length: 1234 }, (_, i) => msg(`m${i}`, i % 2 ? "assistant" : "user"));
    const session = exported(context);
    for (const chunk of [1 << 16, 5]) {
      const { store } = await run(lines(session), {}, chunk);
      expect(withoutRevision(await readBack(store, session.sessionId))).toEqual(withoutRevision(session));
    }
  });
});
