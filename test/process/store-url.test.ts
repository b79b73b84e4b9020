import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { killAll, spawnSidecar } from "../helpers/sidecar.js";

// A sqlite: URL that cannot keep sessions across a restart is a usage error: refused before serving.
afterEach(killAll);

const dir = mkdtempSync(join(tmpdir(), "acp-store-url-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("--store sqlite: refuses what is not a durable database file", () => {
  const inMemory = ["sqlite::memory:", "sqlite:", "sqlite:file::memory:?cache=shared", "sqlite:file:sessions.db?mode=memory"];
  const directories = [`sqlite:${dir}`, "sqlite:.", `sqlite:${join(dir, "not-yet")}/`];

  it.each([...inMemory, ...directories])("%s: one line on stderr, exit code 2, nothing created", async (store) => {
    const cwd = mkdtempSync(join(dir, "cwd-"));
    mkdirSync(join(cwd, "inside"));
    const s = spawnSidecar(["--store", store], { cwd });
    // Input ends at once: a sidecar that took the URL and served would exit 0 instead.
    expect(await s.end()).toBe(2);
    expect(s.lines).toEqual([]);
    const stderr = s.stderr();
    expect(stderr).toMatch(/^acp-sessions: sqlite store.*\n$/);
    expect(stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(inMemory.includes(store) ? /in-memory database|no file given/ : /names a directory/);
    // Before, `:memory:` and its kin were created as empty files here.
    expect(readdirSync(cwd)).toEqual(["inside"]);
  });

  it("the same option on a file path serves as before", async () => {
    const s = spawnSidecar(["--store", `sqlite:${join(dir, "sessions.db")}`]);
    expect((await s.ok("session/new", { cwd: "/w" })).sessionId).toEqual(expect.any(String));
    expect(await s.end()).toBe(0);
    expect(s.stderr()).toBe("");
  });
});
