import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SessionClient, SessionClientError } from "../../src/client/index.js";
import { failure } from "../helpers/failure.js";
import { inProcess } from "../helpers/in-process.js";
import { availableStores, stopStores } from "../helpers/stores.js";

// session/truncate through the whole server, on every store this run can reach.
type Harness = Awaited<ReturnType<typeof inProcess>>;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

afterAll(stopStores);

const msg = (messageId: string, role = "user", content: unknown = `text of ${messageId}`) => ({ messageId, role, content });

describe.each(availableStores())("session/truncate ($name)", ({ config }) => {
  const withMessages = async (ids: string[]) => {
    h = await inProcess(await config());
    const { sessionId } = await h.ok("session/new", { cwd: "/w" });
    await h.ok("session/update", { sessionId, messages: ids.map((id) => msg(id)) });
    return sessionId as string;
  };
  const context = async (sessionId: string) => (await h!.ok("session/get", { sessionId })).session;
  const ids = async (sessionId: string) => (await context(sessionId)).context.map((m: any) => m.messageId);

  it("drops after afterMessageId, from fromMessageId on, or everything, and answers the counts", async () => {
    const sessionId = await withMessages(["a", "b", "c", "d"]);
    // Read first: what the server keeps of a read must not outlive the truncate.
    expect(await context(sessionId)).toMatchObject({ messageCount: 4, revision: 2 });
    expect(await h!.ok("session/truncate", { sessionId, afterMessageId: "c" })).toEqual({
      sessionId,
      messageCount: 3,
      revision: 3,
      removed: 1,
    });
    expect(await context(sessionId)).toMatchObject({ messageCount: 3, revision: 3 });
    expect(await ids(sessionId)).toEqual(["a", "b", "c"]);
    expect(await h!.ok("session/truncate", { sessionId, fromMessageId: "b" })).toEqual({
      sessionId,
      messageCount: 1,
      revision: 4,
      removed: 2,
    });
    expect(await h!.ok("session/truncate", { sessionId, afterMessageId: "a" })).toEqual({
      sessionId,
      messageCount: 1,
      revision: 4,
      removed: 0,
    });
    // The edit-and-resubmit case: the dropped id, sent again, is appended.
    const resent = await h!.ok("session/update", { sessionId, messages: [msg("b", "user", "edited")] });
    expect(resent).toMatchObject({ appended: 1, messageCount: 2, revision: 5 });
    expect((await context(sessionId)).context.map((m: any) => m.content)).toEqual(["text of a", "edited"]);
    expect(await h!.ok("session/truncate", { sessionId, afterMessageId: null })).toEqual({
      sessionId,
      messageCount: 0,
      revision: 6,
      removed: 2,
    });
    expect(await ids(sessionId)).toEqual([]);
  });

  it("a load after a truncate replays only what is left", async () => {
    const sessionId = await withMessages(["a", "b", "c"]);
    await h!.ok("session/truncate", { sessionId, fromMessageId: "b" });
    await h!.ok("session/load", { sessionId, cwd: "/w", mcpServers: [] });
    const replayed = h!.notifications("session/update").filter((n) => n.sessionId === sessionId);
    expect(replayed.map((n) => n.update.messageId)).toEqual(["a"]);
  });

  it("-32602 unless exactly one of afterMessageId and fromMessageId, or for an id the session does not hold, naming the field", async () => {
    const sessionId = await withMessages(["a", "b"]);
    const issue = async (params: object) => {
      const { error } = await h!.call("session/truncate", params);
      expect(error?.code).toBe(-32602);
      return error!.data.issues[0];
    };
    expect(await issue({ sessionId })).toMatchObject({ path: ["afterMessageId"] });
    expect(await issue({ sessionId, afterMessageId: "a", fromMessageId: "b" })).toMatchObject({ path: ["fromMessageId"] });
    expect(await issue({ sessionId, afterMessageId: null, fromMessageId: "b" })).toMatchObject({ path: ["fromMessageId"] });
    expect(await issue({ sessionId, fromMessageId: null })).toMatchObject({ path: ["fromMessageId"] });
    expect(await issue({ sessionId, afterMessageId: "" })).toMatchObject({ path: ["afterMessageId"] });
    expect(await issue({ sessionId, afterMessageId: "zz" })).toEqual({
      path: ["afterMessageId"],
      message: "message zz is not in the session",
    });
    expect(await issue({ sessionId, fromMessageId: "zz" })).toEqual({
      path: ["fromMessageId"],
      message: "message zz is not in the session",
    });
    expect(await issue({ sessionId, afterMessageId: "a", expectedRevision: 0 })).toMatchObject({ path: ["expectedRevision"] });
    expect(await context(sessionId)).toMatchObject({ messageCount: 2, revision: 2 });
  });

  it("-32002 for an unknown session, -32010 for a stale expectedRevision when something would go", async () => {
    const sessionId = await withMessages(["a", "b"]);
    const unknown = await h!.call("session/truncate", { sessionId: "nope", afterMessageId: null });
    expect(unknown.error).toMatchObject({ code: -32002, data: { sessionId: "nope" } });
    expect(await h!.ok("session/truncate", { sessionId, afterMessageId: "b", expectedRevision: 1 })).toMatchObject({ removed: 0 });
    const stale = await h!.call("session/truncate", { sessionId, fromMessageId: "b", expectedRevision: 1 });
    expect(stale.error).toMatchObject({ code: -32010, data: { sessionId, expectedRevision: 1, revision: 2 } });
    expect(await ids(sessionId)).toEqual(["a", "b"]);
    expect(await h!.ok("session/truncate", { sessionId, fromMessageId: "b", expectedRevision: 2 })).toMatchObject({ removed: 1 });
  });

  it("a fork keeps its history when its parent is truncated, and the client library calls it", async () => {
    const sessionId = await withMessages(["a", "b", "c"]);
    const client = SessionClient.connect(h!.fromServer, h!.stdin);
    try {
      const fork = await client.forkSession({ sessionId, cwd: "/w" });
      expect(await client.truncateSession({ sessionId, fromMessageId: "a" })).toEqual({
        sessionId,
        messageCount: 0,
        revision: 3,
        removed: 3,
      });
      expect((await client.getSession({ sessionId: fork.sessionId })).session.context.map((m) => m.messageId)).toEqual(["a", "b", "c"]);
      const err = await failure(client.truncateSession({ sessionId, afterMessageId: "a" }));
      expect(err).toBeInstanceOf(SessionClientError);
      expect(err).toMatchObject({ code: -32602, data: { issues: [{ path: ["afterMessageId"] }] } });
    } finally {
      await client.close();
    }
  });
});
