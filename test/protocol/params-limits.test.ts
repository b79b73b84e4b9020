import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/config.js";
import { MAX_NESTING_DEPTH } from "../../src/protocol/schemas.js";
import { inProcess, type Response } from "../helpers/in-process.js";
import { RedisServer, skipWithoutRedis } from "../helpers/redis-server.js";
import { availableStores, type StoreUnderTest } from "../helpers/stores.js";

// What params may hold, identically on every store: no lone surrogate in a string the sidecar stores or
// looks up, no opaque value nested past the limit; message content and capabilities come back exactly.

const noRedis = skipWithoutRedis("the params limits on Redis", { binary: false });
let server: RedisServer | undefined;
let redisUrl = process.env.REDIS_URL ?? "";
let prefixes = 0;

const stores: StoreUnderTest[] = availableStores().filter((s) => s.name !== "redis");
if (!noRedis)
  stores.push({ name: "redis", config: async () => ({ store: redisUrl, redisPrefix: `limits-${process.pid}-${++prefixes}:` }) });

beforeAll(async () => {
  if (noRedis || redisUrl) return;
  server = await RedisServer.start();
  redisUrl = server.url;
});
afterAll(async () => {
  await server?.stop();
});

type Harness = Awaited<ReturnType<typeof inProcess>>;
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function sidecar(config: Partial<Config>): Promise<Harness> {
  const h = await inProcess(config);
  open.push(h);
  await h.ok("initialize", { protocolVersion: 1 });
  return h;
}

/** `levels` objects, one inside the next. */
function nested(levels: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = { k: value };
  return value;
}

let rawIds = 0;
/** A request whose params are given as JSON text: JSON.stringify itself cannot write thousands of levels. */
async function callRaw(h: Harness, method: string, paramsJson: string): Promise<Response> {
  const id = `raw-${++rawIds}`;
  h.stdin.write(`{"jsonrpc":"2.0","id":"${id}","method":"${method}","params":${paramsJson}}\n`);
  return h.waitFor(() => h.messages.find((m) => m.id === id));
}

const deepObjects = (levels: number) => '{"k":'.repeat(levels) + "1" + "}".repeat(levels);
const deepArrays = (levels: number) => "[".repeat(levels) + "1" + "]".repeat(levels);

function refused(r: Response, path: (string | number)[], message: string): void {
  expect(r.error).toMatchObject({ code: -32602 });
  expect(r.error!.data.issues).toEqual([{ path, message: expect.stringContaining(message) }]);
}

describe.each(stores)("params limits ($name store)", ({ name, config }) => {
  const LONE = "lone surrogate";

  it("refuses a lone surrogate in every string it stores or looks up, naming the field, storing nothing", async () => {
    const h = await sidecar(await config());
    const { sessionId } = await h.ok("session/new", { cwd: "/w", title: "t" });
    await h.ok("session/update", { sessionId, messages: [{ messageId: "m1", role: "user", content: "hi" }] });
    const mcp = (name: string) => [{ name, command: "x", args: [], env: [] }];
    const cases: [string, unknown, (string | number)[]][] = [
      ["session/new", { title: "t\ud83d" }, ["title"]],
      ["session/new", { cwd: "/w/\udc00" }, ["cwd"]],
      ["session/new", { additionalDirectories: ["/ok", "/x\ud800"] }, ["additionalDirectories", 1]],
      ["session/new", { mcpServers: mcp("fs\udbff") }, ["mcpServers", 0, "name"]],
      [
        "session/update",
        {
          sessionId,
          messages: [
            { messageId: "m2", role: "user", content: "x" },
            { messageId: "m\ud83d", role: "user", content: "x" },
          ],
        },
        ["messages", 1, "messageId"],
      ],
      ["session/update", { sessionId, title: "\udfff" }, ["title"]],
      ["session/update", { sessionId, additionalDirectories: ["/a\ud83d"] }, ["additionalDirectories", 0]],
      ["session/update", { sessionId, mcpServers: mcp("\ud83d") }, ["mcpServers", 0, "name"]],
      ["session/get", { sessionId: `${sessionId}\ud83d` }, ["sessionId"]],
      ["session/get", { sessionId, afterMessageId: "m1\ud83d" }, ["afterMessageId"]],
      ["session/fork", { sessionId, cwd: "/w", atMessageId: "m1\ud83d" }, ["atMessageId"]],
      ["session/fork", { sessionId, cwd: "/w", title: "f\ud83d" }, ["title"]],
      ["session/load", { sessionId, cwd: "/w\ud83d" }, ["cwd"]],
      ["session/resume", { sessionId, cwd: "/w", additionalDirectories: ["/d\ud83d"] }, ["additionalDirectories", 0]],
      ["session/list", { cwd: "/w\ud83d" }, ["cwd"]],
      ["session/list", { cursor: "c\ud83d" }, ["cursor"]],
      ["session/remove", { sessionId: "\ud83d" }, ["sessionId"]],
    ];
    for (const [method, params, path] of cases) refused(await h.call(method, params), path, LONE);

    expect((await h.ok("session/list", {})).sessions.map((s: { sessionId: string }) => s.sessionId)).toEqual([sessionId]);
    const { session } = await h.ok("session/get", { sessionId });
    expect(session).toMatchObject({ title: "t", cwd: "/w", revision: 2, messageCount: 1, additionalDirectories: [], mcpServers: [] });
    expect(session.context.map((m: { messageId: string }) => m.messageId)).toEqual(["m1"]);
  });

  it("two message ids differing only in a lone surrogate are both refused, not stored as one", async () => {
    const h = await sidecar(await config());
    const { sessionId } = await h.ok("session/new", { cwd: "/w" });
    for (const messageId of ["m\ud83d", "m\ud83e"]) {
      refused(
        await h.call("session/update", { sessionId, messages: [{ messageId, role: "user", content: "x" }] }),
        ["messages", 0, "messageId"],
        LONE,
      );
    }
    expect((await h.ok("session/get", { sessionId })).session).toMatchObject({ messageCount: 0, revision: 1 });
  });

  it("keeps strings outside the BMP, and lone surrogates in content and capabilities, exactly as sent", async () => {
    const storeConfig = await config();
    const h = await sidecar(storeConfig);
    const clientCapabilities = { fs: { readTextFile: true }, _meta: { "k\ud83d": "v\udc00", pair: "😀" } };
    const { sessionId } = await h.ok("session/new", {
      cwd: "/w/😀",
      title: "标题 😀 \u00e9",
      additionalDirectories: ["/d/𝄞"],
      mcpServers: [{ name: "fs-😀", command: "x", args: [], env: [] }],
      clientCapabilities,
    });
    const blocks = [
      { type: "text", text: "a\ud83d b \udc00 c 😀 \udbff\udfff", "x\ud800": "\udfff" },
      { type: "resource", resource: { uri: "file:///r\ud83d", text: "\ud83d\ud83d" } },
    ];
    const messages = [
      { messageId: "m-😀", role: "user", content: blocks, timestamp: "2026-01-01T00:00:00.000Z" },
      { messageId: "m2", role: "assistant", content: "\ud83d alone", timestamp: "2026-01-01T00:00:01.000Z" },
    ];
    await h.ok("session/update", { sessionId, messages });

    const expectExact = async (reader: Harness) => {
      const { session } = await reader.ok("session/get", { sessionId });
      expect(session).toMatchObject({
        cwd: "/w/😀",
        title: "标题 😀 \u00e9",
        additionalDirectories: ["/d/𝄞"],
        mcpServers: ["fs-😀"],
        clientCapabilities,
      });
      expect(session.context).toEqual(messages);
    };
    await expectExact(h);
    await h.ok("session/load", { sessionId, cwd: "/w/😀" });
    const replayed = h.notifications("session/update").map((n) => n.update.content);
    expect(replayed).toEqual([...blocks, { type: "text", text: "\ud83d alone" }]);
    // A store that outlives the process is read again from what it wrote, not from a sidecar's memory.
    if (name !== "memory") {
      await h.close();
      open.splice(open.indexOf(h), 1);
      await expectExact(await sidecar(storeConfig));
    }
  });

  it(`keeps opaque values nested ${MAX_NESTING_DEPTH} levels exactly, and refuses one level more naming the field`, async () => {
    const h = await sidecar(await config());
    const atLimit = nested(MAX_NESTING_DEPTH);
    const { sessionId } = await h.ok("session/new", { cwd: "/w", clientCapabilities: atLimit });
    // A content block is itself the first level.
    const content = [{ type: "text", text: "x", extra: nested(MAX_NESTING_DEPTH - 1) }];
    await h.ok("session/update", { sessionId, messages: [{ messageId: "m1", role: "user", content }] });
    const { session } = await h.ok("session/get", { sessionId });
    expect(session.clientCapabilities).toEqual(atLimit);
    expect(session.context[0].content).toEqual(content);

    const tooDeep = nested(MAX_NESTING_DEPTH + 1);
    const limit = `nests deeper than ${MAX_NESTING_DEPTH} levels`;
    refused(await h.call("initialize", { protocolVersion: 1, clientCapabilities: tooDeep }), ["clientCapabilities"], limit);
    refused(await h.call("session/new", { cwd: "/w", clientCapabilities: tooDeep }), ["clientCapabilities"], limit);
    refused(await h.call("session/update", { sessionId, clientCapabilities: tooDeep }), ["clientCapabilities"], limit);
    const deepBlock = { type: "text", text: "x", extra: nested(MAX_NESTING_DEPTH) };
    const update = { sessionId, messages: [{ messageId: "m2", role: "user", content: [{ type: "text", text: "ok" }, deepBlock] }] };
    refused(await h.call("session/update", update), ["messages", 0, "content", 1], limit);
    expect((await h.ok("session/get", { sessionId })).session).toMatchObject({ revision: 2, messageCount: 1 });
  });

  it("answers thousands of levels with -32602 naming the field, never -32012 or -32603", async () => {
    const h = await sidecar(await config());
    const { sessionId } = await h.ok("session/new", { cwd: "/w" });
    const limit = `nests deeper than ${MAX_NESTING_DEPTH} levels`;
    for (const deep of [deepObjects(6000), deepArrays(6000), `{"fs":${deepObjects(5000)}}`]) {
      refused(await callRaw(h, "initialize", `{"protocolVersion":1,"clientCapabilities":${deep}}`), ["clientCapabilities"], limit);
      refused(await callRaw(h, "session/new", `{"cwd":"/w","clientCapabilities":${deep}}`), ["clientCapabilities"], limit);
      refused(
        await callRaw(h, "session/update", `{"sessionId":"${sessionId}","clientCapabilities":${deep}}`),
        ["clientCapabilities"],
        limit,
      );
      const message = `{"messageId":"m","role":"user","content":[{"type":"text","text":"x","extra":${deep}}]}`;
      refused(
        await callRaw(h, "session/update", `{"sessionId":"${sessionId}","messages":[${message}]}`),
        ["messages", 0, "content", 0],
        limit,
      );
    }
    expect((await h.ok("session/list", {})).sessions).toHaveLength(1);
    expect((await h.ok("session/get", { sessionId })).session).toMatchObject({ revision: 1, messageCount: 0, clientCapabilities: null });
  });
});
