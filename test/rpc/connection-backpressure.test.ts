import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { RpcConnection, type MethodEntry } from "../../src/rpc/connection.js";
import { FrameWriter } from "../../src/transport/frame-writer.js";
import { LspReader } from "../../src/transport/lsp-reader.js";
import { deferred, req, tick } from "../helpers/rpc.js";

/**
 * A connection over a writer whose sink says, on each write, whether the client is reading: while it
 * is not, every write asks the writer to wait for 'drain', which the test then sends by hand.
 */
function setup(methods: Record<string, MethodEntry>, options: { answerBudget?: number; maxInFlight?: number } = {}) {
  let out = Buffer.alloc(0);
  const client = { reading: true };
  const writer = new FrameWriter({
    write: (b) => ((out = Buffer.concat([out, b])), client.reading),
  });
  const pauses: boolean[] = [];
  const connection = new RpcConnection({
    writer,
    methods: new Map(Object.entries(methods)),
    log: silentLogger,
    onPause: (p) => pauses.push(p),
    ...options,
  });
  const send = (...frames: unknown[]) => {
    for (const frame of frames) connection.frame(Buffer.from(JSON.stringify(frame)));
    connection.flush();
  };
  const text = () => out.toString();
  /** Whole lines written so far, parsed. */
  const messages = () =>
    text()
      .split("\n")
      .slice(0, -1)
      .map((l) => JSON.parse(l));
  return {
    connection,
    writer,
    client,
    send,
    text,
    messages,
    pauses,
    bytes: () => out,
  };
}

describe("RpcConnection: memory bounded by bytes", () => {
  it("while the output is backed up no request starts, batch items included; each drain lets answers out, in order", async () => {
    const started: unknown[] = [];
    const big = "x".repeat(100_000);
    const { send, client, connection, messages, text, pauses } = setup({
      big: { handle: (p: any) => (started.push(p.n), { n: p.n, big }) },
    });
    client.reading = false;
    send(
      Array.from({ length: 5 }, (_, n) => req(n, "big", { n })),
      req(5, "big", { n: 5 }),
      req(6, "big", { n: 6 }),
    );
    // The first answer filled the output: nothing else started, and input stopped being read.
    expect(started).toEqual([0]);
    expect(pauses).toEqual([true]);
    // The array is written as its answers come: its first answer is out, the line still open.
    expect(text()).toMatch(/^\[\{"jsonrpc":"2\.0","id":0,"result":\{"n":0,/);
    for (let drains = 1; drains < 7; drains++) {
      connection.outputDrained();
      expect(started).toHaveLength(drains + 1);
    }
    client.reading = true;
    connection.outputDrained();
    await tick();
    expect(pauses.at(-1)).toBe(false);
    const [batch, ...rest] = messages();
    expect(batch.map((a: any) => [a.id, a.result.n, a.result.big.length])).toEqual(Array.from({ length: 5 }, (_, n) => [n, n, big.length]));
    expect(rest.map((a: any) => a.id)).toEqual([5, 6]);
  });

  it("a method not answered yet runs alone; then as many run together as the answers expected of them fit the budget", async () => {
    const pending: { n: number; resolve: (v: unknown) => void }[] = [];
    const { send, messages } = setup(
      {
        read: {
          handle: (p: any) => new Promise((resolve) => pending.push({ n: p.n, resolve })),
        },
      },
      { answerBudget: 1000 },
    );
    const answer = "y".repeat(250);
    send(...Array.from({ length: 10 }, (_, n) => req(n, "read", { n })));
    expect(pending.map((p) => p.n)).toEqual([0]);
    pending.shift()!.resolve(answer);
    await tick();
    // Answers of about 290 bytes: three fit 1000 bytes, a fourth does not.
    expect(pending.map((p) => p.n)).toEqual([1, 2, 3]);
    while (pending.length > 0) {
      pending.shift()!.resolve(answer);
      await tick();
    }
    expect(messages().map((m) => m.id)).toEqual(Array.from({ length: 10 }, (_, n) => n));
  });

  it("a notification between requests is not charged the budget: the requests around it run together", async () => {
    const pending: { n: number; resolve: (v: unknown) => void }[] = [];
    const noted: unknown[] = [];
    const { send, messages } = setup(
      {
        read: { handle: (p: any) => new Promise((resolve) => pending.push({ n: p.n, resolve })) },
        note: { handle: (p) => void noted.push(p) },
      },
      { answerBudget: 1000 },
    );
    const answer = "y".repeat(250);
    send(req(0, "read", { n: 0 }));
    pending.shift()!.resolve(answer);
    await tick();
    send(
      req(1, "read", { n: 1 }),
      { jsonrpc: "2.0", method: "note", params: { k: 1 } },
      req(2, "read", { n: 2 }),
      req(3, "read", { n: 3 }),
    );
    // Three answers of about 290 bytes fit 1000 bytes; the notification between them costs nothing.
    expect(pending.map((p) => p.n)).toEqual([1, 2, 3]);
    while (pending.length > 0) {
      pending.shift()!.resolve(answer);
      await tick();
    }
    expect(noted).toEqual([{ k: 1 }]);
    expect(messages().map((m) => m.id)).toEqual([0, 1, 2, 3]);
  });

  it("an answer larger than the whole budget still goes out when it runs alone", async () => {
    const { send, messages } = setup({ huge: { handle: async () => "z".repeat(5000) } }, { answerBudget: 1000 });
    send(req(1, "huge"), req(2, "huge"), [req(3, "huge"), req(4, "huge")]);
    for (let i = 0; i < 8; i++) await tick();
    expect(messages().map((m) => (Array.isArray(m) ? m.map((a) => a.result.length) : m.result.length))).toEqual([5000, 5000, [5000, 5000]]);
  });

  it("a batch's exclusive item: its notifications come before the array, the answers before it wait for it", async () => {
    const gate = deferred();
    const { send, messages, text } = setup({
      get: { handle: () => "g" },
      load: {
        exclusive: true,
        async handle(_p, ctx) {
          ctx.notify("session/update", { n: 1 });
          await gate.promise;
          ctx.notify("session/update", { n: 2 });
          return "loaded";
        },
      },
    });
    send([req(1, "get"), req(2, "load"), req(3, "get")]);
    await tick();
    expect(text()).not.toContain("[");
    gate.resolve(undefined);
    for (let i = 0; i < 3; i++) await tick();
    expect(messages()).toEqual([
      { jsonrpc: "2.0", method: "session/update", params: { n: 1 } },
      { jsonrpc: "2.0", method: "session/update", params: { n: 2 } },
      [
        { jsonrpc: "2.0", id: 1, result: "g" },
        { jsonrpc: "2.0", id: 2, result: "loaded" },
        { jsonrpc: "2.0", id: 3, result: "g" },
      ],
    ]);
  });

  it("a notification sent while a batch's array is open follows the array", async () => {
    const warm = deferred();
    const later = deferred();
    const { send, connection, messages, text } = setup({
      now: { handle: () => "n" },
      later: { handle: (p: any) => (p.warm ? warm.promise : later.promise) },
    });
    send(req("warm", "later", { warm: true }), req("warm-now", "now"));
    warm.resolve("w");
    await tick();
    send([req(1, "now"), req(2, "later"), req(3, "now")]);
    await tick();
    expect(text().endsWith('[{"jsonrpc":"2.0","id":1,"result":"n"}')).toBe(true);
    connection.notify("session/expired", { sessionId: "s" });
    await tick();
    later.resolve("l");
    await tick();
    expect(messages().map((m) => (Array.isArray(m) ? m.map((a) => a.id) : (m.method ?? m.id)))).toEqual([
      "warm",
      "warm-now",
      [1, 2, 3],
      "session/expired",
    ]);
    expect(text().endsWith("\n")).toBe(true);
  });

  it("with LSP framing a batch's answer is one frame of its exact length", async () => {
    const { send, writer, bytes } = setup({ echo: { handle: async (p) => p } });
    writer.framing = "lsp";
    send([req(1, "echo", { t: "héllo 🌍" }), req(2, "echo", { t: "ü" })]);
    for (let i = 0; i < 4; i++) await tick();
    const frames: unknown[] = [];
    new LspReader({ frame: (b) => frames.push(JSON.parse(String(b))), oversize: () => {} }, 1 << 20, () => {}).push(bytes());
    expect(frames).toEqual([
      [
        { jsonrpc: "2.0", id: 1, result: { t: "héllo 🌍" } },
        { jsonrpc: "2.0", id: 2, result: { t: "ü" } },
      ],
    ]);
  });
});
