import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { networkInterfaces } from "node:os";
import { connect } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tokensEqual } from "../../src/inspector/security.js";
import { killAll, spawnSidecar, until } from "../helpers/sidecar.js";
import { http } from "../helpers/http.js";
import { inspectorUnavailable, pageHeaders, sidecarOn, startInspector, workDir, type Inspector } from "./harness.js";

// The inspector's server as plain HTTP requests see it: the guards in front of the page and the API,
// the API's mapping onto the protocol, and the process (stdout, port, signals).
const unavailable = inspectorUnavailable({ browser: false });
if (unavailable) console.log(`skipping the inspector's HTTP tests: ${unavailable}`);

const work = workDir();
afterAll(() => work.removeAll());

describe("tokensEqual", () => {
  it("accepts only the same token, whatever the lengths", () => {
    expect(tokensEqual("abc", "abc")).toBe(true);
    expect(tokensEqual("abd", "abc")).toBe(false);
    expect(tokensEqual("ab", "abc")).toBe(false);
    expect(tokensEqual("", "abc")).toBe(false);
  });
});

describe.skipIf(unavailable)("acp-sessions inspect over plain HTTP", () => {
  const file = work.file("http.db");
  let inspector: Inspector;
  let sessionId: string;

  beforeAll(async () => {
    const seed = sidecarOn(file);
    sessionId = (await seed.ok("session/new", { cwd: "/http", title: "seeded" })).sessionId;
    await seed.ok("session/update", { sessionId, messages: [{ messageId: "m1", role: "user", content: "hello" }] });
    expect(await seed.end()).toBe(0);
    inspector = await startInspector(file);
  });
  afterAll(killAll);

  const api = (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) =>
    http(inspector.port, { path: `/api${path}`, ...init, headers: { authorization: `Bearer ${inspector.token}`, ...init.headers } });
  const change = (method: string, path: string, body: unknown) =>
    http(inspector.port, { method, path: `/api${path}`, headers: pageHeaders(inspector), body: JSON.stringify(body) });

  it("serves the page with its security headers, a CSP hash for its import map and no CORS header", async () => {
    const page = await http(inspector.port, {});
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    const importMap = /<script type="importmap">(.*?)<\/script>/.exec(page.body)?.[1];
    expect(importMap).toBeDefined();
    const hash = createHash("sha256").update(importMap!).digest("base64");
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(page.headers).toMatchObject({
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-store",
    });
    // The only inline script is the hashed import map; the rest are files of its own origin.
    expect(page.body.match(/<script/g)).toHaveLength(2);
    expect(page.body).toContain('<script type="module" src="/page/main.js"></script>');

    for (const path of ["/page/main.js", "/page/style.css", "/vendor/preact.mjs", "/vendor/htm-preact.mjs"]) {
      const file = await http(inspector.port, { path });
      expect(file.status, path).toBe(200);
      expect(file.headers["x-content-type-options"]).toBe("nosniff");
    }
    const preflight = await http(inspector.port, {
      method: "OPTIONS",
      path: "/api/sessions",
      headers: { origin: "https://evil.example", "access-control-request-method": "DELETE" },
    });
    for (const answer of [page, preflight, await api("/sessions")]) {
      expect(Object.keys(answer.headers).filter((name) => name.startsWith("access-control-"))).toEqual([]);
    }
  });

  it("answers only for 127.0.0.1, localhost and [::1] at its port: any other Host gets 421 and the reason, not the page", async () => {
    const { port } = inspector;
    for (const path of ["/", "/page/main.js", "/vendor/preact.mjs", "/api/sessions", "/nothing"]) {
      for (const host of ["evil.example", `evil.example:${port}`, `127.0.0.1:${port + 1}`, "localhost", `127.0.0.1.nip.io:${port}`]) {
        const answer = await http(port, { path, headers: { host, authorization: `Bearer ${inspector.token}` } });
        expect(answer.status, `${host} ${path}`).toBe(421);
        expect(answer.body).toBe(
          `Refused: Host ${JSON.stringify(host)} is not 127.0.0.1:${port}, localhost:${port}, [::1]:${port}: open http://127.0.0.1:${port}/ (DNS rebinding protection).\n`,
        );
        expect(answer.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
      }
    }
    for (const host of [`localhost:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`]) {
      expect((await http(port, { headers: { host } })).status, host).toBe(200);
    }
  });

  it("API calls need the run's token as a Bearer header: 401 without it or with another, saying which", async () => {
    const none = await http(inspector.port, { path: "/api/sessions" });
    expect(none).toMatchObject({
      status: 401,
      body: "Refused: no token: open the URL `acp-sessions inspect` printed, with its #token=… part.\n",
    });
    const wrong = await api("/sessions", { headers: { authorization: `Bearer ${inspector.token.slice(1)}x` } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatch(/^Refused: wrong token: /);
    // Never from the query string, which logs and history keep.
    expect((await http(inspector.port, { path: `/api/sessions?token=${inspector.token}` })).status).toBe(401);
    expect((await api("/sessions")).status).toBe(200);
  });

  it("streams a session's changes as server-sent events, the token in the query on that path only", async () => {
    const events = (query: string, headers: Record<string, string> = {}) => http(inspector.port, { path: `/api/events?${query}`, headers });
    expect(await events(`sessionId=${sessionId}`)).toMatchObject({ status: 401, body: expect.stringMatching(/^Refused: no token: /) });
    expect(await events(`sessionId=${sessionId}&token=${inspector.token.slice(1)}x`)).toMatchObject({
      status: 401,
      body: expect.stringMatching(/^Refused: wrong token: /),
    });
    const rebound = await events(`sessionId=${sessionId}&token=${inspector.token}`, { host: `evil.example:${inspector.port}` });
    expect(rebound.status).toBe(421);
    // An unknown session is said as an event (EventSource cannot read a status), and the stream ends.
    const unknown = await events(`sessionId=00000000-0000-4000-8000-000000000000&token=${inspector.token}`);
    expect(unknown.status).toBe(200);
    expect(unknown.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(unknown.body).toMatch(/^event: gone\ndata: \{"code":-32002,/);

    const other = sidecarOn(file);
    const followed = (await other.ok("session/new", { cwd: "/http", title: "followed" })).sessionId;
    const stream = openStream(inspector.port, `/api/events?sessionId=${followed}&token=${inspector.token}`);
    await until(() => stream.text().includes("event: subscribed"), "the subscription");
    await other.ok("session/update", { sessionId: followed, messages: [{ messageId: "e1", role: "user", content: "live" }] });
    await until(() => stream.text().includes('"type":"appended"'), "the appended message");
    expect(stream.text()).toContain('"messageId":"e1"');
    await other.ok("session/remove", { sessionId: followed });
    await until(() => stream.ended, "the stream's end after the session is removed");
    expect(stream.text()).toContain('"type":"removed"');
    expect(await other.end()).toBe(0);
  });

  it("changes need the page's Origin (or Sec-Fetch-Site: same-origin): 403 for a foreign or missing one", async () => {
    const body = JSON.stringify({ expectedRevision: 1 });
    const auth = { authorization: `Bearer ${inspector.token}`, "content-type": "application/json" };
    const attempt = (headers: Record<string, string>) =>
      http(inspector.port, { method: "DELETE", path: `/api/sessions/${sessionId}`, headers: { ...auth, ...headers }, body });

    const foreign = await attempt({ origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toMatch(/^Refused: Origin "https:\/\/evil.example" is not http:\/\/127.0.0.1:\d+, /);
    expect((await attempt({ origin: "null" })).status).toBe(403);
    const missing = await attempt({});
    expect(missing).toMatchObject({ status: 403, body: expect.stringMatching(/^Refused: no Origin header/) });
    const crossSite = await attempt({ origin: inspector.origin, "sec-fetch-site": "cross-site" });
    expect(crossSite).toMatchObject({ status: 403, body: expect.stringMatching(/^Refused: Sec-Fetch-Site is "cross-site"/) });

    // Past the guard, the API answers (here: the session is at revision 2, so a revision conflict).
    const passing: Record<string, string>[] = [
      { origin: inspector.origin },
      { origin: `http://localhost:${inspector.port}` },
      { "sec-fetch-site": "same-origin" },
    ];
    for (const headers of passing) {
      const passed = await attempt(headers);
      expect(passed.status, JSON.stringify(headers)).toBe(409);
    }
  });

  it("maps each route onto its protocol method, with the sidecar's errors as JSON and a fitting status", async () => {
    const listed = JSON.parse((await api("/sessions?cwd=/http")).body);
    expect(listed.sessions).toMatchObject([{ sessionId, title: "seeded", messageCount: 1, revision: 2, pinned: false, archived: false }]);
    const got = JSON.parse((await api(`/sessions/${sessionId}?limit=0`)).body);
    expect(got.session).toMatchObject({ sessionId, messageCount: 1, context: [] });

    const unknown = await api("/sessions/no-such-session");
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toEqual({
      error: { code: -32002, message: "Session not found", data: { sessionId: "no-such-session" } },
    });
    const badLimit = await api(`/sessions/${sessionId}?limit=many`);
    expect(badLimit.status).toBe(400);
    expect(JSON.parse(badLimit.body).error).toMatchObject({ code: -32602, data: { issues: [{ path: ["limit"] }] } });
    const relative = await api("/sessions?cwd=relative");
    expect(JSON.parse(relative.body).error).toMatchObject({ code: -32602, data: { issues: [{ path: ["cwd"] }] } });

    const blind = await change("PATCH", `/sessions/${sessionId}`, { title: "blind" });
    expect(blind.status).toBe(400);
    expect(JSON.parse(blind.body).error).toMatchObject({ code: -32602, data: { issues: [{ path: ["expectedRevision"] }] } });
    const stale = await change("PATCH", `/sessions/${sessionId}`, { title: "stale", expectedRevision: 1 });
    expect(stale.status).toBe(409);
    expect(JSON.parse(stale.body).error).toMatchObject({ code: -32010, data: { sessionId, expectedRevision: 1, revision: 2 } });
    const renamed = await change("PATCH", `/sessions/${sessionId}`, { title: "renamed", expectedRevision: 2 });
    expect(JSON.parse(renamed.body)).toMatchObject({ sessionId, revision: 3 });

    const staleArchive = await change("POST", `/sessions/${sessionId}/archive`, { expectedRevision: 2 });
    expect(staleArchive.status).toBe(409);
    expect(JSON.parse(staleArchive.body).error).toMatchObject({ code: -32010, data: { expectedRevision: 2, revision: 3 } });
    expect((await change("POST", `/sessions/${sessionId}/archive`, { expectedRevision: 3 })).status).toBe(200);
    expect((await change("POST", `/sessions/${sessionId}/unarchive`, { expectedRevision: 4 })).status).toBe(200);

    const fork = await change("POST", `/sessions/${sessionId}/fork`, { cwd: "/http", atMessageId: "m1", expectedRevision: 5 });
    const forkId = JSON.parse(fork.body).sessionId;
    expect(JSON.parse((await api(`/sessions/${forkId}`)).body).session).toMatchObject({
      parentSessionId: sessionId,
      forkedAtMessageId: "m1",
    });
    expect(JSON.parse((await change("DELETE", `/sessions/${forkId}`, { expectedRevision: 1 })).body)).toEqual({ removed: true });

    const notJson = await http(inspector.port, {
      method: "PATCH",
      path: `/api/sessions/${sessionId}`,
      headers: { ...pageHeaders(inspector), "content-type": "text/plain" },
      body: "title=x",
    });
    expect(notJson.status).toBe(415);
    const broken = await http(inspector.port, {
      method: "PATCH",
      path: `/api/sessions/${sessionId}`,
      headers: pageHeaders(inspector),
      body: "{",
    });
    expect(JSON.parse(broken.body).error.code).toBe(-32700);
    const huge = await change("PATCH", `/sessions/${sessionId}`, { title: "x".repeat(100_000), expectedRevision: 5 });
    expect(huge.status).toBe(413);
    expect(huge.body).toMatch(/^Refused: a request body is at most/);
  });

  it("reads sessions tail-first with session/export, which is not an access", async () => {
    const other = sidecarOn(file);
    const { sessionId: id } = await other.ok("session/new", { cwd: "/http/tail" });
    const messages = ["a", "b", "c", "d"].map((messageId) => ({ messageId, role: "user", content: `text ${messageId}` }));
    await other.ok("session/update", { sessionId: id, messages });
    const accessed = (await other.ok("session/export", { sessionId: id, limit: 0 })).session.lastAccessed;
    const then = Date.now();
    await until(() => Date.now() > then + 2, "the clock to move on");

    const read = async (query: string) => JSON.parse((await api(`/sessions/${id}${query}`)).body).session;
    const tail = await read("?tail=2");
    expect(tail).toMatchObject({ contextStart: 2, messageCount: 4, lastAccessed: accessed });
    expect(tail.context.map((m: { messageId: string }) => m.messageId)).toEqual(["c", "d"]);
    const earlier = await read("?beforeMessageId=c&limit=1");
    expect(earlier.contextStart).toBe(1);
    expect(earlier.context.map((m: { messageId: string }) => m.messageId)).toEqual(["b"]);
    expect((await read("?offset=0")).context).toHaveLength(4);
    expect((await other.ok("session/export", { sessionId: id, limit: 0 })).session.lastAccessed).toBe(accessed);

    const mixed = await api(`/sessions/${id}?tail=2&offset=1`);
    expect(mixed.status).toBe(400);
    expect(JSON.parse(mixed.body).error).toMatchObject({ code: -32602, data: { issues: [{ path: ["tail"] }] } });
    const absent = await api(`/sessions/${id}?beforeMessageId=zz`);
    expect(JSON.parse(absent.body).error).toMatchObject({ code: -32602, data: { issues: [{ path: ["beforeMessageId"] }] } });
    expect(await other.end()).toBe(0);
  });

  it("maps Rename onto session/set_title and Delete from here onto session/truncate, each with expectedRevision", async () => {
    const other = sidecarOn(file);
    const { sessionId: id } = await other.ok("session/new", { cwd: "/http/edit", title: "before" });
    const messages = ["a", "b", "c", "d"].map((messageId) => ({ messageId, role: "user", content: `text ${messageId}` }));
    await other.ok("session/update", { sessionId: id, messages });
    const error = (answer: { body: string }) => JSON.parse(answer.body).error;

    const blind = await change("POST", `/sessions/${id}/title`, { title: "blind" });
    expect(blind.status).toBe(400);
    expect(error(blind)).toMatchObject({ code: -32602, data: { issues: [{ path: ["expectedRevision"] }] } });
    const stale = await change("POST", `/sessions/${id}/title`, { title: "stale", expectedRevision: 1 });
    expect(stale.status).toBe(409);
    expect(error(stale)).toMatchObject({ code: -32010, data: { sessionId: id, expectedRevision: 1, revision: 2 } });
    const empty = await change("POST", `/sessions/${id}/title`, { title: "   ", expectedRevision: 2 });
    expect(empty.status).toBe(400);
    expect(error(empty)).toMatchObject({ code: -32602, data: { issues: [{ path: ["title"] }] } });
    const renamed = await change("POST", `/sessions/${id}/title`, { title: "  after  ", expectedRevision: 2 });
    expect(JSON.parse(renamed.body)).toEqual({ title: "after" });
    expect((await other.ok("session/export", { sessionId: id, limit: 0 })).session).toMatchObject({ title: "after", revision: 3 });

    const blindCut = await change("POST", `/sessions/${id}/truncate`, { fromMessageId: "c" });
    expect(error(blindCut)).toMatchObject({ code: -32602, data: { issues: [{ path: ["expectedRevision"] }] } });
    const staleCut = await change("POST", `/sessions/${id}/truncate`, { fromMessageId: "c", expectedRevision: 2 });
    expect(staleCut.status).toBe(409);
    expect(error(staleCut)).toMatchObject({ code: -32010, data: { expectedRevision: 2, revision: 3 } });
    const absent = await change("POST", `/sessions/${id}/truncate`, { fromMessageId: "zz", expectedRevision: 3 });
    expect(absent.status).toBe(400);
    expect(error(absent)).toMatchObject({ code: -32602, data: { issues: [{ path: ["fromMessageId"] }] } });
    const cut = await change("POST", `/sessions/${id}/truncate`, { fromMessageId: "c", expectedRevision: 3 });
    expect(JSON.parse(cut.body)).toEqual({ sessionId: id, messageCount: 2, revision: 4, removed: 2 });
    const unknown = await change("POST", "/sessions/no-such-session/truncate", { fromMessageId: "c", expectedRevision: 1 });
    expect(unknown.status).toBe(404);
    expect(await other.end()).toBe(0);
  });

  it("downloads a session's export as an attachment, byte for byte what `acp-sessions export` writes", async () => {
    const other = sidecarOn(file);
    const { sessionId: id } = await other.ok("session/new", { cwd: "/http/export", title: "to take away" });
    // More messages than the export's first page, so the download is written in several parts.
    const messages = Array.from({ length: 40 }, (_, i) => ({
      messageId: `e${i}`,
      role: i % 2 ? "assistant" : "user",
      content:
        i === 1
          ? [
              { type: "text", text: "a <b>block</b>" },
              { type: "resource_link", name: "spec", uri: "https://example.com" },
            ]
          : `message ${i}`,
    }));
    await other.ok("session/update", { sessionId: id, messages });
    expect(await other.end()).toBe(0);

    for (const [format, type, extension] of [
      ["jsonl", "application/jsonl; charset=utf-8", "jsonl"],
      ["markdown", "text/markdown; charset=utf-8", "md"],
    ] as const) {
      const download = await api(`/sessions/${id}/export?format=${format}`);
      expect(download.status, format).toBe(200);
      expect(download.headers).toMatchObject({
        "content-type": type,
        "content-disposition": `attachment; filename="acp-session-${id}.${extension}"`,
        "x-content-type-options": "nosniff",
        "cache-control": "no-store",
      });
      const cli = spawnSidecar(["--store", `sqlite:${file}`, "export", "--format", format, id]);
      expect((await cli.exit).code).toBe(0);
      expect(download.body, format).toBe(cli.lines.join("\n") + "\n");
    }
    const lines = (await api(`/sessions/${id}/export?format=jsonl`)).body.trimEnd().split("\n");
    expect(JSON.parse(lines[0]!)).toEqual({ format: "acp-sessions-export", version: 1 });
    expect(JSON.parse(lines[1]!).session).toMatchObject({ sessionId: id, title: "to take away", messageCount: 40 });
    expect(lines).toHaveLength(2);
    expect((await api(`/sessions/${id}/export?format=markdown`)).body).toMatch(/^# to take away\n/);

    const unknown = await api("/sessions/no-such-session/export?format=jsonl");
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).error).toMatchObject({ code: -32002, data: { sessionId: "no-such-session" } });
    for (const query of ["?format=pdf", ""]) {
      const refused = await api(`/sessions/${id}/export${query}`);
      expect(refused.status, query).toBe(400);
      expect(JSON.parse(refused.body).error).toMatchObject({ code: -32602, data: { issues: [{ path: ["format"] }] } });
    }
    const tokenless = await http(inspector.port, { path: `/api/sessions/${id}/export?format=jsonl` });
    expect(tokenless.status).toBe(401);
  });

  it("--read-only refuses every change with 403 and still reads", async () => {
    const readOnly = await startInspector(file, ["--read-only"]);
    const page = await http(readOnly.port, {});
    expect(page.body).toContain('<meta name="acp-sessions-read-only" content="true">');
    const headers = pageHeaders(readOnly);
    const body = JSON.stringify({ expectedRevision: 5, title: "no" });
    for (const [method, path] of [
      ["PATCH", `/api/sessions/${sessionId}`],
      ["POST", `/api/sessions/${sessionId}/archive`],
      ["POST", `/api/sessions/${sessionId}/unarchive`],
      ["POST", `/api/sessions/${sessionId}/fork`],
      ["POST", `/api/sessions/${sessionId}/title`],
      ["POST", `/api/sessions/${sessionId}/truncate`],
      ["DELETE", `/api/sessions/${sessionId}`],
    ] as const) {
      const refused = await http(readOnly.port, { method, path, headers, body });
      expect(refused, `${method} ${path}`).toMatchObject({
        status: 403,
        body: "Refused: the inspector runs with --read-only: nothing may change the store.\n",
      });
    }
    const read = await http(readOnly.port, { path: `/api/sessions/${sessionId}`, headers });
    expect(JSON.parse(read.body).session).toMatchObject({ title: "renamed", revision: 5 });
    const exported = await http(readOnly.port, { path: `/api/sessions/${sessionId}/export?format=markdown`, headers });
    expect(exported.status).toBe(200);
    expect(exported.body).toMatch(/^# renamed\n/);
  });

  it("listens on 127.0.0.1 only", async () => {
    const { port } = inspector;
    const other = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && !address.internal && address.family === "IPv4")?.address;
    const reaches = (host: string) =>
      new Promise<boolean>((resolve) => {
        const socket = connect({ host, port });
        socket.on("connect", () => (socket.destroy(), resolve(true)));
        socket.on("error", () => resolve(false));
      });
    expect(await reaches("127.0.0.1")).toBe(true);
    if (other !== undefined) expect(await reaches(other)).toBe(false);
  });

  it("prints nothing on stdout but its URL, a new token each run", async () => {
    const another = await startInspector(file);
    expect(another.token).not.toBe(inspector.token);
    expect(another.token.length).toBeGreaterThanOrEqual(43);
    expect(inspector.process.lines).toEqual([inspector.url]);
  });
});

describe.skipIf(unavailable)("the inspect process", () => {
  const file = work.file("process.db");
  afterEach(killAll);

  it("runs on when stdin ends, and exits 0 on SIGTERM or SIGINT with connections still open", async () => {
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const inspector = await startInspector(file);
      inspector.process.child.stdin.end();
      // A kept-alive connection, as an open page holds, and a second one mid-way through a request.
      const agent = new Agent({ keepAlive: true });
      await new Promise<void>((resolve, reject) => {
        request({ host: "127.0.0.1", port: inspector.port, path: "/", agent }, (res) => res.resume().on("end", resolve))
          .on("error", reject)
          .end();
      });
      const idle = connect({ host: "127.0.0.1", port: inspector.port });
      idle.on("error", () => {});
      await new Promise((resolve) => idle.on("connect", resolve));
      idle.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${inspector.port}\r\n`);
      expect((await http(inspector.port, {})).status).toBe(200);

      inspector.process.child.kill(signal);
      expect(await inspector.process.exit, signal).toEqual({ code: 0, signal: null });
      agent.destroy();
      idle.destroy();
    }
  });

  it("exits 0 on SIGTERM with an event stream open", async () => {
    const seed = sidecarOn(file);
    const sessionId = (await seed.ok("session/new", { cwd: "/process" })).sessionId;
    expect(await seed.end()).toBe(0);
    const inspector = await startInspector(file);
    const stream = openStream(inspector.port, `/api/events?sessionId=${sessionId}&token=${inspector.token}`);
    await until(() => stream.text().includes("event: subscribed"), "the subscription");
    inspector.process.child.kill("SIGTERM");
    expect(await inspector.process.exit).toEqual({ code: 0, signal: null });
  });

  it("a port in use is one line on stderr and exit 1; --port takes 0 to 65535", async () => {
    const first = await startInspector(file);
    const second = spawnSidecar(["--store", `sqlite:${file}`, "inspect", "--port", String(first.port)]);
    expect((await second.exit).code).toBe(1);
    expect(second.stderr()).toBe(
      `acp-sessions: port ${first.port} on 127.0.0.1 is in use: choose another with --port <n>, or --port 0 for a free one\n`,
    );
    expect(second.lines).toEqual([]);
    for (const port of ["65536", "1.5", "http"]) {
      const refused = spawnSidecar(["inspect", "--port", port]);
      expect((await refused.exit).code, port).toBe(2);
      expect(refused.stderr()).toContain("expected a port number from 0 to 65535");
    }
  });

  it("--open hands the URL to the desktop's opener", async () => {
    const bin = work.file("bin");
    const opened = work.file("opened.txt");
    mkdirSync(bin, { recursive: true });
    writeFileSync(`${bin}/xdg-open`, `#!/bin/sh\nprintf '%s' "$1" > ${opened}\n`);
    chmodSync(`${bin}/xdg-open`, 0o755);
    const inspector = await startInspector(file, ["--open"], { env: { PATH: `${bin}:${process.env.PATH}` } });
    await until(() => existsSync(opened) && readFileSync(opened, "utf8") !== "", "the opener to run");
    expect(readFileSync(opened, "utf8")).toBe(inspector.url);
  });
});

/** An event stream read as it arrives: what came so far, and whether the server ended it. */
function openStream(port: number, path: string): { text: () => string; ended: boolean } {
  let received = "";
  const stream = { text: () => received, ended: false };
  request({ host: "127.0.0.1", port, path, headers: { host: `127.0.0.1:${port}` }, agent: false }, (res) => {
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => (received += chunk));
    res.on("end", () => (stream.ended = true));
    res.on("error", () => (stream.ended = true));
  })
    .on("error", () => (stream.ended = true))
    .end();
  return stream;
}
