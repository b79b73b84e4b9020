import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_NESTING_DEPTH } from "../../src/protocol/schemas.js";
import {
  CwdMismatchError,
  InvalidCursorError,
  LimitExceededError,
  MessageNotFoundError,
  RevisionConflictError,
  SessionExistsError,
  SessionNotFoundError,
} from "../../src/store/errors.js";
import {
  DEFAULT_RETENTION,
  NOT_AN_ACCESS,
  type ContextWindow,
  type ForkRequest,
  type ChangeEvent,
  type NewSession,
  type RestoredSession,
  type Role,
  type SessionChanges,
  type SessionRecord,
  type SessionStore,
  type StoredMessage,
  type StoreOptions,
  type TruncateRequest,
} from "../../src/store/types.js";

/**
 * The one suite every backend runs unchanged. `open` gives an empty store; `second` gives another
 * handle on the same data (another process's view, for shared backends; the same object for memory).
 */
export interface StoreHarness {
  open(options: StoreOptions): Promise<SessionStore>;
  second(): Promise<SessionStore>;
  cleanup(): Promise<void>;
}

/**
 * The harness of a shared backend: every handle opens the same data with the options `open` was last
 * given (`openHandle` opens one more); all are closed at cleanup, then `after` runs.
 */
export function sharedDataHarness(
  openHandle: (options: StoreOptions) => Promise<SessionStore>,
  after: () => void = () => {},
): StoreHarness {
  const handles: SessionStore[] = [];
  let options: StoreOptions = { maxIdleMs: 3_600_000 };
  const another = async () => {
    const handle = await openHandle(options);
    handles.push(handle);
    return handle;
  };
  return {
    open: async (o) => {
      options = o;
      return another();
    },
    second: another,
    cleanup: async () => {
      await Promise.all(handles.map((h) => h.close()));
      after();
    },
  };
}

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
let ids = 0;

export function message(messageId: string, role: Role = "user", text = messageId): StoredMessage {
  return { messageId, role, json: JSON.stringify({ messageId, role, content: text, timestamp: new Date(T0).toISOString() }) };
}

export function newSession(overrides: Partial<NewSession> = {}): NewSession {
  return {
    sessionId: `00000000-0000-4000-8000-${String(++ids).padStart(12, "0")}`,
    cwd: "/work",
    title: null,
    clientCapabilities: { fs: { readTextFile: true } },
    mcpServers: [],
    additionalDirectories: [],
    retention: DEFAULT_RETENTION,
    ...overrides,
  };
}

const texts = (messages: Buffer[]) => messages.map((m) => JSON.parse(m.toString()).messageId as string);

export function storeContract(name: string, makeHarness: () => StoreHarness): void {
  changeStreamContract(name, makeHarness);
  describe(`SessionStore contract: ${name}`, () => {
    let harness: StoreHarness;
    const open = async (options: Partial<StoreOptions> = {}) => {
      harness = makeHarness();
      return harness.open({ maxIdleMs: HOUR, ...options });
    };
    afterEach(async () => {
      await harness?.cleanup();
    });

    const append = async (store: SessionStore, sessionId: string, idsToAdd: string[], now = T0) =>
      store.update({ sessionId, messages: idsToAdd.map((id) => message(id)), changes: {} }, now);

    it("creates a session and reads it back", async () => {
      const store = await open();
      const input = newSession({ title: "t", mcpServers: ["fs"], additionalDirectories: ["/lib"] });
      const created = await store.create(input, T0);
      expect(created).toMatchObject({ sessionId: input.sessionId, cwd: "/work", title: "t", createdAt: T0, lastAccessed: T0 });
      const { session, messages } = await store.get(input.sessionId, {}, T0 + 5);
      expect(session).toMatchObject({
        mcpServers: ["fs"],
        additionalDirectories: ["/lib"],
        clientCapabilities: { fs: { readTextFile: true } },
        messageCount: 0,
        revision: 1,
        archived: false,
        retention: DEFAULT_RETENTION,
        parentSessionId: null,
        forkedAtMessageId: null,
        lastAccessed: T0 + 5,
      });
      expect(messages).toEqual([]);
      expect(await store.has(input.sessionId)).toBe(true);
    });

    it("throws SessionNotFoundError for unknown sessions", async () => {
      const store = await open();
      await expect(async () => store.get("nope", {}, T0)).rejects.toBeInstanceOf(SessionNotFoundError);
      await expect(async () => append(store, "nope", ["a"])).rejects.toBeInstanceOf(SessionNotFoundError);
      await expect(async () => store.touch("nope", {}, T0)).rejects.toBeInstanceOf(SessionNotFoundError);
      await expect(async () => store.setArchived("nope", true, T0)).rejects.toBeInstanceOf(SessionNotFoundError);
      expect(await store.has("nope")).toBe(false);
      expect(await store.remove("nope")).toBe(false);
      expect(await store.readMessages("nope", 0, 10)).toEqual([]);
    });

    it("appends in order, returns stored bytes, and reads windows", async () => {
      const store = await open();
      const { sessionId } = await store.create(newSession(), T0);
      const result = await append(store, sessionId, ["m1", "m2", "m3"]);
      expect(result).toMatchObject({ appended: 3, trimmed: 0, session: { messageCount: 3, revision: 2 } });
      await append(store, sessionId, ["m4", "m5"]);
      const all = await store.get(sessionId, {}, T0);
      expect(texts(all.messages)).toEqual(["m1", "m2", "m3", "m4", "m5"]);
      expect(all.messages[0]!.equals(Buffer.from(message("m1").json))).toBe(true);
      expect(texts((await store.get(sessionId, { offset: 1, limit: 2 }, T0)).messages)).toEqual(["m2", "m3"]);
      expect(texts((await store.get(sessionId, { offset: 4 }, T0)).messages)).toEqual(["m5"]);
      expect(texts((await store.get(sessionId, { offset: 9 }, T0)).messages)).toEqual([]);
      expect(texts((await store.get(sessionId, { limit: 0 }, T0)).messages)).toEqual([]);
      expect(texts((await store.get(sessionId, { afterMessageId: "m2", limit: 2 }, T0)).messages)).toEqual(["m3", "m4"]);
      expect(texts((await store.get(sessionId, { afterMessageId: "m5" }, T0)).messages)).toEqual([]);
      await expect(async () => store.get(sessionId, { afterMessageId: "zz" }, T0)).rejects.toBeInstanceOf(MessageNotFoundError);
      expect(texts(await store.readMessages(sessionId, 3, 10))).toEqual(["m4", "m5"]);
    });

    it("never appends a message id twice: retries are safe", async () => {
      const store = await open();
      const { sessionId } = await store.create(newSession(), T0);
      await append(store, sessionId, ["a", "b"]);
      const retry = await append(store, sessionId, ["a", "b"]);
      expect(retry).toMatchObject({ appended: 0, session: { messageCount: 2, revision: 2 } });
      const partial = await append(store, sessionId, ["b", "c"]);
      expect(partial).toMatchObject({ appended: 1, session: { messageCount: 3, revision: 3 } });
      // One message at a time, as an agent streams them: the latest again, then an older one.
      expect(await append(store, sessionId, ["c"])).toMatchObject({ appended: 0, session: { messageCount: 3, revision: 3 } });
      expect(await append(store, sessionId, ["d"])).toMatchObject({ appended: 1, session: { messageCount: 4, revision: 4 } });
      expect(await append(store, sessionId, ["a"])).toMatchObject({ appended: 0, session: { messageCount: 4, revision: 4 } });
      expect(texts((await store.get(sessionId, {}, T0)).messages)).toEqual(["a", "b", "c", "d"]);
    });

    it("requests started together apply in order: appends to two sessions, a retry, a read, a change between them", async () => {
      const store = await open();
      const a = (await store.create(newSession(), T0)).sessionId;
      const b = (await store.create(newSession(), T0)).sessionId;
      const one = (sessionId: string, id: string, changes: SessionChanges = {}) =>
        store.update({ sessionId, messages: [message(id)], changes }, T0 + 1);
      // Not awaited one by one: a remote store may run them as one batch.
      const [a1, b1, a2, again, read, a3, a4, b2, a5] = await Promise.all([
        one(a, "a1"),
        one(b, "b1"),
        one(a, "a2"),
        one(a, "a1"),
        store.get(a, {}, T0 + 1),
        one(a, "a3", { title: "t" }),
        one(a, "a4"),
        one(b, "b2"),
        one(a, "a5"),
      ]);
      expect([a1, a2, again, a3, a4, a5].map((r) => [r.appended, r.session.revision, r.session.messageCount])).toEqual([
        [1, 2, 1],
        [1, 3, 2],
        [0, 3, 2],
        [1, 4, 3],
        [1, 5, 4],
        [1, 6, 5],
      ]);
      expect([b1, b2].map((r) => [r.appended, r.session.revision, r.session.messageCount])).toEqual([
        [1, 2, 1],
        [1, 3, 2],
      ]);
      expect(texts(read.messages)).toEqual(["a1", "a2"]);
      expect(read.session).toMatchObject({ revision: 3, messageCount: 2, title: null });
      expect(a4.session.title).toBe("t");
      const final = await store.get(a, {}, T0 + 2);
      expect(final.session).toMatchObject({ revision: 6, messageCount: 5, title: "t" });
      expect(texts(final.messages)).toEqual(["a1", "a2", "a3", "a4", "a5"]);
      expect(texts((await store.get(b, {}, T0 + 2)).messages)).toEqual(["b1", "b2"]);
    });

    it("bumps the revision only for real changes", async () => {
      const store = await open();
      const { sessionId } = await store.create(newSession({ title: "x", mcpServers: ["a"] }), T0);
      const same = await store.update(
        { sessionId, messages: [], changes: { title: "x", mcpServers: ["a"], clientCapabilities: { fs: { readTextFile: true } } } },
        T0,
      );
      expect(same.session.revision).toBe(1);
      const changed = await store.update({ sessionId, messages: [], changes: { title: "y" } }, T0);
      expect(changed.session).toMatchObject({ revision: 2, title: "y" });
      const cleared = await store.update({ sessionId, messages: [], changes: { title: null, mcpServers: [] } }, T0);
      expect(cleared.session).toMatchObject({ revision: 3, title: null, mcpServers: [] });
      const caps = await store.update({ sessionId, messages: [], changes: { clientCapabilities: { terminal: true } } }, T0);
      expect(caps.session).toMatchObject({ revision: 4, clientCapabilities: { terminal: true } });
    });

    it("refuses a stale expectedRevision and changes nothing, but lets a no-op retry through", async () => {
      const store = await open();
      const { sessionId } = await store.create(newSession(), T0);
      await store.update({ sessionId, messages: [message("a")], changes: {}, expectedRevision: 1 }, T0);
      const err = await Promise.resolve()
        .then(() => store.update({ sessionId, messages: [message("b")], changes: { title: "t" }, expectedRevision: 1 }, T0))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RevisionConflictError);
      expect(err).toMatchObject({ sessionId, expectedRevision: 1, revision: 2 });
      const after = await store.get(sessionId, {}, T0);
      expect(after.session).toMatchObject({ revision: 2, title: null, messageCount: 1 });
      const retry = await store.update({ sessionId, messages: [message("a")], changes: {}, expectedRevision: 1 }, T0);
      expect(retry).toMatchObject({ appended: 0, session: { revision: 2 } });
    });

    it("two writers racing on one expectedRevision: exactly one wins", async () => {
      const store = await open();
      const other = await harness.second();
      const { sessionId } = await store.create(newSession(), T0);
      const results = await Promise.allSettled([
        Promise.resolve().then(() => store.update({ sessionId, messages: [message("x")], changes: {}, expectedRevision: 1 }, T0)),
        Promise.resolve().then(() => other.update({ sessionId, messages: [message("y")], changes: {}, expectedRevision: 1 }, T0)),
      ]);
      const ok = results.filter((r) => r.status === "fulfilled");
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
      expect(ok).toHaveLength(1);
      expect(failed).toHaveLength(1);
      expect(failed[0]!.reason).toBeInstanceOf(RevisionConflictError);
      expect((await store.get(sessionId, {}, T0)).session).toMatchObject({ messageCount: 1, revision: 2 });
    });

    it("keeps any text and size as given: empty, NUL, non-ASCII, a 200 KB message, 2,500 messages in one update", async () => {
      const store = await open();
      const odd = ["", "\u0000", "é—🙂", "x".repeat(200_000)];
      const { sessionId } = await store.create(newSession({ title: "é\u0000🙂", cwd: "/wörk" }), T0);
      const messages = odd.map((text, i) => message(`odd-${i}`, "user", text));
      for (let i = 0; i < 2500; i++) messages.push(message(`bulk-${i}`, i % 2 ? "assistant" : "user"));
      await store.update({ sessionId, messages, changes: { additionalDirectories: ["", "/ü"] } }, T0);
      const read = await store.get(sessionId, { limit: 5 }, T0);
      expect(read.session).toMatchObject({ title: "é\u0000🙂", cwd: "/wörk", additionalDirectories: ["", "/ü"], messageCount: 2504 });
      expect(read.messages.map((m) => JSON.parse(m.toString()).content)).toEqual([...odd, "bulk-0"]);
      expect(read.messages.map((m) => m.toString())).toEqual(messages.slice(0, 5).map((m) => m.json.toString()));
      const tail = await store.get(sessionId, { afterMessageId: "bulk-2497" }, T0);
      expect(texts(tail.messages)).toEqual(["bulk-2498", "bulk-2499"]);
    });

    it("keeps capabilities and message JSON exactly: lone surrogates, nesting to the protocol's limit", async () => {
      const store = await open();
      const other = await harness.second();
      const nest = (levels: number, leaf: unknown): unknown => (levels === 0 ? leaf : { k: nest(levels - 1, leaf) });
      const clientCapabilities = { "k\ud83d": "\udc00", deep: nest(MAX_NESTING_DEPTH - 1, "\udbff") };
      const { sessionId } = await store.create(newSession({ clientCapabilities }), T0);
      const content = [{ type: "text", text: "a\ud83d", extra: nest(MAX_NESTING_DEPTH - 1, "\udfff") }];
      const deep: StoredMessage = { messageId: "deep", role: "user", json: JSON.stringify({ messageId: "deep", role: "user", content }) };
      const messages = [message("lone", "user", "\ud83d\ud83d \udc00"), deep];
      const changed = { "\ud800": nest(MAX_NESTING_DEPTH - 1, 1) };
      await store.update({ sessionId, messages, changes: { clientCapabilities: changed } }, T0);
      for (const reader of [store, other]) {
        const read = await reader.get(sessionId, {}, T0);
        expect(read.session.clientCapabilities).toEqual(changed);
        expect(read.messages.map((m) => m.toString())).toEqual(messages.map((m) => m.json.toString()));
      }
      const { sessionId: untouched } = await other.create(newSession({ clientCapabilities }), T0);
      expect((await store.get(untouched, {}, T0)).session.clientCapabilities).toEqual(clientCapabilities);
    });

    it("a second handle sees writes at once", async () => {
      const store = await open();
      const other = await harness.second();
      const { sessionId } = await store.create(newSession(), T0);
      await append(other, sessionId, ["from-other"]);
      expect(texts((await store.get(sessionId, {}, T0)).messages)).toEqual(["from-other"]);
      expect((await other.list({ limit: 10 })).sessions.map((s) => s.sessionId)).toContain(sessionId);
    });

    it("a handle that read a session reads every later change made through another, and none made by a failed request", async () => {
      const store = await open();
      const other = await harness.second();
      const { sessionId } = await store.create(newSession({ title: "first" }), T0);
      await append(store, sessionId, ["a", "b"]);
      const window = { offset: 1 };
      // Read twice, so that whatever a handle keeps of a read is in use.
      await store.get(sessionId, window, T0);
      expect(texts((await store.get(sessionId, window, T0)).messages)).toEqual(["b"]);

      await append(other, sessionId, ["c"]);
      expect(texts((await store.get(sessionId, window, T0)).messages)).toEqual(["b", "c"]);
      await other.update({ sessionId, messages: [], changes: { title: "second" } }, T0);
      expect((await store.get(sessionId, window, T0)).session).toMatchObject({ title: "second", revision: 4, messageCount: 3 });
      await other.setArchived(sessionId, true, T0);
      expect((await store.get(sessionId, window, T0)).session).toMatchObject({ archived: true, revision: 5 });

      const failed = () => store.update({ sessionId, messages: [message("d")], changes: { title: "lost" }, expectedRevision: 1 }, T0);
      await expect(Promise.resolve().then(failed)).rejects.toBeInstanceOf(RevisionConflictError);
      const read = await store.get(sessionId, window, T0);
      expect(read.session).toMatchObject({ title: "second", revision: 5, messageCount: 3 });
      expect(texts(read.messages)).toEqual(["b", "c"]);

      // Gone and created again under the same id, in the same millisecond: a new session.
      await other.remove(sessionId);
      await expect(Promise.resolve().then(() => store.get(sessionId, window, T0))).rejects.toBeInstanceOf(SessionNotFoundError);
      await other.create(newSession({ sessionId, title: "again" }), T0);
      await append(other, sessionId, ["x", "y"]);
      const again = await store.get(sessionId, window, T0);
      expect(again.session).toMatchObject({ title: "again", archived: false, messageCount: 2 });
      expect(texts(again.messages)).toEqual(["y"]);
    });

    it("touch sets attach fields, counts as an access, and checks cwd", async () => {
      const store = await open();
      const { sessionId } = await store.create(newSession({ mcpServers: ["a"] }), T0);
      const touched = await store.touch(sessionId, { mcpServers: ["b"], additionalDirectories: ["/x"] }, T0 + 10, "/work");
      expect(touched).toMatchObject({ mcpServers: ["b"], additionalDirectories: ["/x"], lastAccessed: T0 + 10, revision: 2 });
      const again = await store.touch(sessionId, {}, T0 + 20);
      expect(again).toMatchObject({ revision: 2, lastAccessed: T0 + 20 });
      await expect(async () => store.touch(sessionId, { mcpServers: ["c"] }, T0 + 30, "/elsewhere")).rejects.toBeInstanceOf(
        CwdMismatchError,
      );
      expect((await store.get(sessionId, {}, T0 + 40)).session).toMatchObject({ mcpServers: ["b"], revision: 2 });
    });

    it("remove deletes the session and its messages", async () => {
      const store = await open();
      const { sessionId } = await store.create(newSession(), T0);
      await append(store, sessionId, ["a"]);
      expect(await store.remove(sessionId)).toBe(true);
      expect(await store.remove(sessionId)).toBe(false);
      expect(await store.has(sessionId)).toBe(false);
      expect(await store.readMessages(sessionId, 0, 10)).toEqual([]);
      await expect(async () => store.get(sessionId, {}, T0)).rejects.toBeInstanceOf(SessionNotFoundError);
    });

    it("lists newest first, pages with a cursor, filters by cwd, and is not an access", async () => {
      const store = await open();
      const created: string[] = [];
      for (let i = 0; i < 7; i++) created.push((await store.create(newSession({ cwd: i % 2 ? "/odd" : "/even" }), T0 + i)).sessionId);
      const first = await store.list({ limit: 3 });
      expect(first.sessions.map((s) => s.sessionId)).toEqual(created.slice(4).reverse());
      expect(first.nextCursor).toBeTypeOf("string");
      const rest = await store.list({ limit: 10, cursor: first.nextCursor });
      expect(rest.sessions.map((s) => s.sessionId)).toEqual(created.slice(0, 4).reverse());
      expect(rest.nextCursor).toBeUndefined();
      const odd = await store.list({ limit: 10, cwd: "/odd" });
      expect(odd.sessions.map((s) => s.cwd)).toEqual(["/odd", "/odd", "/odd"]);
      expect((await store.get(created[0]!, {}, T0 + 100)).session.lastAccessed).toBe(T0 + 100);
      expect((await store.list({ limit: 10 })).sessions.find((s) => s.sessionId === created[1])!.lastAccessed).toBe(T0 + 1);
      await expect(async () => store.list({ limit: 1, cursor: "garbage!" })).rejects.toBeInstanceOf(InvalidCursorError);
    });

    it("paging while sessions come and go returns every surviving session exactly once", async () => {
      const store = await open();
      const survivors: string[] = [];
      const doomed: string[] = [];
      for (let i = 0; i < 30; i++) {
        const { sessionId } = await store.create(newSession(), T0 + i);
        (i % 3 === 0 ? doomed : survivors).push(sessionId);
      }
      const seen: string[] = [];
      let cursor: string | undefined;
      let page = 0;
      do {
        const result = await store.list({ limit: 4, cursor });
        seen.push(...result.sessions.map((s) => s.sessionId));
        cursor = result.nextCursor;
        // Churn between pages: remove a doomed session, add a new one.
        if (doomed[page]) await store.remove(doomed[page]!);
        await store.create(newSession(), T0 + 100 + page);
        page++;
      } while (cursor);
      for (const id of survivors) expect(seen.filter((s) => s === id)).toHaveLength(1);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it("expires idle sessions at their deadline, never before, each once", async () => {
      const store = await open({ maxIdleMs: 1000 });
      const a = (await store.create(newSession(), T0)).sessionId;
      const b = (await store.create(newSession(), T0 + 500)).sessionId;
      expect(await store.expireDue(T0 + 999, 100)).toEqual([]);
      const due = await store.expireDue(T0 + 1000, 100);
      expect(due).toEqual([{ sessionId: a, createdAt: T0, lastAccessed: T0, expiredAt: T0 + 1000, messageCount: 0, action: "delete" }]);
      expect(await store.expireDue(T0 + 1000, 100)).toEqual([]);
      await store.get(b, {}, T0 + 1200);
      expect(await store.expireDue(T0 + 2100, 100)).toEqual([]);
      expect((await store.expireDue(T0 + 2200, 100)).map((e) => e.sessionId)).toEqual([b]);
      expect(await store.has(a)).toBe(false);
    });

    it("reports the expired session's message count", async () => {
      const store = await open({ maxIdleMs: 10, maxLifetimeMs: 1000 });
      const idle = (await store.create(newSession(), T0)).sessionId;
      await append(store, idle, ["a", "b"], T0);
      const old = (await store.create(newSession({ retention: { maxIdleMs: null, pinned: true } }), T0)).sessionId;
      await append(store, old, ["c"], T0);
      const due = await store.expireDue(T0 + 1000, 10);
      expect(due.map((e) => [e.sessionId, e.messageCount]).sort()).toEqual(
        [
          [idle, 2],
          [old, 1],
        ].sort(),
      );
    });

    it("expires in batches of at most `limit`", async () => {
      const store = await open({ maxIdleMs: 10 });
      for (let i = 0; i < 5; i++) await store.create(newSession(), T0);
      expect(await store.expireDue(T0 + 10, 2)).toHaveLength(2);
      expect(await store.expireDue(T0 + 10, 2)).toHaveLength(2);
      expect(await store.expireDue(T0 + 10, 2)).toHaveLength(1);
    });

    it("two handles reaping the same store expire each session exactly once", async () => {
      const store = await open({ maxIdleMs: 10 });
      const other = await harness.second();
      const created = new Set<string>();
      for (let i = 0; i < 20; i++) created.add((await store.create(newSession(), T0)).sessionId);
      const [x, y] = await Promise.all([
        Promise.resolve().then(() => store.expireDue(T0 + 10, 7)),
        Promise.resolve().then(() => other.expireDue(T0 + 10, 7)),
      ]);
      const rest = [...(await store.expireDue(T0 + 10, 100)), ...(await other.expireDue(T0 + 10, 100))];
      const all = [...x, ...y, ...rest].map((e) => e.sessionId);
      expect(all.sort()).toEqual([...created].sort());
    });

    it("retention: a per-session idle age, pinning, and back to the defaults", async () => {
      const store = await open({ maxIdleMs: 1000 });
      const short = (await store.create(newSession({ retention: { maxIdleMs: 100, pinned: false } }), T0)).sessionId;
      const pinned = (await store.create(newSession({ retention: { maxIdleMs: null, pinned: true } }), T0)).sessionId;
      const plain = (await store.create(newSession(), T0)).sessionId;
      expect((await store.expireDue(T0 + 100, 10)).map((e) => e.sessionId)).toEqual([short]);
      expect((await store.expireDue(T0 + 5000, 10)).map((e) => e.sessionId)).toEqual([plain]);
      expect(await store.has(pinned)).toBe(true);
      const unpinned = await store.update({ sessionId: pinned, messages: [], changes: { retention: null } }, T0 + 6000);
      expect(unpinned.session).toMatchObject({ retention: DEFAULT_RETENTION, revision: 2 });
      expect(await store.expireDue(T0 + 6999, 10)).toEqual([]);
      expect((await store.expireDue(T0 + 7000, 10)).map((e) => e.sessionId)).toEqual([pinned]);
    });

    it("archive: kept whole, listed only on request, never idle-expired; unarchive is an access", async () => {
      const store = await open({ maxIdleMs: 1000 });
      const { sessionId } = await store.create(newSession(), T0);
      const live = (await store.create(newSession(), T0)).sessionId;
      await append(store, sessionId, ["a"]);
      const archived = await store.setArchived(sessionId, true, T0 + 10);
      expect(archived).toMatchObject({ archived: true, revision: 3, lastAccessed: T0 });
      expect((await store.list({ limit: 10 })).sessions.map((s) => s.sessionId)).toEqual([live]);
      expect((await store.list({ limit: 10, archived: "only" })).sessions.map((s) => s.sessionId)).toEqual([sessionId]);
      expect((await store.list({ limit: 10, archived: "include" })).sessions).toHaveLength(2);
      expect((await store.expireDue(T0 + 50_000, 10)).map((e) => e.sessionId)).toEqual([live]);
      const back = await store.setArchived(sessionId, false, T0 + 60_000);
      expect(back).toMatchObject({ archived: false, lastAccessed: T0 + 60_000, messageCount: 1 });
      expect(await store.expireDue(T0 + 60_999, 10)).toEqual([]);
      expect((await store.expireDue(T0 + 61_000, 10)).map((e) => e.sessionId)).toEqual([sessionId]);
    });

    it("a session created again under its old id, in the same millisecond, is a new session to every handle", async () => {
      const store = await open();
      const other = await harness.second();
      const sessionId = newSession().sessionId;
      await store.create(newSession({ sessionId, title: "same" }), T0);
      await append(store, sessionId, ["a", "b"]);
      // Read twice, so that whatever a handle keeps of a read is in use; the next incarnation will have
      // the same title, revision and message count.
      await other.get(sessionId, {}, T0);
      expect(texts((await other.get(sessionId, {}, T0)).messages)).toEqual(["a", "b"]);
      await store.remove(sessionId);
      await store.create(newSession({ sessionId, title: "same" }), T0);
      await append(store, sessionId, ["c", "d"]);
      const read = await other.get(sessionId, {}, T0);
      expect(read.session).toMatchObject({ revision: 2, messageCount: 2 });
      expect(texts(read.messages)).toEqual(["c", "d"]);
    });

    it("a policy change or an unarchive in the millisecond of the last access still sets the idle deadline", async () => {
      const store = await open({ maxIdleMs: 1000 });
      const shortened = (await store.create(newSession(), T0)).sessionId;
      const unarchived = (await store.create(newSession(), T0)).sessionId;
      await store.get(shortened, {}, T0);
      await store.touch(shortened, { retention: { maxIdleMs: 100, pinned: false } }, T0);
      await store.setArchived(unarchived, true, T0);
      await store.setArchived(unarchived, false, T0);
      expect((await store.expireDue(T0 + 100, 10)).map((e) => e.sessionId)).toEqual([shortened]);
      expect(await store.expireDue(T0 + 999, 10)).toEqual([]);
      expect((await store.expireDue(T0 + 1000, 10)).map((e) => e.sessionId)).toEqual([unarchived]);
    });

    it("onExpire archive archives instead of deleting", async () => {
      const store = await open({ maxIdleMs: 100, onExpire: "archive" });
      const { sessionId } = await store.create(newSession(), T0);
      await append(store, sessionId, ["a"]);
      const due = await store.expireDue(T0 + 100, 10);
      expect(due).toMatchObject([{ sessionId, action: "archive", messageCount: 1 }]);
      expect((await store.get(sessionId, {}, T0 + 200)).session.archived).toBe(true);
      expect(await store.expireDue(T0 + 100_000, 10)).toEqual([]);
    });

    it("maxLifetimeMs deletes old sessions whatever their activity or archive state", async () => {
      const store = await open({ maxIdleMs: 1000, maxLifetimeMs: 5000 });
      const a = (await store.create(newSession({ retention: { maxIdleMs: null, pinned: true } }), T0)).sessionId;
      const b = (await store.create(newSession(), T0 + 1)).sessionId;
      await store.setArchived(b, true, T0 + 1);
      const young = (await store.create(newSession(), T0 + 4000)).sessionId;
      await store.get(young, {}, T0 + 4999);
      const due = await store.expireDue(T0 + 5001, 10);
      expect(due.map((e) => [e.sessionId, e.action])).toEqual([
        [a, "delete"],
        [b, "delete"],
      ]);
      expect(await store.has(young)).toBe(true);
    });

    it("forks share history without changing either side", async () => {
      const store = await open();
      const parent = (await store.create(newSession({ title: "p" }), T0)).sessionId;
      await append(store, parent, ["a", "b", "c"]);
      const fork = await store.fork(
        { parentSessionId: parent, sessionId: newSession().sessionId, cwd: "/fork", mcpServers: ["m"], title: undefined, atMessageId: "b" },
        T0 + 5,
      );
      expect(fork).toMatchObject({
        cwd: "/fork",
        mcpServers: ["m"],
        title: "p",
        parentSessionId: parent,
        forkedAtMessageId: "b",
        messageCount: 2,
        revision: 1,
      });
      expect(fork.clientCapabilities).toEqual({ fs: { readTextFile: true } });
      expect((await store.list({ limit: 10 })).sessions.find((s) => s.sessionId === parent)!.lastAccessed).toBe(T0 + 5);
      await append(store, fork.sessionId, ["f1"]);
      await append(store, parent, ["d"]);
      expect(texts((await store.get(fork.sessionId, {}, T0)).messages)).toEqual(["a", "b", "f1"]);
      expect(texts((await store.get(parent, {}, T0)).messages)).toEqual(["a", "b", "c", "d"]);
      // "c" follows the fork point in the parent, where the fork has "f1": new to the fork, one at a time too.
      expect(await append(store, fork.sessionId, ["c"])).toMatchObject({ appended: 1, session: { messageCount: 4 } });
      // "d" is not in the fork either, so appending it there is new; "a" is, so it is a retry.
      expect((await append(store, fork.sessionId, ["a", "d"])).appended).toBe(1);
      // One message at a time too: the fork's inherited "b" is a retry there.
      expect(await append(store, fork.sessionId, ["b"])).toMatchObject({ appended: 0, session: { messageCount: 5 } });
      const whole = await store.fork(
        { parentSessionId: parent, sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: "own" },
        T0,
      );
      expect(whole).toMatchObject({ forkedAtMessageId: "d", messageCount: 4, title: "own" });
      await expect(async () =>
        store.fork(
          { parentSessionId: parent, sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: undefined, atMessageId: "f1" },
          T0,
        ),
      ).rejects.toBeInstanceOf(MessageNotFoundError);
      await expect(async () =>
        store.fork({ parentSessionId: "nope", sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: undefined }, T0),
      ).rejects.toBeInstanceOf(SessionNotFoundError);
      const empty = (await store.create(newSession(), T0)).sessionId;
      const ofEmpty = await store.fork(
        { parentSessionId: empty, sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: undefined },
        T0,
      );
      expect(ofEmpty).toMatchObject({ forkedAtMessageId: null, messageCount: 0 });
    });

    it("a fork outlives its parent, and forks of forks read windows correctly", async () => {
      const store = await open();
      const root = (await store.create(newSession(), T0)).sessionId;
      await append(store, root, ["r1", "r2", "r3"]);
      let current = root;
      const expected = ["r1", "r2", "r3"];
      for (let depth = 0; depth < 6; depth++) {
        const fork = await store.fork(
          { parentSessionId: current, sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: undefined },
          T0,
        );
        await append(store, fork.sessionId, [`d${depth}`]);
        expected.push(`d${depth}`);
        current = fork.sessionId;
      }
      await store.remove(root);
      const deep = await store.get(current, {}, T0);
      expect(texts(deep.messages)).toEqual(expected);
      expect(deep.session.messageCount).toBe(expected.length);
      expect(texts((await store.get(current, { offset: 2, limit: 3 }, T0)).messages)).toEqual(expected.slice(2, 5));
      expect(texts((await store.get(current, { afterMessageId: "r3", limit: 2 }, T0)).messages)).toEqual(["d0", "d1"]);
      expect(texts(await store.readMessages(current, 7, 5))).toEqual(expected.slice(7));
    });

    it("limits: maxSessions and maxContextMessages refuse and change nothing", async () => {
      const store = await open({ maxSessions: 2, maxContextMessages: 3 });
      const a = (await store.create(newSession(), T0)).sessionId;
      await store.create(newSession(), T0);
      await expect(async () => store.create(newSession(), T0)).rejects.toBeInstanceOf(LimitExceededError);
      await expect(async () =>
        store.fork({ parentSessionId: a, sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: undefined }, T0),
      ).rejects.toMatchObject({
        limit: "maxSessions",
        value: 2,
      });
      await append(store, a, ["1", "2"]);
      await expect(async () =>
        store.update({ sessionId: a, messages: [message("3"), message("4")], changes: { title: "no" } }, T0),
      ).rejects.toMatchObject({
        limit: "maxContextMessages",
        value: 3,
      });
      expect((await store.get(a, {}, T0)).session).toMatchObject({ messageCount: 2, title: null, revision: 2 });
      expect((await append(store, a, ["3"])).session.messageCount).toBe(3);
    });

    it("onContextFull trim drops the oldest whole turns", async () => {
      const store = await open({ maxContextMessages: 5, onContextFull: "trim" });
      const { sessionId } = await store.create(newSession(), T0);
      const turn = (n: number) => [message(`u${n}`, "user"), message(`a${n}`, "assistant")];
      await store.update({ sessionId, messages: [message("s", "system"), ...turn(1), ...turn(2)], changes: {} }, T0);
      const result = await store.update({ sessionId, messages: turn(3), changes: {} }, T0);
      // s + u1 + a1 form the first turn and go together.
      expect(result).toMatchObject({ appended: 2, trimmed: 3, session: { messageCount: 4 } });
      expect(texts((await store.get(sessionId, {}, T0)).messages)).toEqual(["u2", "a2", "u3", "a3"]);
      const tooBig = [message("u9", "user"), ...["x1", "x2", "x3", "x4", "x5"].map((id) => message(id, "assistant"))];
      await expect(async () => store.update({ sessionId, messages: tooBig, changes: {} }, T0)).rejects.toBeInstanceOf(LimitExceededError);
      expect((await store.get(sessionId, {}, T0)).session.messageCount).toBe(4);
    });

    it("a message trimmed away is new again, also where a fork still reads it", async () => {
      const store = await open({ maxContextMessages: 3, onContextFull: "trim" });
      const { sessionId } = await store.create(newSession(), T0);
      await store.update({ sessionId, messages: [message("u1", "user"), message("a1", "assistant")], changes: {} }, T0);
      // The fork keeps the trimmed messages' segment (and their ids) alive.
      const fork = await store.fork(
        { parentSessionId: sessionId, sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: undefined },
        T0,
      );
      const trimmed = await store.update({ sessionId, messages: [message("u2", "user"), message("a2", "assistant")], changes: {} }, T0);
      expect(trimmed).toMatchObject({ appended: 2, trimmed: 2, session: { messageCount: 2 } });
      expect(texts((await store.get(fork.sessionId, {}, T0)).messages)).toEqual(["u1", "a1"]);
      // Gone from the session, though the fork's copy of its ids still names them: no window or fork starts there.
      await expect(async () => store.get(sessionId, { afterMessageId: "a1" }, T0)).rejects.toBeInstanceOf(MessageNotFoundError);
      const at = {
        parentSessionId: sessionId,
        sessionId: newSession().sessionId,
        cwd: "/w",
        mcpServers: [],
        title: undefined,
        atMessageId: "a1",
      };
      await expect(async () => store.fork(at, T0)).rejects.toBeInstanceOf(MessageNotFoundError);
      // One message at a time, as an agent resends it.
      expect(await append(store, sessionId, ["u1"])).toMatchObject({ appended: 1, session: { messageCount: 3 } });
      expect(texts((await store.get(sessionId, {}, T0)).messages)).toEqual(["u2", "a2", "u1"]);
    });

    describe("truncate", () => {
      const read = async (store: SessionStore, sessionId: string) => texts((await store.get(sessionId, {}, T0)).messages);
      const forkOf = (store: SessionStore, parentSessionId: string, atMessageId?: string) =>
        store.fork({ parentSessionId, sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: undefined, atMessageId }, T0);
      const truncate = (store: SessionStore, request: TruncateRequest, now = T0) =>
        Promise.resolve().then(() => store.truncate(request, now));

      it("keeps through afterMessageId, drops from fromMessageId, or drops all; counts what it drops; moves the revision once", async () => {
        const store = await open();
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ["a", "b", "c", "d", "e"]);
        const after = await truncate(store, { sessionId, afterMessageId: "c" }, T0 + 1);
        expect(after).toMatchObject({ removed: 2, session: { messageCount: 3, revision: 3, lastAccessed: T0 + 1 } });
        expect(await read(store, sessionId)).toEqual(["a", "b", "c"]);
        expect(await truncate(store, { sessionId, fromMessageId: "b" })).toMatchObject({
          removed: 2,
          session: { messageCount: 1, revision: 4 },
        });
        expect(texts(await store.readMessages(sessionId, 0, 10))).toEqual(["a"]);
        // Naming the last message drops nothing and changes nothing, but is still an access.
        const none = await truncate(store, { sessionId, afterMessageId: "a" }, T0 + 2);
        expect(none).toMatchObject({ removed: 0, session: { messageCount: 1, revision: 4, lastAccessed: T0 + 2 } });
        expect(await truncate(store, { sessionId, afterMessageId: null })).toMatchObject({
          removed: 1,
          session: { messageCount: 0, revision: 5 },
        });
        expect(await truncate(store, { sessionId, afterMessageId: null })).toMatchObject({
          removed: 0,
          session: { messageCount: 0, revision: 5 },
        });
        expect(await read(store, sessionId)).toEqual([]);
        await append(store, sessionId, ["f"]);
        expect((await store.get(sessionId, {}, T0)).session).toMatchObject({ messageCount: 1, revision: 6 });
        expect(await read(store, sessionId)).toEqual(["f"]);
      });

      it("applies a dropping truncate only at expectedRevision, and checks nothing when nothing would go", async () => {
        const store = await open();
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ["a", "b", "c"]);
        expect(await truncate(store, { sessionId, afterMessageId: "c", expectedRevision: 1 })).toMatchObject({ removed: 0 });
        const err = await truncate(store, { sessionId, fromMessageId: "b", expectedRevision: 1 }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RevisionConflictError);
        expect(err).toMatchObject({ sessionId, expectedRevision: 1, revision: 2 });
        expect((await store.get(sessionId, {}, T0)).session).toMatchObject({ messageCount: 3, revision: 2 });
        expect(await read(store, sessionId)).toEqual(["a", "b", "c"]);
        const applied = await truncate(store, { sessionId, fromMessageId: "b", expectedRevision: 2 });
        expect(applied).toMatchObject({ removed: 2, session: { messageCount: 1, revision: 3 } });
      });

      it("names the field of an id the session does not hold, refuses an unknown session, and forgets the ids it drops", async () => {
        const store = await open();
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ["a", "b", "c"]);
        await expect(truncate(store, { sessionId, afterMessageId: "zz" })).rejects.toMatchObject({
          field: "afterMessageId",
          messageId: "zz",
        });
        await expect(truncate(store, { sessionId, fromMessageId: "zz" })).rejects.toMatchObject({
          field: "fromMessageId",
          messageId: "zz",
        });
        await expect(truncate(store, { sessionId, fromMessageId: "zz" })).rejects.toBeInstanceOf(MessageNotFoundError);
        await expect(truncate(store, { sessionId: "nope", afterMessageId: null })).rejects.toBeInstanceOf(SessionNotFoundError);
        expect((await store.get(sessionId, {}, T0)).session).toMatchObject({ messageCount: 3, revision: 2 });

        await truncate(store, { sessionId, fromMessageId: "b" });
        await expect(truncate(store, { sessionId, afterMessageId: "c" })).rejects.toMatchObject({
          field: "afterMessageId",
          messageId: "c",
        });
        await expect(Promise.resolve().then(() => store.get(sessionId, { afterMessageId: "b" }, T0))).rejects.toBeInstanceOf(
          MessageNotFoundError,
        );
        // Dropped ids are new again: one at a time, as an agent resends them, and several at once.
        expect(await append(store, sessionId, ["c"])).toMatchObject({ appended: 1, session: { messageCount: 2 } });
        expect(await append(store, sessionId, ["c", "b"])).toMatchObject({ appended: 1, session: { messageCount: 3 } });
        expect(await read(store, sessionId)).toEqual(["a", "c", "b"]);
        const edited = message("b", "user", "edited");
        await truncate(store, { sessionId, fromMessageId: "b" });
        await store.update({ sessionId, messages: [edited], changes: {} }, T0);
        expect((await store.get(sessionId, { afterMessageId: "c" }, T0)).messages.map((m) => m.toString())).toEqual([edited.json]);
      });

      it("truncating a parent never changes its forks, whether they start below, at or past the cut", async () => {
        const store = await open();
        const parent = (await store.create(newSession(), T0)).sessionId;
        await append(store, parent, ["a", "b", "c", "d", "e", "f"]);
        const atC = (await forkOf(store, parent, "c")).sessionId;
        const atE = (await forkOf(store, parent, "e")).sessionId;
        const whole = (await forkOf(store, parent)).sessionId;
        const atA = (await forkOf(store, parent, "a")).sessionId;
        await append(store, atC, ["x"]);
        expect(await truncate(store, { sessionId: parent, fromMessageId: "d" })).toMatchObject({ removed: 3 });
        expect(await read(store, parent)).toEqual(["a", "b", "c"]);
        await append(store, parent, ["d2", "d"]);
        expect(await read(store, parent)).toEqual(["a", "b", "c", "d2", "d"]);
        expect(await read(store, atC)).toEqual(["a", "b", "c", "x"]);
        expect(await read(store, atE)).toEqual(["a", "b", "c", "d", "e"]);
        expect(await read(store, whole)).toEqual(["a", "b", "c", "d", "e", "f"]);
        expect(await read(store, atA)).toEqual(["a"]);
        await truncate(store, { sessionId: parent, afterMessageId: null });
        expect(await read(store, parent)).toEqual([]);
        expect(await read(store, whole)).toEqual(["a", "b", "c", "d", "e", "f"]);
        expect(texts((await store.get(atE, { afterMessageId: "b", limit: 2 }, T0)).messages)).toEqual(["c", "d"]);
        // The forks still hold the ids the parent dropped: retries there append nothing.
        expect((await append(store, whole, ["f", "e"])).appended).toBe(0);
        await append(store, parent, ["a"]);
        expect(await read(store, parent)).toEqual(["a"]);
      });

      it("truncating a fork never changes its parent, also below its fork point", async () => {
        const store = await open();
        const parent = (await store.create(newSession(), T0)).sessionId;
        await append(store, parent, ["a", "b", "c", "d"]);
        const fork = (await forkOf(store, parent, "c")).sessionId;
        await append(store, fork, ["f1", "f2"]);
        expect(await truncate(store, { sessionId: fork, fromMessageId: "f2" })).toMatchObject({ removed: 1, session: { revision: 3 } });
        expect(await read(store, fork)).toEqual(["a", "b", "c", "f1"]);
        expect(await truncate(store, { sessionId: fork, afterMessageId: "a" })).toMatchObject({ removed: 3, session: { messageCount: 1 } });
        expect(await read(store, fork)).toEqual(["a"]);
        expect(await read(store, parent)).toEqual(["a", "b", "c", "d"]);
        // "b" is the parent's still, but no longer the fork's: new to it.
        expect(await append(store, fork, ["b", "c"])).toMatchObject({ appended: 2, session: { messageCount: 3 } });
        expect(texts((await store.get(parent, { afterMessageId: "b" }, T0)).messages)).toEqual(["c", "d"]);
        await truncate(store, { sessionId: fork, afterMessageId: null });
        expect(await read(store, fork)).toEqual([]);
        await append(store, fork, ["a", "z"]);
        expect(await read(store, fork)).toEqual(["a", "z"]);
        expect(await read(store, parent)).toEqual(["a", "b", "c", "d"]);
        expect((await store.get(fork, {}, T0)).session).toMatchObject({ parentSessionId: parent, forkedAtMessageId: "c" });
      });

      it("forks of forks: each side keeps its own history through truncates and removals, and nothing is left after", async () => {
        const store = await open();
        const before = await store.footprint();
        const root = (await store.create(newSession(), T0)).sessionId;
        await append(store, root, ["a", "b", "c"]);
        const child = (await forkOf(store, root)).sessionId;
        await append(store, child, ["f1", "f2"]);
        const grandchild = (await forkOf(store, child, "f1")).sessionId;
        await append(store, grandchild, ["g1"]);
        // Below the child's own fork point, while the grandchild reads past the cut.
        await truncate(store, { sessionId: child, afterMessageId: "b" });
        expect(await read(store, child)).toEqual(["a", "b"]);
        expect(await read(store, grandchild)).toEqual(["a", "b", "c", "f1", "g1"]);
        expect(await read(store, root)).toEqual(["a", "b", "c"]);
        await append(store, child, ["c2"]);
        await truncate(store, { sessionId: root, afterMessageId: null });
        expect(await read(store, child)).toEqual(["a", "b", "c2"]);
        expect(await read(store, grandchild)).toEqual(["a", "b", "c", "f1", "g1"]);
        await store.remove(child);
        expect(await read(store, grandchild)).toEqual(["a", "b", "c", "f1", "g1"]);
        await truncate(store, { sessionId: grandchild, fromMessageId: "c" });
        expect(await read(store, grandchild)).toEqual(["a", "b"]);
        const late = (await forkOf(store, grandchild)).sessionId;
        await truncate(store, { sessionId: grandchild, afterMessageId: null });
        expect(await read(store, late)).toEqual(["a", "b"]);
        for (const id of [root, grandchild, late]) await store.remove(id);
        expect(await store.footprint()).toEqual(before);
      });

      it("works with trimming: a trimmed id is not there to cut at, a fork keeps what it reads, and ids re-appended stay known", async () => {
        const store = await open({ maxContextMessages: 4, onContextFull: "trim" });
        const before = await store.footprint();
        const { sessionId } = await store.create(newSession(), T0);
        const turn = (n: number) => [message(`u${n}`, "user"), message(`a${n}`, "assistant")];
        await store.update({ sessionId, messages: [...turn(1), ...turn(2)], changes: {} }, T0);
        const fork = (await forkOf(store, sessionId)).sessionId;
        expect(await store.update({ sessionId, messages: turn(3), changes: {} }, T0)).toMatchObject({ trimmed: 2 });
        await expect(truncate(store, { sessionId, fromMessageId: "u1" })).rejects.toMatchObject({ field: "fromMessageId" });
        expect(await truncate(store, { sessionId, afterMessageId: "u2" })).toMatchObject({ removed: 3, session: { messageCount: 1 } });
        expect(await read(store, sessionId)).toEqual(["u2"]);
        expect(await read(store, fork)).toEqual(["u1", "a1", "u2", "a2"]);
        await store.update({ sessionId, messages: [message("a2", "assistant"), ...turn(3), ...turn(4)], changes: {} }, T0);
        expect(await read(store, sessionId)).toEqual(["u3", "a3", "u4", "a4"]);
        // The first turn was trimmed away, so its user message is new; then it must stay known through later trims.
        await store.remove(fork);
        await store.update({ sessionId, messages: [message("u1", "user")], changes: {} }, T0);
        await store.update({ sessionId, messages: [message("u5", "user")], changes: {} }, T0);
        expect(await read(store, sessionId)).toEqual(["u4", "a4", "u1", "u5"]);
        expect(await store.update({ sessionId, messages: [message("u1", "user")], changes: {} }, T0)).toMatchObject({ appended: 0 });
        expect(await truncate(store, { sessionId, fromMessageId: "u1" })).toMatchObject({ removed: 2, session: { messageCount: 2 } });
        await store.remove(sessionId);
        expect(await store.footprint()).toEqual(before);
      });

      it("requests started together apply in order around a truncate", async () => {
        const store = await open();
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ["a"]);
        const one = (id: string) => store.update({ sessionId, messages: [message(id)], changes: {} }, T0);
        const [b, cut, again, c, got] = await Promise.all([
          one("b"),
          store.truncate({ sessionId, fromMessageId: "b" }, T0),
          one("b"),
          one("c"),
          store.get(sessionId, {}, T0),
        ]);
        expect([b, again, c].map((r) => [r.appended, r.session.revision, r.session.messageCount])).toEqual([
          [1, 3, 2],
          [1, 5, 2],
          [1, 6, 3],
        ]);
        expect(cut).toMatchObject({ removed: 1, session: { revision: 4, messageCount: 1 } });
        expect(texts(got.messages)).toEqual(["a", "b", "c"]);
      });

      it("another handle, and the handle that truncated, read no window from before the truncate", async () => {
        const store = await open();
        const other = await harness.second();
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ["a", "b", "c"]);
        const contents = async (reader: SessionStore) =>
          (await reader.get(sessionId, {}, T0)).messages.map((m) => JSON.parse(m.toString()).content as string);
        // Read twice, so that whatever a handle keeps of a read is in use.
        for (const reader of [store, other, store, other]) expect(await contents(reader)).toEqual(["a", "b", "c"]);
        await truncate(store, { sessionId, fromMessageId: "c" });
        await store.update({ sessionId, messages: [message("c", "user", "c again")], changes: {} }, T0);
        for (const reader of [other, store]) expect(await contents(reader)).toEqual(["a", "b", "c again"]);
        await truncate(other, { sessionId, fromMessageId: "b" });
        await other.update({ sessionId, messages: [message("b", "user", "b again"), message("x")], changes: {} }, T0);
        for (const reader of [store, other]) {
          const got = await reader.get(sessionId, {}, T0);
          expect(got.session).toMatchObject({ messageCount: 3, revision: 6 });
          expect(got.messages.map((m) => JSON.parse(m.toString()).content)).toEqual(["a", "b again", "x"]);
          expect(texts(await reader.readMessages(sessionId, 1, 5))).toEqual(["b", "x"]);
        }
        await expect(truncate(store, { sessionId, fromMessageId: "c" })).rejects.toBeInstanceOf(MessageNotFoundError);
      });

      it("matches a model that copies history, over random sequences with truncates, and frees everything", async () => {
        const store = await open();
        // Each step through either handle, so that what one keeps of its reads meets the other's changes.
        const other = await harness.second();
        const before = await store.footprint();
        let counter = 0;
        const op = fc.oneof(
          fc.constant({ kind: "new" as const }),
          fc.record({ kind: fc.constant("append" as const), s: fc.nat(), n: fc.integer({ min: 1, max: 3 }), via: fc.boolean() }),
          fc.record({ kind: fc.constant("fork" as const), s: fc.nat(), at: fc.option(fc.nat(), { nil: undefined }) }),
          fc.record({
            kind: fc.constant("truncate" as const),
            s: fc.nat(),
            at: fc.option(fc.nat(), { nil: undefined }),
            from: fc.boolean(),
            via: fc.boolean(),
          }),
          fc.record({ kind: fc.constant("reappend" as const), s: fc.nat(), via: fc.boolean() }),
          fc.record({ kind: fc.constant("read" as const), s: fc.nat(), via: fc.boolean() }),
          fc.record({ kind: fc.constant("remove" as const), s: fc.nat() }),
        );
        await fc.assert(
          fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
            const model = new Map<string, string[]>();
            const names: string[] = [];
            try {
              for (const o of ops) {
                const live = names.filter((n) => model.has(n));
                const pick = (i: number) => live[i % live.length]!;
                if (o.kind === "new" || live.length === 0) {
                  const { sessionId } = await store.create(newSession(), T0);
                  model.set(sessionId, []);
                  names.push(sessionId);
                } else if (o.kind === "append") {
                  const s = pick(o.s);
                  const fresh = Array.from({ length: o.n }, () => `m${++counter}`);
                  expect((await append(o.via ? other : store, s, fresh)).appended).toBe(fresh.length);
                  model.get(s)!.push(...fresh);
                } else if (o.kind === "reappend") {
                  // An id another session holds, or one this session dropped: appended unless this session holds it.
                  const s = pick(o.s);
                  const id = counter === 0 ? `m${++counter}` : `m${(o.s % counter) + 1}`;
                  const history = model.get(s)!;
                  const held = history.includes(id);
                  expect((await append(o.via ? other : store, s, [id])).appended).toBe(held ? 0 : 1);
                  if (!held) history.push(id);
                } else if (o.kind === "fork") {
                  const s = pick(o.s);
                  const history = model.get(s)!;
                  const at = o.at === undefined || history.length === 0 ? undefined : history[o.at % history.length];
                  const f = await forkOf(store, s, at);
                  model.set(f.sessionId, at === undefined ? [...history] : history.slice(0, history.indexOf(at) + 1));
                  names.push(f.sessionId);
                } else if (o.kind === "truncate") {
                  const s = pick(o.s);
                  const history = model.get(s)!;
                  const index = o.at === undefined || history.length === 0 ? undefined : o.at % history.length;
                  const keep = index === undefined ? 0 : o.from ? index : index + 1;
                  const request: TruncateRequest =
                    index === undefined
                      ? { sessionId: s, afterMessageId: null }
                      : o.from
                        ? { sessionId: s, fromMessageId: history[index]! }
                        : { sessionId: s, afterMessageId: history[index]! };
                  expect((await truncate(o.via ? other : store, request)).removed).toBe(history.length - keep);
                  history.length = keep;
                } else if (o.kind === "read") {
                  const s = pick(o.s);
                  expect(await read(o.via ? other : store, s)).toEqual(model.get(s));
                } else {
                  const s = pick(o.s);
                  expect(await store.remove(s)).toBe(true);
                  model.delete(s);
                }
              }
              for (const [s, history] of model) {
                const got = await store.get(s, {}, T0);
                expect(texts(got.messages)).toEqual(history);
                expect(got.session.messageCount).toBe(history.length);
              }
            } finally {
              // Also after a failure, so that fast-check's shrinking starts from an empty store.
              for (const s of model.keys()) await store.remove(s);
            }
            expect(await store.footprint()).toEqual(before);
          }),
          { numRuns: 30 },
        );
      });
    });

    it("leaves nothing behind once every session is gone", async () => {
      const store = await open({ maxIdleMs: 100 });
      const before = await store.footprint();
      const a = (await store.create(newSession(), T0)).sessionId;
      await append(store, a, ["1", "2", "3"]);
      const f = await store.fork(
        { parentSessionId: a, sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: undefined, atMessageId: "2" },
        T0,
      );
      await append(store, f.sessionId, ["f"]);
      const b = (await store.create(newSession(), T0 + 1_000_000)).sessionId;
      await store.setArchived(b, true, T0);
      await store.remove(a);
      expect(texts((await store.get(f.sessionId, {}, T0 + 1_000_000)).messages)).toEqual(["1", "2", "f"]);
      await store.expireDue(T0 + 10_000_000, 100);
      await store.remove(b);
      expect(await store.footprint()).toEqual(before);
    });

    it("matches a model that copies history, over random operation sequences", async () => {
      const store = await open({ maxIdleMs: HOUR });
      const model = new Map<string, string[]>();
      const names: string[] = [];
      let counter = 0;
      const op = fc.oneof(
        fc.constant({ kind: "new" as const }),
        fc.record({ kind: fc.constant("append" as const), s: fc.nat(), n: fc.integer({ min: 1, max: 3 }), retry: fc.boolean() }),
        fc.record({ kind: fc.constant("fork" as const), s: fc.nat(), at: fc.option(fc.nat(), { nil: undefined }) }),
        fc.record({ kind: fc.constant("remove" as const), s: fc.nat() }),
        fc.record({ kind: fc.constant("window" as const), s: fc.nat(), offset: fc.nat(6), limit: fc.nat(6) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
          for (const o of ops) {
            const live = names.filter((n) => model.has(n));
            const pick = (i: number) => live[i % live.length]!;
            if (o.kind === "new" || live.length === 0) {
              const { sessionId } = await store.create(newSession(), T0);
              model.set(sessionId, []);
              names.push(sessionId);
            } else if (o.kind === "append") {
              const s = pick(o.s);
              const history = model.get(s)!;
              const fresh = Array.from({ length: o.n }, () => `m${++counter}`);
              const batch = o.retry && history.length > 0 ? [history[history.length - 1]!, ...fresh] : fresh;
              const r = await store.update({ sessionId: s, messages: batch.map((id) => message(id)), changes: {} }, T0);
              history.push(...fresh);
              expect(r.appended).toBe(fresh.length);
            } else if (o.kind === "fork") {
              const s = pick(o.s);
              const history = model.get(s)!;
              const at = o.at === undefined || history.length === 0 ? undefined : history[o.at % history.length];
              const f = await store.fork(
                { parentSessionId: s, sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: undefined, atMessageId: at },
                T0,
              );
              model.set(f.sessionId, at === undefined ? [...history] : history.slice(0, history.indexOf(at) + 1));
              names.push(f.sessionId);
            } else if (o.kind === "remove") {
              const s = pick(o.s);
              expect(await store.remove(s)).toBe(true);
              model.delete(s);
            } else {
              const s = pick(o.s);
              const got = await store.get(s, { offset: o.offset, limit: o.limit }, T0);
              expect(texts(got.messages)).toEqual(model.get(s)!.slice(o.offset, o.offset + o.limit));
            }
          }
          for (const [s, history] of model) {
            const got = await store.get(s, {}, T0);
            expect(texts(got.messages)).toEqual(history);
            expect(got.session.messageCount).toBe(history.length);
          }
        }),
        { numRuns: 30 },
      );
      for (const s of [...model.keys()]) await store.remove(s);
      const empty = await store.footprint();
      expect(Object.values(empty).every((v) => v === 0)).toBe(true);
    });

    describe("setTitle", () => {
      const listed = async (store: SessionStore, sessionId: string) =>
        (await store.list({ limit: 100, archived: "include" })).sessions.find((s) => s.sessionId === sessionId);

      it("sets the title, moves the revision only when it changes, and is not an access", async () => {
        const store = await open({ maxIdleMs: 1000 });
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ["a"], T0 + 500);
        const titled = await store.setTitle(sessionId, "Plan the parser");
        expect(titled).toMatchObject({ title: "Plan the parser", revision: 3, messageCount: 1, lastAccessed: T0 + 500, archived: false });
        expect(await store.setTitle(sessionId, "Plan the parser")).toMatchObject({ title: "Plan the parser", revision: 3 });
        expect(await store.setTitle(sessionId, "Plan the lexer")).toMatchObject({ title: "Plan the lexer", revision: 4 });
        expect(await listed(store, sessionId)).toMatchObject({ title: "Plan the lexer", revision: 4, lastAccessed: T0 + 500 });
        // The idle deadline is still the last access's: T0 + 500 + 1000.
        expect(await store.expireDue(T0 + 1499, 10)).toEqual([]);
        expect((await store.expireDue(T0 + 1500, 10)).map((e) => e.sessionId)).toEqual([sessionId]);
      });

      it("titles an archived session, which stays archived and never idle-expires", async () => {
        const store = await open({ maxIdleMs: 1000 });
        const { sessionId } = await store.create(newSession({ title: "old" }), T0);
        await store.setArchived(sessionId, true, T0 + 10);
        const titled = await store.setTitle(sessionId, "kept for later");
        expect(titled).toMatchObject({ title: "kept for later", archived: true, revision: 3, lastAccessed: T0 });
        expect(await store.setTitle(sessionId, "kept for later")).toMatchObject({ revision: 3 });
        expect((await store.list({ limit: 10, archived: "only" })).sessions).toMatchObject([{ sessionId, title: "kept for later" }]);
        expect(await store.expireDue(T0 + 100_000, 10)).toEqual([]);
        expect(await store.setArchived(sessionId, false, T0 + 200_000)).toMatchObject({ title: "kept for later", archived: false });
      });

      it("throws SessionNotFoundError for an unknown or removed session", async () => {
        const store = await open();
        await expect(Promise.resolve().then(() => store.setTitle("nope", "t"))).rejects.toBeInstanceOf(SessionNotFoundError);
        const { sessionId } = await store.create(newSession(), T0);
        await store.remove(sessionId);
        await expect(Promise.resolve().then(() => store.setTitle(sessionId, "t"))).rejects.toBeInstanceOf(SessionNotFoundError);
        expect(Object.values(await store.footprint()).every((v) => v === 0)).toBe(true);
      });

      it("applies in order with the requests started beside it, and leaves forks as they are", async () => {
        const store = await open();
        const { sessionId } = await store.create(newSession({ title: "p" }), T0);
        const [first, titled, second] = await Promise.all([
          Promise.resolve(append(store, sessionId, ["a"])),
          Promise.resolve(store.setTitle(sessionId, "between")),
          Promise.resolve(append(store, sessionId, ["b"])),
        ]);
        expect(first.session).toMatchObject({ revision: 2, title: "p" });
        expect(titled).toMatchObject({ revision: 3, title: "between", messageCount: 1 });
        expect(second.session).toMatchObject({ revision: 4, title: "between", messageCount: 2 });
        const fork = await store.fork(
          { parentSessionId: sessionId, sessionId: newSession().sessionId, cwd: "/w", mcpServers: [], title: undefined },
          T0,
        );
        await store.setTitle(sessionId, "parent only");
        expect((await store.get(fork.sessionId, {}, T0)).session).toMatchObject({ title: "between", revision: 1 });
        await store.setTitle(fork.sessionId, "fork only");
        expect((await store.get(sessionId, {}, T0)).session).toMatchObject({ title: "parent only", revision: 5 });
      });

      it("a handle that read the session reads the title another set, and revisions stay exact across them", async () => {
        const store = await open();
        const other = await harness.second();
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ["a"]);
        // Read twice, so that whatever a handle keeps of a read is in use.
        await other.get(sessionId, {}, T0);
        await other.get(sessionId, {}, T0);
        await store.setTitle(sessionId, "from the list view");
        const read = await other.get(sessionId, {}, T0);
        expect(read.session).toMatchObject({ title: "from the list view", revision: 3, messageCount: 1 });
        expect(texts(read.messages)).toEqual(["a"]);
        expect(await other.setTitle(sessionId, "from the list view")).toMatchObject({ revision: 3 });
        const stale = () => other.update({ sessionId, messages: [message("b")], changes: {}, expectedRevision: 2 }, T0);
        await expect(Promise.resolve().then(stale)).rejects.toBeInstanceOf(RevisionConflictError);
        expect((await store.get(sessionId, {}, T0)).session).toMatchObject({ title: "from the list view", revision: 3 });
      });
    });

    describe("tail-first windows", () => {
      /** A window's message ids and where it starts. */
      const read = async (store: SessionStore, sessionId: string, window: ContextWindow, now = T0) => {
        const { messages, start, session } = await store.get(sessionId, window, now);
        return { ids: texts(messages), start, count: session.messageCount };
      };
      const ten = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10"];
      const forkAt = (parentSessionId: string, atMessageId?: string): ForkRequest => ({
        parentSessionId,
        sessionId: newSession().sessionId,
        cwd: "/w",
        mcpServers: [],
        title: undefined,
        atMessageId,
      });

      it("tail: the last N in order, starting at count - N, never before 0", async () => {
        const store = await open();
        const { sessionId } = await store.create(newSession(), T0);
        expect(await read(store, sessionId, { tail: 5 })).toEqual({ ids: [], start: 0, count: 0 });
        await append(store, sessionId, ten);
        expect(await read(store, sessionId, { tail: 3 })).toEqual({ ids: ["m8", "m9", "m10"], start: 7, count: 10 });
        expect(await read(store, sessionId, { tail: 1 })).toEqual({ ids: ["m10"], start: 9, count: 10 });
        expect(await read(store, sessionId, { tail: 10 })).toEqual({ ids: ten, start: 0, count: 10 });
        expect(await read(store, sessionId, { tail: 100 })).toEqual({ ids: ten, start: 0, count: 10 });
        expect(await read(store, sessionId, { tail: 0 })).toEqual({ ids: [], start: 10, count: 10 });
        // A limit caps it from the end it is placed by.
        expect(await read(store, sessionId, { tail: 5, limit: 2 })).toEqual({ ids: ["m9", "m10"], start: 8, count: 10 });
        expect(await read(store, sessionId, { tail: 5, limit: 0 })).toEqual({ ids: [], start: 10, count: 10 });
      });

      it("beforeMessageId: the limit just before it, or all before it without a limit", async () => {
        const store = await open();
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ten);
        expect(await read(store, sessionId, { beforeMessageId: "m5", limit: 2 })).toEqual({ ids: ["m3", "m4"], start: 2, count: 10 });
        expect(await read(store, sessionId, { beforeMessageId: "m5" })).toEqual({ ids: ["m1", "m2", "m3", "m4"], start: 0, count: 10 });
        expect(await read(store, sessionId, { beforeMessageId: "m3", limit: 50 })).toEqual({ ids: ["m1", "m2"], start: 0, count: 10 });
        expect(await read(store, sessionId, { beforeMessageId: "m10", limit: 1 })).toEqual({ ids: ["m9"], start: 8, count: 10 });
        // Empty windows start where they would have: at the named message.
        expect(await read(store, sessionId, { beforeMessageId: "m1" })).toEqual({ ids: [], start: 0, count: 10 });
        expect(await read(store, sessionId, { beforeMessageId: "m1", limit: 3 })).toEqual({ ids: [], start: 0, count: 10 });
        expect(await read(store, sessionId, { beforeMessageId: "m6", limit: 0 })).toEqual({ ids: [], start: 5, count: 10 });
        // Paging backwards from the tail reaches the start, each page starting where the next one ends.
        const pages: string[][] = [];
        let page = await read(store, sessionId, { tail: 3 });
        pages.unshift(page.ids);
        while (page.start > 0) {
          page = await read(store, sessionId, { beforeMessageId: page.ids[0]!, limit: 3 });
          pages.unshift(page.ids);
        }
        expect(pages).toEqual([["m1"], ["m2", "m3", "m4"], ["m5", "m6", "m7"], ["m8", "m9", "m10"]]);
      });

      it("every window says where it starts, never past the count", async () => {
        const store = await open();
        const { sessionId } = await store.create(newSession(), T0);
        expect(await read(store, sessionId, {})).toEqual({ ids: [], start: 0, count: 0 });
        expect(await read(store, sessionId, { offset: 3 })).toEqual({ ids: [], start: 0, count: 0 });
        await append(store, sessionId, ten);
        expect(await read(store, sessionId, {})).toEqual({ ids: ten, start: 0, count: 10 });
        expect(await read(store, sessionId, { limit: 0 })).toEqual({ ids: [], start: 0, count: 10 });
        expect(await read(store, sessionId, { offset: 3, limit: 2 })).toEqual({ ids: ["m4", "m5"], start: 3, count: 10 });
        expect(await read(store, sessionId, { offset: 10 })).toEqual({ ids: [], start: 10, count: 10 });
        expect(await read(store, sessionId, { offset: 50 })).toEqual({ ids: [], start: 10, count: 10 });
        expect(await read(store, sessionId, { afterMessageId: "m3", limit: 1 })).toEqual({ ids: ["m4"], start: 3, count: 10 });
        expect(await read(store, sessionId, { afterMessageId: "m10" })).toEqual({ ids: [], start: 10, count: 10 });
      });

      it("an unknown beforeMessageId or session throws and changes nothing", async () => {
        const store = await open();
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ["a", "b"]);
        const err = await Promise.resolve()
          .then(() => store.get(sessionId, { beforeMessageId: "zz", limit: 1 }, T0 + 50))
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MessageNotFoundError);
        expect(err).toMatchObject({ field: "beforeMessageId", messageId: "zz" });
        expect((await store.list({ limit: 10 })).sessions[0]!.lastAccessed).toBe(T0);
        await expect(async () => store.get("nope", { tail: 1 }, T0)).rejects.toBeInstanceOf(SessionNotFoundError);
        await expect(async () => store.get("nope", { beforeMessageId: "a" }, T0)).rejects.toBeInstanceOf(SessionNotFoundError);
      });

      it("a handle's repeated reads keep their start; windows naming one message from either side differ", async () => {
        const store = await open();
        const other = await harness.second();
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ten);
        // The same window twice in one millisecond: a remote store may answer the second from what it holds.
        expect(await read(store, sessionId, { tail: 2 })).toEqual({ ids: ["m9", "m10"], start: 8, count: 10 });
        expect(await read(store, sessionId, { tail: 2 })).toEqual({ ids: ["m9", "m10"], start: 8, count: 10 });
        expect(await read(store, sessionId, { beforeMessageId: "m5", limit: 1 })).toEqual({ ids: ["m4"], start: 3, count: 10 });
        expect(await read(store, sessionId, { afterMessageId: "m5", limit: 1 })).toEqual({ ids: ["m6"], start: 5, count: 10 });
        expect(await read(store, sessionId, { beforeMessageId: "m5", limit: 1 })).toEqual({ ids: ["m4"], start: 3, count: 10 });
        // Another handle appends: the tail moves with the count.
        await append(other, sessionId, ["m11"]);
        expect(await read(store, sessionId, { tail: 2 })).toEqual({ ids: ["m10", "m11"], start: 9, count: 11 });
      });

      it("a window is read with the count it is resolved against, also among requests started together", async () => {
        const store = await open();
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ["a", "b"]);
        const [, first, , second] = await Promise.all([
          append(store, sessionId, ["c"], T0 + 1),
          store.get(sessionId, { tail: 2 }, T0 + 1),
          append(store, sessionId, ["d", "e"], T0 + 1),
          store.get(sessionId, { beforeMessageId: "e", limit: 2 }, T0 + 1),
        ]);
        expect({ ids: texts(first.messages), start: first.start, count: first.session.messageCount }).toEqual({
          ids: ["b", "c"],
          start: 1,
          count: 3,
        });
        expect({ ids: texts(second.messages), start: second.start, count: second.session.messageCount }).toEqual({
          ids: ["c", "d"],
          start: 2,
          count: 5,
        });
      });

      it("trimmed sessions: indexes count from the oldest message kept, trimmed ids are unknown", async () => {
        const store = await open({ maxContextMessages: 4, onContextFull: "trim" });
        const { sessionId } = await store.create(newSession(), T0);
        const turn = (n: number) => [message(`u${n}`, "user"), message(`a${n}`, "assistant")];
        await store.update({ sessionId, messages: [...turn(1), ...turn(2)], changes: {} }, T0);
        expect(await store.update({ sessionId, messages: turn(3), changes: {} }, T0)).toMatchObject({ trimmed: 2 });
        expect(await read(store, sessionId, { tail: 3 })).toEqual({ ids: ["a2", "u3", "a3"], start: 1, count: 4 });
        expect(await read(store, sessionId, { tail: 9 })).toEqual({ ids: ["u2", "a2", "u3", "a3"], start: 0, count: 4 });
        expect(await read(store, sessionId, { beforeMessageId: "u3" })).toEqual({ ids: ["u2", "a2"], start: 0, count: 4 });
        expect(await read(store, sessionId, { beforeMessageId: "a3", limit: 1 })).toEqual({ ids: ["u3"], start: 2, count: 4 });
        await expect(async () => store.get(sessionId, { beforeMessageId: "a1" }, T0)).rejects.toMatchObject({
          field: "beforeMessageId",
          messageId: "a1",
        });
      });

      it("a fork trimmed past its own fork point leaves its forks' windows whole", async () => {
        const store = await open({ maxContextMessages: 4, onContextFull: "trim" });
        const turn = (n: number) => [message(`u${n}`, "user"), message(`a${n}`, "assistant")];
        const root = (await store.create(newSession(), T0)).sessionId;
        await store.update({ sessionId: root, messages: turn(1), changes: {} }, T0);
        const middle = (await store.fork(forkAt(root), T0)).sessionId;
        await store.update({ sessionId: middle, messages: turn(2), changes: {} }, T0);
        const leaf = (await store.fork(forkAt(middle), T0)).sessionId;
        // The middle session trims its inherited turn away: its fork still reads it, through the root's history.
        expect(await store.update({ sessionId: middle, messages: turn(3), changes: {} }, T0)).toMatchObject({ trimmed: 2 });
        expect(await read(store, middle, {})).toEqual({ ids: ["u2", "a2", "u3", "a3"], start: 0, count: 4 });
        expect(await read(store, leaf, {})).toEqual({ ids: ["u1", "a1", "u2", "a2"], start: 0, count: 4 });
        expect(await read(store, leaf, { tail: 3 })).toEqual({ ids: ["a1", "u2", "a2"], start: 1, count: 4 });
        await store.remove(root);
        expect(await read(store, leaf, { beforeMessageId: "u2" })).toEqual({ ids: ["u1", "a1"], start: 0, count: 4 });
        for (const id of [middle, leaf]) await store.remove(id);
        expect(Object.values(await store.footprint()).every((v) => v === 0)).toBe(true);
      });

      it("forks: windows cross the fork point, and never see the other side's messages", async () => {
        const store = await open();
        const parent = (await store.create(newSession(), T0)).sessionId;
        await append(store, parent, ["p1", "p2", "p3", "p4", "p5", "p6"]);
        const fork = (await store.fork(forkAt(parent, "p4"), T0)).sessionId;
        await append(store, fork, ["f1", "f2"]);
        await append(store, parent, ["p7"]);
        expect(await read(store, fork, { tail: 3 })).toEqual({ ids: ["p4", "f1", "f2"], start: 3, count: 6 });
        expect(await read(store, fork, { beforeMessageId: "f2", limit: 3 })).toEqual({ ids: ["p3", "p4", "f1"], start: 2, count: 6 });
        expect(await read(store, fork, { beforeMessageId: "p3" })).toEqual({ ids: ["p1", "p2"], start: 0, count: 6 });
        expect(await read(store, parent, { tail: 2 })).toEqual({ ids: ["p6", "p7"], start: 5, count: 7 });
        expect(await read(store, parent, { beforeMessageId: "p6", limit: 3 })).toEqual({ ids: ["p3", "p4", "p5"], start: 2, count: 7 });
        // p5 follows the fork point in the parent; f1 is the fork's own.
        await expect(async () => store.get(fork, { beforeMessageId: "p5" }, T0)).rejects.toBeInstanceOf(MessageNotFoundError);
        await expect(async () => store.get(parent, { beforeMessageId: "f1" }, T0)).rejects.toBeInstanceOf(MessageNotFoundError);
        // A fork of the fork, its parent gone: every tail and every window before each message, against slices of a copy.
        const deeper = (await store.fork(forkAt(fork, "f1"), T0)).sessionId;
        await append(store, deeper, ["g1", "g2"]);
        await store.remove(fork);
        const history = ["p1", "p2", "p3", "p4", "f1", "g1", "g2"];
        for (let tail = 0; tail <= history.length + 1; tail++) {
          const start = Math.max(0, history.length - tail);
          expect(await read(store, deeper, { tail })).toEqual({ ids: history.slice(start), start, count: history.length });
        }
        for (const [at, id] of history.entries()) {
          for (const limit of [undefined, 0, 1, 3, 10]) {
            const start = limit === undefined ? 0 : Math.max(0, at - limit);
            expect(await read(store, deeper, { beforeMessageId: id, limit })).toEqual({
              ids: history.slice(start, at),
              start,
              count: history.length,
            });
          }
        }
      });
    });

    describe("restore (import) and reads that are not accesses (export)", () => {
      /** A session as an export holds it: created five hours before T0, last accessed half an hour before. */
      const exported = (overrides: Partial<RestoredSession> = {}): RestoredSession => ({
        ...newSession({ title: "restored", mcpServers: ["fs"], additionalDirectories: ["/lib"] }),
        createdAt: T0 - 5 * HOUR,
        lastAccessed: T0 - HOUR / 2,
        archived: false,
        parentSessionId: null,
        forkedAtMessageId: null,
        ...overrides,
      });
      const forkOf = (parentSessionId: string, atMessageId?: string) => ({
        parentSessionId,
        sessionId: newSession().sessionId,
        cwd: "/w",
        mcpServers: [],
        title: undefined,
        atMessageId,
      });

      it("creates the session with its own times, fields, archive state and origin, at revision 1", async () => {
        const store = await open();
        const input = exported({ retention: { maxIdleMs: 2 * HOUR, pinned: true }, parentSessionId: "gone", forkedAtMessageId: "m9" });
        const expected = { ...input, messageCount: 0, revision: 1 };
        expect(await store.restore({ session: input }, T0)).toEqual(expected);
        expect((await store.get(input.sessionId, {}, NOT_AN_ACCESS)).session).toEqual(expected);
        const archived = exported({ archived: true, title: null, clientCapabilities: null });
        expect(await store.restore({ session: archived }, T0)).toEqual({ ...archived, messageCount: 0, revision: 1 });
        expect(await (await harness.second()).has(archived.sessionId)).toBe(true);
      });

      it("reads without an access when dated before the last one: lastAccessed and the idle deadline stay", async () => {
        const store = await open({ maxIdleMs: 1000 });
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ["a", "b"], T0);
        const read = await store.get(sessionId, { offset: 1 }, NOT_AN_ACCESS);
        expect(read.session).toMatchObject({ lastAccessed: T0, revision: 2, messageCount: 2 });
        expect(texts(read.messages)).toEqual(["b"]);
        expect((await store.update({ sessionId, messages: [message("c")], changes: {} }, T0 - 500)).session.lastAccessed).toBe(T0);
        expect((await store.expireDue(T0 + 1000, 10)).map((e) => e.sessionId)).toEqual([sessionId]);
      });

      it("is listed as created at its restore, newest first, and among the archived when archived", async () => {
        const store = await open();
        const older = (await store.create(newSession(), T0)).sessionId;
        const live = exported();
        const archived = exported({ archived: true });
        await store.restore({ session: live }, T0 + 1);
        await store.restore({ session: archived }, T0 + 2);
        const listed = async (filter: "exclude" | "include" | "only") =>
          (await store.list({ limit: 10, archived: filter })).sessions.map((s) => s.sessionId);
        expect(await listed("exclude")).toEqual([live.sessionId, older]);
        expect(await listed("only")).toEqual([archived.sessionId]);
        expect(await listed("include")).toEqual([archived.sessionId, live.sessionId, older]);
      });

      it("expires for idleness from its restored last access; archived and pinned ones do not", async () => {
        const store = await open({ maxIdleMs: HOUR });
        const idle = exported();
        const archived = exported({ archived: true, lastAccessed: T0 - 3 * HOUR });
        const pinned = exported({ retention: { maxIdleMs: null, pinned: true }, lastAccessed: T0 - 3 * HOUR });
        for (const session of [idle, archived, pinned]) await store.restore({ session }, T0);
        expect(await store.expireDue(T0 + HOUR / 2 - 1, 10)).toEqual([]);
        expect(await store.expireDue(T0 + HOUR / 2, 10)).toEqual([
          {
            sessionId: idle.sessionId,
            createdAt: idle.createdAt,
            lastAccessed: idle.lastAccessed,
            expiredAt: T0 + HOUR / 2,
            messageCount: 0,
            action: "delete",
          },
        ]);
        expect(await store.has(archived.sessionId)).toBe(true);
        expect(await store.has(pinned.sessionId)).toBe(true);
      });

      it("meets the lifetime cap at createdAt, though listed as created at its restore", async () => {
        const store = await open({ maxIdleMs: 100 * HOUR, maxLifetimeMs: 10 * HOUR });
        const first = (await store.create(newSession(), T0)).sessionId;
        const old = exported({ createdAt: T0 - 9 * HOUR });
        const oldArchived = exported({ createdAt: T0 - 8 * HOUR, archived: true });
        const recent = exported({ createdAt: T0 + 1 });
        for (const session of [recent, oldArchived, old]) await store.restore({ session }, T0 + 10);
        expect(await store.expireDue(T0 + HOUR - 1, 10)).toEqual([]);
        expect((await store.expireDue(T0 + HOUR, 10)).map((e) => [e.sessionId, e.action])).toEqual([[old.sessionId, "delete"]]);
        expect((await store.expireDue(T0 + 2 * HOUR, 10)).map((e) => e.sessionId)).toEqual([oldArchived.sessionId]);
        expect((await store.expireDue(T0 + 10 * HOUR + 1, 10)).map((e) => e.sessionId)).toEqual([first, recent.sessionId]);
        expect(await store.expireDue(T0 + 20 * HOUR, 10)).toEqual([]);
      });

      it("shares another session's history up to a message, as a fork does, without an access to it", async () => {
        const store = await open();
        const { sessionId: source } = await store.create(newSession(), T0);
        await append(store, source, ["m1", "m2", "m3"], T0);
        const input = exported({ parentSessionId: source, forkedAtMessageId: "m2", lastAccessed: T0 + 5 });
        const restored = await store.restore({ session: input, shareHistoryOf: { sessionId: source, atMessageId: "m2" } }, T0 + 10);
        expect(restored).toEqual({ ...input, messageCount: 2, revision: 1 });
        expect((await store.get(source, { limit: 0 }, NOT_AN_ACCESS)).session.lastAccessed).toBe(T0);
        await append(store, input.sessionId, ["x"], input.lastAccessed);
        await append(store, source, ["m4"]);
        expect(texts((await store.get(input.sessionId, {}, T0 + 20)).messages)).toEqual(["m1", "m2", "x"]);
        expect(texts((await store.get(source, {}, T0 + 20)).messages)).toEqual(["m1", "m2", "m3", "m4"]);
        await store.remove(source);
        const kept = await (await harness.second()).get(input.sessionId, {}, T0 + 30);
        expect(texts(kept.messages)).toEqual(["m1", "m2", "x"]);

        const { sessionId: other } = await store.create(newSession(), T0);
        await append(store, other, ["o1"]);
        const missing = { session: exported(), shareHistoryOf: { sessionId: "nope", atMessageId: "o1" } };
        await expect(async () => store.restore(missing, T0)).rejects.toBeInstanceOf(SessionNotFoundError);
        const noMessage = { session: exported(), shareHistoryOf: { sessionId: other, atMessageId: "zz" } };
        await expect(async () => store.restore(noMessage, T0)).rejects.toMatchObject({ field: "atMessageId", messageId: "zz" });
        expect(await store.has(noMessage.session.sessionId)).toBe(false);
      });

      it("refuses an id in use, a fork's included, and changes nothing", async () => {
        const store = await open();
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ["m1"]);
        const fork = await store.fork(forkOf(sessionId), T0);
        for (const id of [sessionId, fork.sessionId]) {
          await expect(async () => store.restore({ session: exported({ sessionId: id }) }, T0)).rejects.toBeInstanceOf(SessionExistsError);
          const sharing = { session: exported({ sessionId: id }), shareHistoryOf: { sessionId, atMessageId: "m1" } };
          await expect(async () => store.restore(sharing, T0)).rejects.toBeInstanceOf(SessionExistsError);
        }
        expect((await store.list({ limit: 10 })).sessions).toHaveLength(2);
        expect((await store.get(fork.sessionId, {}, NOT_AN_ACCESS)).session).toEqual(fork);
      });

      it("counts toward maxSessions", async () => {
        const store = await open({ maxSessions: 1 });
        await store.create(newSession(), T0);
        await expect(async () => store.restore({ session: exported() }, T0)).rejects.toBeInstanceOf(LimitExceededError);
      });

      it("leaves nothing behind once restored sessions are gone", async () => {
        const store = await open({ maxIdleMs: HOUR, maxLifetimeMs: 100 * HOUR });
        const before = await store.footprint();
        const { sessionId: source } = await store.create(newSession(), T0);
        await append(store, source, ["m1", "m2"]);
        const sharing = exported();
        await store.restore({ session: sharing, shareHistoryOf: { sessionId: source, atMessageId: "m1" } }, T0);
        await append(store, sharing.sessionId, ["s1"], sharing.lastAccessed);
        const archived = exported({ archived: true, createdAt: T0 - 200 * HOUR });
        await store.restore({ session: archived }, T0);
        await append(store, archived.sessionId, ["a1"], archived.lastAccessed);
        await store.remove(source);
        expect((await store.expireDue(T0 + 1, 10)).map((e) => e.sessionId)).toEqual([archived.sessionId]);
        await store.remove(sharing.sessionId);
        expect(await store.footprint()).toEqual(before);
      });
    });
  });
}

/** What a subscription has heard so far, and a wait for more (a shared store reports a little later). */
export function heard() {
  const events: ChangeEvent[] = [];
  return {
    events,
    listener: (event: ChangeEvent) => void events.push(event),
    /** Resolves once `count` changes have been heard in all; fails after `ms`. */
    async until(count: number, ms = 15_000): Promise<ChangeEvent[]> {
      const deadline = Date.now() + ms;
      while (events.length < count) {
        if (Date.now() > deadline) throw new Error(`heard ${events.length} changes, not ${count}: ${JSON.stringify(summary(events))}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return events;
    },
  };
}

/** A change as the assertions compare it: its type, revision, count, and the message ids it appended. */
export function summary(events: ChangeEvent[]) {
  return events.map(({ revision, messageCount, change }) => {
    const { type } = change;
    if (type === "appended") return { type, revision, messageCount, ids: texts(change.messages), trimmed: change.trimmed };
    if (type === "updated") return { type, revision, messageCount, title: change.session.title };
    if (type === "expired") return { type, revision, messageCount, action: change.action };
    if (type === "truncated") return { type, revision, messageCount, removed: change.removed };
    return { type, revision, messageCount };
  });
}

/**
 * The change stream (subscribe), on every store: a subscriber on one handle hears what any handle
 * changes (the second handle is another process's view of a shared store).
 */
export function changeStreamContract(name: string, makeHarness: () => StoreHarness): void {
  describe(`SessionStore change stream: ${name}`, () => {
    let harness: StoreHarness;
    const open = async (options: Partial<StoreOptions> = {}) => {
      harness = makeHarness();
      return harness.open({ maxIdleMs: HOUR, ...options });
    };
    afterEach(async () => {
      await harness?.cleanup();
    });
    const append = (store: SessionStore, sessionId: string, ids: string[], now = T0) =>
      store.update({ sessionId, messages: ids.map((id) => message(id)), changes: {} }, now);

    it("answers the session as it starts, with the messages after afterMessageId, and is not an access", async () => {
      const store = await open();
      const { sessionId } = await store.create(newSession({ title: "t" }), T0);
      await append(store, sessionId, ["m1", "m2", "m3"]);
      const all = await store.subscribe(sessionId, undefined, () => {});
      expect(all.session).toMatchObject({ sessionId, title: "t", revision: 2, messageCount: 3, lastAccessed: T0 });
      expect(all.messages).toEqual([]);
      const after = await store.subscribe(sessionId, "m1", () => {});
      expect(texts(after.messages)).toEqual(["m2", "m3"]);
      expect(after.messages[0]!.equals(Buffer.from(message("m2").json))).toBe(true);
      expect(texts((await store.subscribe(sessionId, "m3", () => {})).messages)).toEqual([]);
      all.close();
      after.close();
      all.close();
      expect((await store.list({ limit: 10 })).sessions.map((s) => s.lastAccessed)).toEqual([T0]);
    });

    it("refuses an unknown session or afterMessageId, and then reports nothing", async () => {
      const store = await open();
      const { sessionId } = await store.create(newSession(), T0);
      await append(store, sessionId, ["m1"]);
      const refused = heard();
      await expect(async () => store.subscribe("nope", undefined, refused.listener)).rejects.toBeInstanceOf(SessionNotFoundError);
      await expect(async () => store.subscribe(sessionId, "zz", refused.listener)).rejects.toBeInstanceOf(MessageNotFoundError);
      const watching = heard();
      const sub = await store.subscribe(sessionId, undefined, watching.listener);
      await append(store, sessionId, ["m2"]);
      await watching.until(1);
      expect(refused.events).toEqual([]);
      sub.close();
    });

    it("reports every change made through another handle, in order, with the revision and count after it", async () => {
      const store = await open();
      const other = await harness.second();
      const { sessionId } = await store.create(newSession(), T0);
      await append(store, sessionId, ["m1"]);
      const h = heard();
      const sub = await store.subscribe(sessionId, undefined, h.listener);
      expect(sub.session.revision).toBe(2);
      await append(other, sessionId, ["m2", "m3"], T0 + 1);
      await other.update({ sessionId, messages: [message("m4"), message("m1")], changes: { title: "named" } }, T0 + 2);
      await other.update({ sessionId, messages: [message("m4")], changes: { title: "named" } }, T0 + 3);
      await other.get(sessionId, {}, T0 + 4);
      await other.touch(sessionId, {}, T0 + 5);
      await other.touch(sessionId, { additionalDirectories: ["/lib"] }, T0 + 6);
      await other.setArchived(sessionId, true, T0 + 7);
      await other.setArchived(sessionId, true, T0 + 8);
      await append(other, sessionId, ["m5"], T0 + 9);
      await other.setArchived(sessionId, false, T0 + 10);
      await other.update({ sessionId, messages: [], changes: { retention: { maxIdleMs: 5000, pinned: true } } }, T0 + 11);
      expect(await other.remove(sessionId)).toBe(true);
      const events = await h.until(9);
      expect(summary(events)).toEqual([
        { type: "appended", revision: 3, messageCount: 3, ids: ["m2", "m3"], trimmed: 0 },
        { type: "appended", revision: 4, messageCount: 4, ids: ["m4"], trimmed: 0 },
        { type: "updated", revision: 4, messageCount: 4, title: "named" },
        { type: "updated", revision: 5, messageCount: 4, title: "named" },
        { type: "archived", revision: 6, messageCount: 4 },
        { type: "appended", revision: 7, messageCount: 5, ids: ["m5"], trimmed: 0 },
        { type: "unarchived", revision: 8, messageCount: 5 },
        { type: "updated", revision: 9, messageCount: 5, title: "named" },
        { type: "removed", revision: 9, messageCount: 5 },
      ]);
      const updated = events.filter((e) => e.change.type === "updated").map((e) => (e.change as { session: SessionRecord }).session);
      expect(updated[1]).toMatchObject({ sessionId, additionalDirectories: ["/lib"], revision: 5, messageCount: 4 });
      expect(updated[2]).toMatchObject({ retention: { maxIdleMs: 5000, pinned: true }, revision: 9 });
      expect(events.every((e) => e.sessionId === sessionId)).toBe(true);
      // Gone: a session created again under the same id is not this subscription's.
      await store.create(newSession({ sessionId }), T0 + 12);
      await append(other, sessionId, ["again"], T0 + 13);
      const marker = heard();
      const next = await store.subscribe(sessionId, undefined, marker.listener);
      await append(other, sessionId, ["seen"], T0 + 14);
      await marker.until(1);
      expect(summary(marker.events)).toEqual([{ type: "appended", revision: 3, messageCount: 2, ids: ["seen"], trimmed: 0 }]);
      expect(events).toHaveLength(9);
      next.close();
      sub.close();
    });

    it("reports truncates that drop something and title changes, from any handle, and nothing for no-ops", async () => {
      const store = await open();
      const other = await harness.second();
      const { sessionId } = await store.create(newSession({ title: "first" }), T0);
      await append(store, sessionId, ["m1", "m2", "m3", "m4"]);
      const h = heard();
      const sub = await store.subscribe(sessionId, undefined, h.listener);
      await other.truncate({ sessionId, fromMessageId: "m3" }, T0 + 1);
      await other.truncate({ sessionId, afterMessageId: "m2" }, T0 + 2);
      await other.setTitle(sessionId, "second");
      await other.setTitle(sessionId, "second");
      await store.truncate({ sessionId, afterMessageId: null }, T0 + 3);
      await append(other, sessionId, ["m3"], T0 + 4);
      const events = await h.until(4);
      expect(summary(events)).toEqual([
        { type: "truncated", revision: 3, messageCount: 2, removed: 2 },
        { type: "updated", revision: 4, messageCount: 2, title: "second" },
        { type: "truncated", revision: 5, messageCount: 0, removed: 2 },
        { type: "appended", revision: 6, messageCount: 1, ids: ["m3"], trimmed: 0 },
      ]);
      expect((events[1]!.change as { session: SessionRecord }).session).toMatchObject({
        title: "second",
        revision: 4,
        lastAccessed: T0 + 2,
      });
      sub.close();
    });

    it("tells each subscriber each change once; none after close; a later subscriber starts at its own revision", async () => {
      const store = await open();
      const other = await harness.second();
      const { sessionId } = await store.create(newSession(), T0);
      const a = heard();
      const b = heard();
      const subA = await store.subscribe(sessionId, undefined, a.listener);
      const subB = await other.subscribe(sessionId, undefined, b.listener);
      await append(store, sessionId, ["m1"]);
      await append(other, sessionId, ["m2"]);
      await Promise.all([a.until(2), b.until(2)]);
      subA.close();
      const c = heard();
      const subC = await store.subscribe(sessionId, undefined, c.listener);
      expect(subC.session.revision).toBe(3);
      await append(other, sessionId, ["m3"]);
      await Promise.all([b.until(3), c.until(1)]);
      await append(store, sessionId, ["m4"]);
      await Promise.all([b.until(4), c.until(2)]);
      expect(summary(a.events).map((e) => e.revision)).toEqual([2, 3]);
      expect(summary(b.events).map((e) => e.revision)).toEqual([2, 3, 4, 5]);
      expect(summary(c.events).map((e) => e.revision)).toEqual([4, 5]);
      subB.close();
      subC.close();
    });

    it("expiry: `expired` with the action; a delete ends the subscription, an archive does not", async () => {
      for (const onExpire of ["delete", "archive"] as const) {
        const store = await open({ onExpire, maxIdleMs: 10_000 });
        const other = await harness.second();
        const { sessionId } = await store.create(newSession(), T0);
        await append(store, sessionId, ["m1"]);
        const h = heard();
        const sub = await store.subscribe(sessionId, undefined, h.listener);
        expect((await other.expireDue(T0 + 20_000, 10)).map((e) => e.action)).toEqual([onExpire]);
        await h.until(1);
        expect(summary(h.events)).toEqual([
          { type: "expired", revision: onExpire === "delete" ? 2 : 3, messageCount: 1, action: onExpire },
        ]);
        if (onExpire === "archive") {
          await append(other, sessionId, ["m2"], T0 + 30_000);
          await h.until(2);
          expect(summary(h.events)[1]).toMatchObject({ type: "appended", revision: 4, ids: ["m2"] });
        }
        sub.close();
        await harness.cleanup();
      }
    });

    it("the oldest turns trimmed to make room are counted in the append", async () => {
      const store = await open({ maxContextMessages: 3, onContextFull: "trim" });
      const { sessionId } = await store.create(newSession(), T0);
      await store.update({ sessionId, messages: [message("u1"), message("a1", "assistant"), message("u2")], changes: {} }, T0);
      const h = heard();
      const sub = await store.subscribe(sessionId, undefined, h.listener);
      await store.update({ sessionId, messages: [message("a2", "assistant"), message("u3")], changes: {} }, T0);
      await h.until(1);
      expect(summary(h.events)).toEqual([{ type: "appended", revision: 3, messageCount: 3, ids: ["a2", "u3"], trimmed: 2 }]);
      sub.close();
    });

    it("catch-up and live changes together: while another handle appends, no message is missed or told twice", async () => {
      const store = await open({ maxContextMessages: 100_000 });
      const other = await harness.second();
      const { sessionId } = await store.create(newSession(), T0);
      await append(store, sessionId, ["m0"]);
      const writes: Promise<unknown>[] = [];
      for (let i = 1; i <= 200; i++) writes.push(Promise.resolve(append(other, sessionId, [`m${i}`])));
      const h = heard();
      const sub = await store.subscribe(sessionId, "m0", h.listener);
      for (let i = 201; i <= 300; i++) writes.push(Promise.resolve(append(other, sessionId, [`m${i}`])));
      await Promise.all(writes);
      const caught = texts(sub.messages);
      const live = () => h.events.flatMap((e) => (e.change.type === "appended" ? texts(e.change.messages) : []));
      const deadline = Date.now() + 15_000;
      while (caught.length + live().length < 300 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect([...caught, ...live()]).toEqual(Array.from({ length: 300 }, (_, i) => `m${i + 1}`));
      const revisions = h.events.map((e) => e.revision);
      expect(revisions[0]).toBe(sub.session.revision + 1);
      expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
      expect(new Set(revisions).size).toBe(revisions.length);
      sub.close();
    });

    it("leaves nothing behind once every session is gone, watched or not", async () => {
      const store = await open();
      const before = await store.footprint();
      const { sessionId } = await store.create(newSession(), T0);
      const h = heard();
      const sub = await store.subscribe(sessionId, undefined, h.listener);
      await append(store, sessionId, ["m1"]);
      await store.remove(sessionId);
      await h.until(2);
      sub.close();
      expect(await store.footprint()).toEqual(before);
    });
  });
}
