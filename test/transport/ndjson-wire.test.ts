import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inProcess, type Harness } from "../helpers/in-process.js";
import { rpc } from "../helpers/sidecar.js";

// Newline-delimited JSON through the whole server: line limits, line endings, split reads, end of input.
let s: Harness;
beforeAll(async () => {
  s = await inProcess();
});
afterAll(() => s.close());

describe("the NDJSON wire", () => {
  it("a line over --max-message-bytes is -32600 with id null, and the next line is still answered", async () => {
    const own = await inProcess({ maxMessageBytes: 1024 });
    const big = rpc("big", "session/new", { cwd: "/w", title: "x".repeat(5000) });
    own.write(big.slice(0, 2000));
    own.write(big.slice(2000) + rpc("next", "session/new", { cwd: "/w", title: "small" }));
    const next = await own.response("next");
    expect(next.result.sessionId).toEqual(expect.any(String));
    expect(own.messages[0]).toMatchObject({ id: null, error: { code: -32600 } });
    expect(own.messages.length).toBe(2);
    await own.close();
  });

  it("accepts CRLF line endings and blank lines", async () => {
    s.write(rpc("crlf-1", "session/new", { cwd: "/w", title: "crlf" }).replace("\n", "\r\n") + "\r\n\n");
    s.write(rpc("crlf-2", "session/list", { limit: 1 }).replace("\n", "\r\n"));
    expect((await s.response("crlf-1")).result.sessionId).toEqual(expect.any(String));
    expect((await s.response("crlf-2")).result.sessions[0].title).toBe("crlf");
  });

  it("a multi-byte UTF-8 character split across two reads arrives whole", async () => {
    const title = "naïve — 🚀 日本語";
    const bytes = Buffer.from(rpc("utf8", "session/new", { cwd: "/w", title }));
    const rocket = bytes.indexOf(Buffer.from("🚀"));
    // The first piece ends inside the rocket's 4 bytes; its response proves the sidecar has read it.
    s.write(Buffer.concat([Buffer.from(rpc("utf8-first", "session/list", { limit: 1 })), bytes.subarray(0, rocket + 2)]));
    await s.response("utf8-first");
    s.write(bytes.subarray(rocket + 2));
    const { sessionId } = (await s.response("utf8")).result;
    expect((await s.ok("session/get", { sessionId })).session.title).toBe(title);
  });

  it("a final line without a newline before EOF is answered", async () => {
    const own = await inProcess();
    own.write(rpc(1, "session/new", { cwd: "/w" }) + rpc(2, "session/list", {}).trimEnd());
    await own.close();
    expect(own.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(own.messages[1].result.sessions.length).toBe(1);
  });

  it("initialize, session/new, session/update and session/get piped in one write are all answered in order", async () => {
    const own = await inProcess();
    own.write(rpc(1, "session/new", { cwd: "/w", title: "earlier" }));
    const existing = (await own.response(1)).result.sessionId;
    own.write(
      rpc(2, "initialize", { protocolVersion: 1, clientCapabilities: { terminal: true } }) +
        rpc(3, "session/new", { cwd: "/w", title: "piped" }) +
        rpc(4, "session/update", { sessionId: existing, title: "renamed", messages: [{ messageId: "p1", role: "user", content: "hi" }] }) +
        rpc(5, "session/get", { sessionId: existing }) +
        rpc(6, "session/update", {
          sessionId: existing,
          expectedRevision: 2,
          messages: [{ messageId: "p2", role: "assistant", content: "yo" }],
        }) +
        rpc(7, "session/get", { sessionId: existing, offset: 1 }) +
        rpc(8, "session/list", { cwd: "/w" }),
    );
    await own.close();
    expect(own.messages.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const [, init, created, updated, got, updated2, got2, listed] = own.messages;
    expect(init.result.protocolVersion).toBe(1);
    expect(updated.result).toMatchObject({ appended: 1, revision: 2 });
    expect(got.result.session).toMatchObject({ title: "renamed", messageCount: 1 });
    expect(updated2.result).toMatchObject({ appended: 1, revision: 3 });
    expect(got2.result.session.context.map((m: any) => m.messageId)).toEqual(["p2"]);
    expect(listed.result.sessions.map((x: any) => x.sessionId)).toEqual([created.result.sessionId, existing]);
  });
});
