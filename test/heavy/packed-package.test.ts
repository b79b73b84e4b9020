import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { http } from "../helpers/http.js";
import { RedisServer, skipWithoutRedis } from "../helpers/redis-server.js";
import { ROOT, spawnSidecar, until } from "../helpers/sidecar.js";

// What a user gets from the registry: `npm pack`, the tarball installed into an empty folder, and
// `npx acp-sessions` from there serving a Redis store (whose Lua scripts must have been packed too),
// and its `inspect` serving the page (its modules packed, Preact and htm installed as dependencies).
const run = promisify(execFile);
const npmMissing = spawnSync("npm", ["--version"]).status !== 0;
if (npmMissing) console.log("skipping the packed-package test: npm is not on PATH");
const noRedis = !npmMissing && skipWithoutRedis("the packed-package test");

let work: string;
let server: RedisServer | undefined;

beforeAll(async () => {
  if (npmMissing || noRedis) return;
  work = mkdtempSync(join(tmpdir(), "acp-packed-"));
  server = await RedisServer.start();
  // `npm pack` runs the prepare script, as publishing does.
  await run("npm", ["pack", "--pack-destination", work, "--loglevel=error"], { cwd: ROOT });
  const tarball = readdirSync(work).find((name) => name.endsWith(".tgz"));
  if (!tarball) throw new Error(`npm pack left no tarball in ${work}`);
  const app = join(work, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "packed-package-test", private: true }));
  // The optional native modules (better-sqlite3, msgpackr-extract) are left out: Redis needs neither,
  // and building them from source when no prebuilt binary is reachable takes minutes.
  await run("npm", ["install", join(work, tarball), "--omit=optional", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: app });
});

afterAll(async () => {
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(npmMissing || noRedis)("the packed package, installed from its tarball", () => {
  it("npx acp-sessions --store redis://… serves session/new, session/update and session/get", async () => {
    const sidecar = spawnSidecar(["--store", server!.url], { command: ["npx", "acp-sessions"], cwd: join(work, "app") });
    try {
      const created = await sidecar.ok("session/new", { cwd: "/packed", title: "from the tarball" });
      expect(created.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      const { sessionId } = created;
      const message = { messageId: "m1", role: "user", content: "packed and served" };
      expect(await sidecar.ok("session/update", { sessionId, messages: [message] })).toMatchObject({
        sessionId,
        appended: 1,
        messageCount: 1,
        revision: 2,
      });
      const { session } = await sidecar.ok("session/get", { sessionId });
      expect(session).toMatchObject({ sessionId, cwd: "/packed", title: "from the tarball", messageCount: 1 });
      expect(session.context).toMatchObject([message]);
      expect(await sidecar.end()).toBe(0);
      // stdout is the protocol channel: three answers and nothing else.
      expect(sidecar.lines.map((line) => JSON.parse(line).id)).toEqual([1, 2, 3]);
    } finally {
      sidecar.child.kill("SIGKILL");
    }
  });

  it("its inspect command serves the page, its modules, Preact and htm", async () => {
    // The installed bin itself, not through npx, which does not pass SIGTERM on.
    const bin = join(work, "app", "node_modules", "acp-sessions", "bin", "acp-sessions.js");
    const inspector = spawnSidecar(["inspect", "--port", "0"], { command: [process.execPath, bin], cwd: join(work, "app") });
    try {
      const url = await until(() => inspector.lines[0], "the inspector's URL");
      const port = Number(/^http:\/\/127\.0\.0\.1:(\d+)\/#token=/.exec(url)?.[1]);
      const page = await http(port, { path: "/" });
      expect(page.status).toBe(200);
      expect(page.body).toContain('<script type="module" src="/page/main.js"></script>');
      for (const path of ["/page/main.js", "/page/conversation.js", "/page/style.css", "/vendor/preact.mjs", "/vendor/htm-preact.mjs"]) {
        expect((await http(port, { path })).status, path).toBe(200);
      }
      expect((await http(port, { path: "/", headers: { host: "packed.example" } })).status).toBe(421);
      inspector.child.kill("SIGTERM");
      expect(await inspector.exit).toEqual({ code: 0, signal: null });
    } finally {
      inspector.child.kill("SIGKILL");
    }
  });
});
