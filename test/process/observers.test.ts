import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { catchUpUnderAppends, expiryAcrossSidecars, followAcrossSidecars } from "../helpers/observers.js";
import { RedisServer, skipWithoutRedis } from "../helpers/redis-server.js";
import { BIN, ROOT, killAll, spawnSidecar, until } from "../helpers/sidecar.js";

// Live observers (session/subscribe) across sidecars sharing a store, as the built bin runs them
// (npm run build). Every wait polls a condition against a deadline; no figure is asserted here.
afterEach(killAll);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "acp-observers-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const sqlite = (...args: string[]) => ["--store", `sqlite:${join(dir, `o${++files}.db`)}`, ...args];

describe("observers: two sidecars on one SQLite file", () => {
  it("one hears every change the other makes, in order, until the session is removed", async () => {
    const args = sqlite();
    await followAcrossSidecars(spawnSidecar(args), spawnSidecar(args));
  });

  it("catch-up after a message while the other appends: nothing missed, nothing told twice", async () => {
    const args = sqlite();
    await catchUpUnderAppends(spawnSidecar(args), spawnSidecar(args));
  });

  it("the other's reaper deletes the session: `expired` ends the subscription", async () => {
    const args = sqlite();
    await expiryAcrossSidecars(spawnSidecar(args), spawnSidecar([...args, "--max-session-age", "2s", "--cleanup-interval", "50ms"]));
  });

  it("acp-sessions watch prints the other sidecar's changes, one line each, until interrupted", async () => {
    const args = sqlite();
    const writer = spawnSidecar(args);
    const { sessionId } = await writer.ok("session/new", { cwd: "/w" });
    for (const json of [false, true]) {
      const watch = spawn(process.execPath, [BIN, ...args, "watch", sessionId, ...(json ? ["--json"] : [])], { cwd: ROOT });
      let out = "";
      watch.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
      const exited = new Promise<number | null>((resolve) => watch.on("exit", (code) => resolve(code)));
      // The watch has subscribed once its sidecar has written the session's watch mark: a change then shows.
      const marker = `marker-${json}`;
      const deadline = Date.now() + 60_000;
      for (let n = 0; !out.includes(marker); n++) {
        if (Date.now() > deadline) throw new Error("the watch printed no change within 60 s");
        await writer.ok("session/update", { sessionId, title: `${marker}-${n}` });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await writer.ok("session/update", { sessionId, messages: [{ role: "user", content: `two\nlines ${json}` }] });
      await until(() => out.includes(`lines ${json}`), "the appended message");
      watch.kill("SIGINT");
      expect(await exited).toBe(0);
      const lines = out.trimEnd().split("\n");
      if (json) {
        const last = JSON.parse(lines.at(-1)!);
        expect(last).toMatchObject({ sessionId, change: { type: "appended", messages: [{ role: "user", content: "two\nlines true" }] } });
      } else {
        expect(lines.at(-1)).toMatch(/^\[.+\] user: two ⏎ lines false$/);
        expect(lines.some((l) => l.startsWith(`-- updated`) && l.includes(marker))).toBe(true);
      }
    }
  });
});

const noRedis = skipWithoutRedis("the Redis observer process tests");

describe.skipIf(noRedis)("observers: two sidecars on one Redis", () => {
  let server: RedisServer | undefined;
  let prefixes = 0;
  const redis = (...args: string[]) => ["--store", server!.url, "--redis-prefix", `obs${process.pid}-${++prefixes}:`, ...args];
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("one hears every change the other makes, in order, until the session is removed", async () => {
    const args = redis();
    await followAcrossSidecars(spawnSidecar(args), spawnSidecar(args));
  });

  it("catch-up after a message while the other appends: nothing missed, nothing told twice", async () => {
    const args = redis();
    await catchUpUnderAppends(spawnSidecar(args), spawnSidecar(args));
  });

  it("the other's reaper deletes the session: `expired` ends the subscription", async () => {
    // In Redis a session's deadline is set by whoever last accessed it: the subscriber's own age applies.
    const args = redis("--max-session-age", "2s");
    await expiryAcrossSidecars(spawnSidecar(args), spawnSidecar([...args, "--cleanup-interval", "50ms"]));
  });
});
