import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcess, type Harness } from "../helpers/in-process.js";
import { notification, rpc } from "../helpers/sidecar.js";

// The JSON-RPC 2.0 core through the whole server: envelopes, notifications, batches, ids.
let s: Harness;
beforeAll(async () => {
  s = await inProcess();
});
afterAll(() => s.close());

/** Everything the sidecar wrote after `from`, once the sentinel request `id` is answered. */
async function outputUntil(id: string, from: number): Promise<any[]> {
  s.write(rpc(id, "session/list", { limit: 1 }));
  await s.response(id);
  return s.messages.slice(from);
}

describe("JSON-RPC errors", () => {
  it("a line that is not JSON is -32700 with id null", async () => {
    const from = s.messages.length;
    s.write('{"jsonrpc":"2.0","id":1,"method":\n');
    const out = await outputUntil("after-parse-error", from);
    expect(out[0]).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32700 } });
    expect(out[0].error.message).toMatch(/^Parse error/);
    expect(out.length).toBe(2);
  });

  it.each([
    ["a number", "42", null],
    ["a string", '"hello"', null],
    ["null", "null", null],
    ["no jsonrpc member", '{"id":"no-version","method":"session/list"}', "no-version"],
    ["jsonrpc 1.0", '{"jsonrpc":"1.0","id":"v1","method":"session/list"}', "v1"],
    ["a non-string method", '{"jsonrpc":"2.0","id":"m","method":42}', "m"],
    ["no method", '{"jsonrpc":"2.0","id":"no-method"}', "no-method"],
    ["an object id", '{"jsonrpc":"2.0","id":{"a":1},"method":"session/list"}', null],
    ["a boolean id", '{"jsonrpc":"2.0","id":true,"method":"session/list"}', null],
    ["string params", '{"jsonrpc":"2.0","id":"p","method":"session/list","params":"x"}', "p"],
  ])("%s is -32600 Invalid Request", async (_name, line, id) => {
    const from = s.messages.length;
    s.write(line + "\n");
    const [answer, ...rest] = await outputUntil(`after-invalid-${_name}`, from);
    expect(answer).toMatchObject({ jsonrpc: "2.0", id, error: { code: -32600 } });
    expect(answer.error.message).toMatch(/^Invalid request/);
    expect(rest.length).toBe(1);
  });

  it("an unknown method is -32601", async () => {
    const r = await s.call("session/teleport", {});
    expect(r.error).toMatchObject({ code: -32601, message: expect.stringContaining("session/teleport") });
  });

  it("params failing their schema are -32602 naming the field, with every issue as data", async () => {
    const r = await s.call("session/get", { sessionId: 42, limit: -1 });
    expect(r.error!.code).toBe(-32602);
    expect(r.error!.message).toContain("sessionId");
    expect(r.error!.data.issues.map((i: any) => i.path)).toEqual([["sessionId"], ["limit"]]);
  });

  it("unknown fields and _meta are accepted", async () => {
    const r = await s.ok("session/new", { cwd: "/w", futureField: { x: 1 }, _meta: { trace: "abc" } });
    expect(r.sessionId).toEqual(expect.any(String));
  });
});

describe("notifications", () => {
  it("are never answered: not for a known method, an unknown one, or bad params", async () => {
    const from = s.messages.length;
    s.write(
      notification("session/new", { cwd: "/w" }) +
        notification("no/such/method", {}) +
        notification("session/get", { sessionId: 42 }) +
        notification("session/update", { sessionId: "unknown" }),
    );
    const out = await outputUntil("after-notifications", from);
    expect(out.map((m) => m.id)).toEqual(["after-notifications"]);
  });

  it("$/cancel_request and $/cancelRequest are accepted without any response", async () => {
    const from = s.messages.length;
    s.write(notification("$/cancel_request", { requestId: 12345 }) + notification("$/cancelRequest", { id: "whatever" }));
    s.write(notification("$/cancel_request", {}) + notification("$/cancelRequest"));
    const out = await outputUntil("after-cancels", from);
    expect(out.map((m) => m.id)).toEqual(["after-cancels"]);
  });

  it("a request cancelled while it waits behind a replay is answered -32800", async () => {
    const { sessionId } = await s.ok("session/new", { cwd: "/w" });
    await s.ok("session/update", { sessionId, messages: [{ role: "user", content: "x" }] });
    // One write: the load runs (asynchronously), the get waits behind it, the cancel arrives before it runs.
    s.write(
      rpc("c-load", "session/load", { sessionId, cwd: "/w", mcpServers: [] }) +
        rpc("c-get", "session/get", { sessionId }) +
        notification("$/cancel_request", { requestId: "c-get" }),
    );
    const r = await s.response("c-get");
    expect(r.error).toMatchObject({ code: -32800 });
    expect((await s.response("c-load")).result).toEqual({});
  });
});

describe("batches", () => {
  it("a batch is answered with an array of its responses, notifications left out", async () => {
    const from = s.messages.length;
    s.write(
      JSON.stringify([
        { jsonrpc: "2.0", id: "b1", method: "session/new", params: { cwd: "/w" } },
        { jsonrpc: "2.0", method: "session/new", params: { cwd: "/w" } },
        { jsonrpc: "2.0", id: "b2", method: "no/such" },
        42,
      ]) + "\n",
    );
    const out = await outputUntil("after-batch", from);
    expect(out.length).toBe(2);
    expect(Array.isArray(out[0])).toBe(true);
    expect(out[0]).toMatchObject([
      { id: "b1", result: { sessionId: expect.any(String) } },
      { id: "b2", error: { code: -32601 } },
      { id: null, error: { code: -32600 } },
    ]);
  });

  it("a batch of only notifications is answered with nothing", async () => {
    const from = s.messages.length;
    s.write(
      JSON.stringify([
        { jsonrpc: "2.0", method: "session/list" },
        { jsonrpc: "2.0", method: "session/new", params: {} },
      ]) + "\n",
    );
    const out = await outputUntil("after-quiet-batch", from);
    expect(out.map((m) => m.id)).toEqual(["after-quiet-batch"]);
  });

  it("an empty batch is one -32600, not an array", async () => {
    const from = s.messages.length;
    s.write("[]\n");
    const [answer] = await outputUntil("after-empty-batch", from);
    expect(answer).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32600 } });
  });
});

describe("ids", () => {
  it("two in-flight requests with the same id are both answered, in order", async () => {
    s.write(rpc("twin", "session/new", { cwd: "/w", title: "first" }) + rpc("twin", "session/list", { cwd: "/w", limit: 1 }));
    await s.waitFor(() => s.responses("twin").length === 2, "both responses to id twin");
    const [first, second] = s.responses("twin");
    expect(first!.result.sessionId).toEqual(expect.any(String));
    expect(second!.result.sessions[0]).toMatchObject({ sessionId: first!.result.sessionId, title: "first" });
  });

  it("string, number and null ids come back as sent", async () => {
    s.write(rpc(0, "session/list", { limit: 1 }) + rpc(-7.5, "session/list", { limit: 1 }) + rpc("", "session/list", { limit: 1 }));
    expect((await s.response(0)).result).toBeDefined();
    expect((await s.response(-7.5)).result).toBeDefined();
    expect((await s.response("")).result).toBeDefined();
    const from = s.messages.length;
    s.write(rpc(null, "session/list", { limit: 1 }));
    const out = await outputUntil("after-null-id", from);
    expect(out[0]).toMatchObject({ id: null, result: { sessions: expect.any(Array) } });
  });
});
