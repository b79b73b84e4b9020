import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { Logger } from "../../src/log.js";
import { RequestError } from "../../src/rpc/errors.js";
import { RpcConnection, type MethodEntry } from "../../src/rpc/connection.js";
import { FrameWriter } from "../../src/transport/frame-writer.js";
import { deferred, req, tick } from "../helpers/rpc.js";

function setup(methods: Record<string, MethodEntry>, writable = () => true) {
  // A batch's array line may span several writes: only whole lines count.
  let out = "";
  const errors: string[] = [];
  const log: Logger = { error: (m, e) => errors.push(`${m} ${e instanceof Error ? e.stack : ""}`), warn() {}, info() {}, debug() {} };
  const writer = new FrameWriter({ write: (b) => ((out += String(b)), writable()) });
  const pauses: boolean[] = [];
  const connection = new RpcConnection({
    writer,
    methods: new Map(Object.entries(methods)),
    log,
    onPause: (p) => pauses.push(p),
    maxInFlight: 4,
  });
  const send = (...lines: unknown[]) => {
    for (const line of lines) connection.frame(Buffer.from(typeof line === "string" ? line : JSON.stringify(line)));
    connection.flush();
  };
  const messages = () =>
    out
      .split("\n")
      .slice(0, -1)
      .map((l) => JSON.parse(l));
  return { connection, send, messages, errors, pauses };
}

describe("RpcConnection", () => {
  it("answers requests in arrival order, never answers notifications", () => {
    const { send, messages } = setup({ echo: { handle: (p) => p } });
    send(req(1, "echo", { a: 1 }), { jsonrpc: "2.0", method: "echo", params: {} }, req("two", "echo", {}));
    expect(messages()).toEqual([
      { jsonrpc: "2.0", id: 1, result: { a: 1 } },
      { jsonrpc: "2.0", id: "two", result: {} },
    ]);
  });

  it("maps errors: unknown method, schema failure, RequestError, unexpected throw (logged, not leaked)", () => {
    const { send, messages, errors } = setup({
      strict: { handle: (p) => z.object({ n: z.number() }).parse(p) },
      refuse: { handle: () => new RequestError(-32002, "Session not found", { sessionId: "x" }) },
      boom: {
        handle: () => {
          throw new Error("secret detail");
        },
      },
    });
    send(req(1, "nope"), req(2, "strict", { n: "x" }), req(3, "refuse"), req(4, "boom"), req(5, "strict", { n: 1 }));
    const [unknown, invalid, refused, boom, ok] = messages();
    expect(unknown.error).toMatchObject({ code: -32601, data: { method: "nope" } });
    expect(invalid.error.code).toBe(-32602);
    expect(invalid.error.message).toMatch(/^Invalid params: n: /);
    expect(invalid.error.data.issues[0].path).toEqual(["n"]);
    expect(refused.error).toEqual({ code: -32002, message: "Session not found", data: { sessionId: "x" } });
    expect(boom.error).toEqual({ code: -32603, message: "Internal error" });
    expect(JSON.stringify(boom)).not.toContain("secret");
    expect(errors.join("\n")).toContain("secret detail");
    expect(ok.result).toEqual({ n: 1 });
  });

  it("answers a result or error it cannot encode with -32603 for that request alone, at once or later, also within a batch", async () => {
    const { send, messages, errors } = setup({
      now: { handle: () => ({ n: 1n }) },
      later: { handle: async () => ({ n: 1n }) },
      ok: { handle: async (p) => p },
      refuse: {
        handle: () => {
          throw new RequestError(-32002, "Session not found", { n: 1n });
        },
      },
    });
    send(req(1, "now"), req(2, "later"), [req(3, "later"), req(6, "refuse"), req(4, "ok", { n: 4 })], req(5, "ok", { n: 5 }));
    await tick();
    const internal = { code: -32603, message: "Internal error" };
    expect(messages()).toEqual([
      { jsonrpc: "2.0", id: 1, error: internal },
      { jsonrpc: "2.0", id: 2, error: internal },
      [
        { jsonrpc: "2.0", id: 3, error: internal },
        { jsonrpc: "2.0", id: 6, error: internal },
        { jsonrpc: "2.0", id: 4, result: { n: 4 } },
      ],
      { jsonrpc: "2.0", id: 5, result: { n: 5 } },
    ]);
    expect(errors.filter((e) => e.includes("could not be made"))).toHaveLength(4);
  });

  it("checks envelopes", () => {
    const { send, messages } = setup({ m: { handle: () => 1 } });
    send(
      "{oops",
      "42",
      { jsonrpc: "1.0", id: 1, method: "m" },
      { jsonrpc: "2.0", id: 2, method: 7 },
      { jsonrpc: "2.0", id: [1], method: "m" },
    );
    send({ jsonrpc: "2.0", id: 3, method: "m", params: "str" }, { jsonrpc: "2.0", id: 9, result: 1 });
    expect(messages().map((m) => [m.id, m.error?.code])).toEqual([
      [null, -32700],
      [null, -32600],
      [1, -32600],
      [2, -32600],
      [null, -32600],
      [3, -32600],
    ]);
  });

  it("answers batches as arrays, nothing for all-notification batches, -32600 for []", () => {
    const { send, messages } = setup({ m: { handle: (p) => p } });
    send([req(1, "m", { x: 1 }), { jsonrpc: "2.0", method: "m" }, req(2, "zz"), 5]);
    send([{ jsonrpc: "2.0", method: "m" }]);
    send([]);
    const [batch, empty] = messages();
    expect(batch).toEqual([
      { jsonrpc: "2.0", id: 1, result: { x: 1 } },
      { jsonrpc: "2.0", id: 2, error: { code: -32601, message: "Method not found: zz", data: { method: "zz" } } },
      { jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid request: a JSON-RPC message must be an object" } },
    ]);
    expect(empty.error.code).toBe(-32600);
    expect(messages()).toHaveLength(2);
  });

  it("pipelines a batch's items as it does separate lines: each starts without waiting for the one before, the array keeps their order", async () => {
    const started: string[] = [];
    const pending: { resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
    const later = (name: string) => () => {
      started.push(name);
      return new Promise((resolve, reject) => pending.push({ resolve, reject }));
    };
    const { send, messages } = setup({
      a: { handle: later("a") },
      b: { handle: later("b") },
      c: { handle: later("c") },
      now: { handle: () => "now" },
    });
    // One answer of each method first: a method not answered yet runs alone, its answer's size unknown.
    send(req("a", "a"), req("b", "b"), req("c", "c"), req("now", "now"));
    for (let i = 0; i < 3; i++) {
      pending.shift()!.resolve("warm");
      await tick();
    }
    expect(messages()).toHaveLength(4);
    started.length = 0;
    send([req(1, "a"), { jsonrpc: "2.0", method: "b" }, req(2, "now"), req(3, "c"), req(4, "zz")], req(5, "now"));
    expect(started).toEqual(["a", "b", "c"]);
    pending[2]!.reject(new Error("secret detail"));
    pending[1]!.resolve("B");
    await tick();
    expect(messages()).toHaveLength(4);
    pending[0]!.resolve("A");
    await tick();
    expect(messages().slice(4)).toEqual([
      [
        { jsonrpc: "2.0", id: 1, result: "A" },
        { jsonrpc: "2.0", id: 2, result: "now" },
        { jsonrpc: "2.0", id: 3, error: { code: -32603, message: "Internal error" } },
        { jsonrpc: "2.0", id: 4, error: { code: -32601, message: "Method not found: zz", data: { method: "zz" } } },
      ],
      { jsonrpc: "2.0", id: 5, result: "now" },
    ]);
  });

  it("starts at most maxInFlight requests; the next starts as the first is written", async () => {
    const pending: (() => void)[] = [];
    let started = 0;
    // setup() allows 4 in flight.
    const { send, messages } = setup({
      slow: { handle: () => (started++, new Promise<string>((resolve) => pending.push(() => resolve("s")))) },
    });
    send(req("warm", "slow"));
    pending.shift()!();
    await tick();
    send([...Array.from({ length: 10 }, (_, n) => req(n, "slow"))]);
    expect(started).toBe(1 + 4);
    pending.shift()!();
    await tick();
    expect(started).toBe(1 + 5);
    while (pending.length > 0) {
      pending.shift()!();
      await tick();
    }
    expect(messages()[1].map((a: any) => a.id)).toEqual(Array.from({ length: 10 }, (_, n) => n));
  });

  it("answers two in-flight requests with the same id", async () => {
    const d = deferred();
    const { send, messages } = setup({ slow: { handle: () => d.promise }, fast: { handle: () => "f" } });
    send(req(1, "slow"), req(1, "fast"));
    d.resolve("s");
    await tick();
    expect(messages()).toEqual([
      { jsonrpc: "2.0", id: 1, result: "s" },
      { jsonrpc: "2.0", id: 1, result: "f" },
    ]);
  });

  it("keeps response order when async handlers finish out of order", async () => {
    const a = deferred();
    const b = deferred();
    const { send, messages } = setup({ a: { handle: () => a.promise }, b: { handle: () => b.promise }, c: { handle: () => "c" } });
    send(req(1, "a"), req(2, "b"), req(3, "c"));
    b.resolve("b");
    await tick();
    expect(messages()).toEqual([]);
    a.resolve("a");
    await tick();
    expect(messages().map((m) => m.result)).toEqual(["a", "b", "c"]);
  });

  it("runs an exclusive handler alone: notifications first, later requests after its response", async () => {
    const gate = deferred();
    const started: string[] = [];
    const { send, messages } = setup({
      load: {
        exclusive: true,
        async handle(_p, ctx) {
          started.push("load");
          ctx.notify("session/update", { n: 1 });
          await gate.promise;
          ctx.notify("session/update", { n: 2 });
          return {};
        },
      },
      get: { handle: () => (started.push("get"), "g") },
    });
    send(req(1, "load"), req(2, "get"));
    expect(started).toEqual(["load"]);
    gate.resolve(undefined);
    await tick();
    expect(started).toEqual(["load", "get"]);
    expect(messages().map((m) => m.method ?? m.id)).toEqual(["session/update", "session/update", 1, 2]);
  });

  it("cancels a request still waiting, with -32800, for both cancel spellings; running ones are unaffected", async () => {
    const gate = deferred();
    const { send, messages } = setup({ load: { exclusive: true, handle: () => gate.promise }, get: { handle: () => "g" } });
    send(req(1, "load"), req(2, "get"), req(3, "get"), req(4, "get"));
    send(
      { jsonrpc: "2.0", method: "$/cancel_request", params: { requestId: 2 } },
      { jsonrpc: "2.0", method: "$/cancelRequest", params: { id: 3 } },
    );
    send({ jsonrpc: "2.0", method: "$/cancel_request", params: { requestId: 1 } }, { jsonrpc: "2.0", method: "$/cancel_request" });
    gate.resolve({});
    await tick();
    expect(messages().map((m) => [m.id, m.result ?? m.error.code])).toEqual([
      [1, {}],
      [2, -32800],
      [3, -32800],
      [4, "g"],
    ]);
  });

  it("asks the transport to pause when too much is in flight or output backs up, and resumes", async () => {
    const d = deferred();
    let writable = true;
    const { send, pauses, connection } = setup({ slow: { handle: () => d.promise } }, () => writable);
    send(req(1, "slow"), req(2, "slow"), req(3, "slow"), req(4, "slow"));
    expect(pauses).toEqual([true]);
    writable = false;
    d.resolve(1);
    await tick();
    expect(pauses.at(-1)).toBe(true);
    connection.outputDrained();
    expect(pauses.at(-1)).toBe(false);
  });

  it("idle() resolves once everything received is answered", async () => {
    const d = deferred();
    const { send, messages, connection } = setup({ slow: { handle: () => d.promise } });
    send(req(1, "slow"));
    let idle = false;
    void connection.idle().then(() => (idle = true));
    await tick();
    expect(idle).toBe(false);
    d.resolve("x");
    await tick();
    expect(idle).toBe(true);
    expect(messages()).toHaveLength(1);
  });
});
