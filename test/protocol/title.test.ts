import { Readable, Writable } from "node:stream";
import { client, methods, ndJsonStream } from "@agentclientprotocol/sdk/unstable";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { SessionClient } from "../../src/client/index.js";
import { inProcess } from "../helpers/in-process.js";
import { availableStores, stopStores } from "../helpers/stores.js";

type Harness = Awaited<ReturnType<typeof inProcess>>;
const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

afterAll(stopStores);

const T0 = Date.UTC(2026, 0, 1);

describe.each(availableStores())("session/set_title ($name)", ({ name, config }) => {
  /** A sidecar whose clock stands at `clock.now` until a test moves it. */
  const start = async (shared?: Awaited<ReturnType<typeof config>>) => {
    const clock = { now: T0 };
    const h = await inProcess(shared ?? (await config()), { now: () => clock.now });
    harnesses.push(h);
    return { h, clock };
  };
  const listed = async (h: Harness, sessionId: string) =>
    ((await h.ok("session/list", { archived: "include" })).sessions as { sessionId: string }[]).find((s) => s.sessionId === sessionId);

  it("is advertised, answers the title as stored, moves the revision only on a change, and is not an access", async () => {
    const { h, clock } = await start();
    const init = await h.ok("initialize", { protocolVersion: 1 });
    expect(init.agentCapabilities.sessionCapabilities).toMatchObject({ title: {}, status: {} });

    const { sessionId } = await h.ok("session/new", { title: "draft" });
    clock.now += 1000;
    expect(await h.ok("session/set_title", { sessionId, title: "  Split the parser\n" })).toEqual({ title: "Split the parser" });
    expect(await listed(h, sessionId)).toMatchObject({ title: "Split the parser", revision: 2, updatedAt: new Date(T0).toISOString() });
    expect(await h.ok("session/set_title", { sessionId, title: "Split the parser" })).toEqual({ title: "Split the parser" });
    expect(await listed(h, sessionId)).toMatchObject({ revision: 2 });
    expect(await h.ok("session/status", { sessionId })).toEqual({ status: "open" });
    await h.ok("session/close", { sessionId });
    await h.ok("session/set_title", { sessionId, title: "closed, still titled" });
    expect(await h.ok("session/status", { sessionId })).toEqual({ status: "saved" });
    const { session } = await h.ok("session/get", { sessionId });
    expect(session).toMatchObject({ title: "closed, still titled", revision: 3 });
  });

  it("cuts a long title at 500 code points after trimming, never inside a surrogate pair", async () => {
    const { h } = await start();
    const { sessionId } = await h.ok("session/new", {});
    const long = await h.ok("session/set_title", { sessionId, title: `  ${"a".repeat(600)}  ` });
    expect(long.title).toBe("a".repeat(500));
    const emoji = await h.ok("session/set_title", { sessionId, title: `\t${"é😀".repeat(300)}` });
    expect([...emoji.title]).toHaveLength(500);
    expect(emoji.title).toBe("é😀".repeat(250));
    expect(emoji.title.isWellFormed()).toBe(true);
    expect((await h.ok("session/get", { sessionId })).session.title).toBe(emoji.title);
    const exact = "ü".repeat(500);
    expect((await h.ok("session/set_title", { sessionId, title: exact })).title).toBe(exact);
  });

  it("titles an archived session, which stays archived; archive and unarchive twice both succeed", async () => {
    const { h } = await start();
    const { sessionId } = await h.ok("session/new", {});
    await h.ok("session/archive", { sessionId });
    expect(await h.ok("session/archive", { sessionId })).toEqual({});
    expect(await listed(h, sessionId)).toMatchObject({ archived: true, revision: 2 });
    expect(await h.ok("session/set_title", { sessionId, title: "for later" })).toEqual({ title: "for later" });
    const archived = (await h.ok("session/list", { archived: "only" })).sessions;
    expect(archived).toMatchObject([{ sessionId, title: "for later", archived: true, revision: 3 }]);
    expect(await h.ok("session/unarchive", { sessionId })).toEqual({});
    expect(await h.ok("session/unarchive", { sessionId })).toEqual({});
    expect(await listed(h, sessionId)).toMatchObject({ title: "for later", archived: false, revision: 4 });
  });

  it("refuses a missing, null, non-string or blank title with -32602 naming it; an unknown session is -32002", async () => {
    const { h } = await start();
    const { sessionId } = await h.ok("session/new", { title: "kept" });
    for (const params of [
      { sessionId },
      { sessionId, title: null },
      { sessionId, title: 7 },
      { sessionId, title: "" },
      { sessionId, title: " \n\t " },
    ]) {
      const { error } = await h.call("session/set_title", params);
      expect(error, JSON.stringify(params)).toMatchObject({ code: -32602, data: { issues: [{ path: ["title"] }] } });
      expect(error!.message).toContain("title");
    }
    expect((await h.call("session/set_title", { title: "t" })).error?.code).toBe(-32602);
    expect(await listed(h, sessionId)).toMatchObject({ title: "kept", revision: 1 });

    const unknown = await h.call("session/set_title", { sessionId: "nope", title: "t" });
    expect(unknown.error).toMatchObject({ code: -32002, data: { sessionId: "nope" } });
    await h.ok("session/remove", { sessionId });
    expect((await h.call("session/set_title", { sessionId, title: "t" })).error?.code).toBe(-32002);
  });

  it("through the client library and the ACP SDK's own client", async () => {
    const { h } = await start();
    const sessions = SessionClient.connect(h.fromServer, h.stdin);
    const { sessionId } = await sessions.newSession({});
    expect(await sessions.setSessionTitle({ sessionId, title: " from the client " })).toEqual({ title: "from the client" });

    const other = await start();
    const stream = ndJsonStream(
      Writable.toWeb(other.h.stdin) as WritableStream<Uint8Array>,
      Readable.toWeb(other.h.fromServer) as ReadableStream<Uint8Array>,
    );
    await client({ name: "acp-sessions-title" }).connectWith(stream, async (ctx) => {
      const created = await ctx.request(methods.agent.session.new, { cwd: "/p", mcpServers: [] });
      const titled = await ctx.request(methods.agent.session.setTitle, { sessionId: created.sessionId, title: "  via ACP " });
      expect(titled).toEqual({ title: "via ACP" });
      await expect(ctx.request(methods.agent.session.setTitle, { sessionId: created.sessionId, title: "  " })).rejects.toMatchObject({
        code: -32602,
      });
    });
    await sessions.close();
  });

  // Redis only: two SQLite sidecars in one process would block on each other's lock (SQLite waits
  // synchronously); the store contract covers a second SQLite handle.
  it.runIf(name === "redis")("a second sidecar on the same store reads the new title at once", async () => {
    const shared = await config();
    const { h: a } = await start(shared);
    const { h: b } = await start(shared);
    const { sessionId } = await a.ok("session/new", {});
    // Read twice, so that whatever b keeps of a read is in use.
    await b.ok("session/get", { sessionId });
    await b.ok("session/get", { sessionId });
    await a.ok("session/set_title", { sessionId, title: "renamed over there" });
    expect((await b.ok("session/get", { sessionId })).session).toMatchObject({ title: "renamed over there", revision: 2 });
    expect(await b.ok("session/set_title", { sessionId, title: "renamed over there" })).toEqual({ title: "renamed over there" });
    expect((await a.ok("session/get", { sessionId })).session.revision).toBe(2);
  });
});
