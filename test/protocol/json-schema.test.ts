import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionClient, type SessionExpired, type SessionNotification } from "../../src/client/index.js";
import { protocolJsonSchema } from "../../src/protocol/json-schema.js";
import { inProcess, SERVER_VERSION, type Harness } from "../helpers/in-process.js";

// The JSON Schema `acp-sessions schema` prints (test/process/cli-commands checks it is this one).
const README = fileURLToPath(new URL("../../README.md", import.meta.url));

/** One example request per method, as a client in another language would write it. */
const EXAMPLE_REQUESTS = [
  {
    method: "initialize",
    params: { protocolVersion: 1, clientCapabilities: { fs: { readTextFile: true } }, clientInfo: { name: "ed", version: "1" } },
  },
  {
    method: "session/new",
    params: { cwd: "/home/me/project", title: "parser", mcpServers: [{ name: "fs", command: "mcp-fs", args: [], env: [] }] },
  },
  { method: "session/new", params: { retention: { maxIdle: "2h", pinned: false } } },
  { method: "session/get", params: { sessionId: "s-1", afterMessageId: "m-1", limit: 50 } },
  {
    method: "session/update",
    params: {
      sessionId: "s-1",
      expectedRevision: 3,
      messages: [
        { messageId: "m-2", role: "user", content: "Split parse() in two" },
        { role: "assistant", content: [{ type: "text", text: "Done." }], timestamp: "2026-01-01T10:00:00.000Z" },
      ],
      retention: null,
    },
  },
  { method: "session/remove", params: { sessionId: "s-1" } },
  { method: "session/delete", params: { sessionId: "s-1" } },
  { method: "session/list", params: { cwd: "/home/me/project", limit: 20, archived: "include" } },
  { method: "session/load", params: { sessionId: "s-1", cwd: "/home/me/project", mcpServers: [] } },
  { method: "session/resume", params: { sessionId: "s-1", cwd: "/home/me/project" } },
  { method: "session/close", params: { sessionId: "s-1" } },
  { method: "session/fork", params: { sessionId: "s-1", cwd: "/home/me/project", atMessageId: "m-2", title: "branch" } },
  { method: "session/archive", params: { sessionId: "s-1" } },
  { method: "session/unarchive", params: { sessionId: "s-1", _meta: { by: "me" } } },
  { method: "session/status", params: { sessionId: "s-1" } },
  { method: "session/set_title", params: { sessionId: "s-1", title: "Split the parser" } },
  { method: "session/truncate", params: { sessionId: "s-1", fromMessageId: "m-2", expectedRevision: 4 } },
  { method: "session/truncate", params: { sessionId: "s-1", afterMessageId: null } },
  { method: "session/subscribe", params: { sessionId: "s-1", afterMessageId: "m-2", acpUpdates: true } },
  { method: "session/unsubscribe", params: { sessionId: "s-1" } },
].map((request, i) => ({ jsonrpc: "2.0", id: i + 1, ...request }));

const INVALID_REQUESTS = [
  { jsonrpc: "2.0", id: 1, method: "session/get", params: { sessionId: 5 } },
  { jsonrpc: "2.0", id: 1, method: "session/get", params: {} },
  { jsonrpc: "2.0", id: 1, method: "session/update", params: { sessionId: "s", messages: [{ role: "robot", content: "x" }] } },
  {
    jsonrpc: "2.0",
    id: 1,
    method: "session/update",
    params: { sessionId: "s", messages: [{ role: "user", content: [{ type: "text" }] }] },
  },
  { jsonrpc: "2.0", id: 1, method: "session/list", params: { archived: "sometimes" } },
  { jsonrpc: "2.0", id: 1, method: "session/list", params: { limit: 5000 } },
  { jsonrpc: "2.0", id: 1, method: "session/teleport", params: {} },
  { jsonrpc: "2.0", id: 1, method: "session/set_title", params: { sessionId: "s", title: null } },
  { jsonrpc: "1.0", id: 1, method: "session/list", params: {} },
];

/** JSON-RPC messages written out in the README, one per line (shell-quoted or bare). */
function readmeMessages(): { jsonrpc: string; id?: unknown; method?: string; result?: unknown; error?: unknown }[] {
  if (!existsSync(README)) return [];
  return [...readFileSync(README, "utf8").matchAll(/^\s*'?(\{"jsonrpc":"2\.0".*\})'?\s*\\?$/gm)].map((m) => JSON.parse(m[1]!));
}

let schema: Record<string, any>;
let ajv: InstanceType<typeof Ajv2020.default>;
const validator = (def: string) => ajv.getSchema(`urn:acp-sessions:protocol#/$defs/${def}`)!;

beforeAll(() => {
  schema = protocolJsonSchema(SERVER_VERSION);
  ajv = new Ajv2020.default({ strict: true, allowUnionTypes: true, allErrors: true });
  // ajv leaves formats to the ajv-formats package; the one format the schema uses is checked here.
  ajv.addFormat("date-time", (value: string) => !Number.isNaN(Date.parse(value)) && /^\d{4}-\d\d-\d\dT/.test(value));
  ajv.addSchema(schema);
});

describe("the protocol's JSON Schema", () => {
  it("is a valid JSON Schema draft 2020-12 document", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(ajv.validateSchema(schema), JSON.stringify(ajv.errors)).toBe(true);
  });

  it("defines every method's params and result and every notification", () => {
    const methods = ["initialize", "session/new", "session/get", "session/update", "session/remove", "session/delete", "session/list"]
      .concat(["session/export"])
      .concat(["session/load", "session/resume", "session/close", "session/fork", "session/archive", "session/unarchive", "session/status"])
      .concat(["session/set_title", "session/truncate", "session/subscribe", "session/unsubscribe"])
      .map((m) => m.replace(/(^|[/_])(\w)/g, (_, __, c: string) => c.toUpperCase()));
    const expected = methods.flatMap((m) => [`${m}Params`, `${m}Result`]);
    expect(Object.keys(schema.$defs).sort()).toEqual(
      [...expected, "SessionChangedNotification", "SessionExpiredNotification", "SessionUpdateNotification", "SidecarNotification"].sort(),
    );
  });

  it("accepts the example requests and refuses malformed ones", () => {
    const validate = ajv.getSchema("urn:acp-sessions:protocol")!;
    for (const request of EXAMPLE_REQUESTS) expect(validate(request), `${request.method}: ${JSON.stringify(validate.errors)}`).toBe(true);
    for (const request of INVALID_REQUESTS) expect(validate(request), JSON.stringify(request)).toBe(false);
  });

  it("accepts the README's example messages", () => {
    const messages = readmeMessages();
    const request = ajv.getSchema("urn:acp-sessions:protocol")!;
    const notification = validator("SidecarNotification");
    for (const message of messages) {
      if (message.result !== undefined || message.error !== undefined) continue;
      const validate = message.id === undefined ? notification : request;
      expect(validate(message), `${JSON.stringify(message)}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  describe("describes what the server really answers", () => {
    let server: Harness;
    let client: SessionClient;
    // The server's clock stands still until the test moves it, so nothing expires before it is asked to.
    let clock = Date.UTC(2026, 0, 1);
    const updates: SessionNotification[] = [];
    const expired: SessionExpired[] = [];
    beforeAll(async () => {
      server = await inProcess({ maxSessionAgeMs: 1000, cleanupIntervalMs: 100 }, { now: () => clock });
      client = SessionClient.connect(server.fromServer, server.stdin);
      client.on("sessionUpdate", (n) => updates.push(n)).on("expired", (e) => expired.push(e));
    });
    afterAll(async () => {
      await client.close();
      await server.close();
    });

    const check = (def: string, value: unknown) => {
      const validate = validator(def);
      expect(validate(value), `${def}: ${JSON.stringify(validate.errors)}`).toBe(true);
    };

    it("results and notifications validate against their definitions", async () => {
      check("InitializeResult", await client.initialize());
      const created = await client.newSession({ cwd: "/p", title: "t", retention: { pinned: true } });
      check("SessionNewResult", created);
      const { sessionId } = created;
      check(
        "SessionUpdateResult",
        await client.updateSession({
          sessionId,
          messages: [
            { messageId: "u", role: "user", content: "q" },
            { messageId: "a", role: "assistant", content: [{ type: "image", data: "AAAA", mimeType: "image/png" }] },
            { role: "system", content: "s" },
          ],
        }),
      );
      check("SessionGetResult", await client.getSession({ sessionId }));
      check("SessionListResult", await client.listSessions({ limit: 1 }));
      check("SessionLoadResult", await client.request("session/load", { sessionId, cwd: "/p" }));
      check("SessionResumeResult", await client.resumeSession({ sessionId, cwd: "/p" }));
      const fork = await client.forkSession({ sessionId, cwd: "/p", atMessageId: "u" });
      check("SessionForkResult", fork);
      check("SessionGetResult", await client.getSession({ sessionId: fork.sessionId }));
      check("SessionTruncateResult", await client.truncateSession({ sessionId: fork.sessionId, afterMessageId: null }));
      check("SessionExportResult", await client.exportSession({ sessionId: fork.sessionId, limit: 1 }));
      check("SessionArchiveResult", await client.archiveSession({ sessionId }));
      check("SessionUnarchiveResult", await client.unarchiveSession({ sessionId }));
      check("SessionStatusResult", await client.sessionStatus({ sessionId }));
      check("SessionSetTitleResult", await client.setSessionTitle({ sessionId, title: " renamed " }));
      check("SessionCloseResult", await client.closeSession({ sessionId }));
      check("SessionRemoveResult", await client.removeSession({ sessionId }));
      check("SessionDeleteResult", await client.deleteSession({ sessionId }));

      expect(updates.map((n) => n.update.sessionUpdate)).toEqual(["user_message_chunk", "agent_message_chunk", "agent_message_chunk"]);
      for (const n of updates) check("SessionUpdateNotification", n);
      clock += 1000;
      await server.waitFor(() => expired.some((e) => e.sessionId === fork.sessionId), "the fork's expiry");
      expect(expired.map((e) => e.sessionId)).toContain(fork.sessionId);
      for (const e of expired) check("SessionExpiredNotification", e);
    });

    it("a subscription's answer and every kind of change it sends validate", async () => {
      const { sessionId } = await client.request("session/new", { cwd: "/p", title: "t" });
      await client.request("session/update", { sessionId, messages: [{ messageId: "m1", role: "user", content: "q" }] });
      check("SessionSubscribeResult", await client.request("session/subscribe", { sessionId, afterMessageId: "m1", acpUpdates: true }));
      await client.request("session/update", {
        sessionId,
        title: "renamed",
        messages: [{ messageId: "m2", role: "assistant", content: [{ type: "text", text: "a" }] }],
      });
      await client.request("session/archive", { sessionId });
      await client.request("session/unarchive", { sessionId });
      await client.request("session/remove", { sessionId });
      check("SessionUnsubscribeResult", await client.request("session/unsubscribe", { sessionId }));
      const changes = server.notifications("session/changed").filter((n) => n.sessionId === sessionId);
      expect(changes.map((n) => n.change.type)).toEqual(["appended", "updated", "archived", "unarchived", "removed"]);
      for (const n of changes) check("SessionChangedNotification", n);
      const live = server.notifications("session/update").filter((n) => n.sessionId === sessionId);
      expect(live.map((n) => n.update.sessionUpdate)).toEqual(["agent_message_chunk", "session_info_update"]);
      for (const n of live) check("SessionUpdateNotification", n);
      check("SessionChangedNotification", {
        sessionId,
        revision: 3,
        messageCount: 2,
        change: { type: "lagged", revision: 3, messageCount: 2 },
      });
    });
  });
});
