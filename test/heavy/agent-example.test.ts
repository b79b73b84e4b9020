import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// examples/agent runs as its header says, from the repository root, after the package build. It is
// compiled into a directory of this test's own (inside the package, so `acp-sessions/client` resolves):
// another test building dist/examples at the same time must not swap the files under it.
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const run = promisify(execFile);
const options = { cwd: ROOT, timeout: 60_000 };
if (!existsSync(join(ROOT, "dist", "src", "client", "index.js"))) throw new Error("build first: npm run build");
const outDir = mkdtempSync(join(ROOT, "dist", "agent-example-test-"));
const drive = (...args: string[]) => run(process.execPath, [join(outDir, "drive.js"), ...args], options);

describe("examples/agent: an ACP agent keeping its sessions in acp-sessions", () => {
  const dir = mkdtempSync(join(tmpdir(), "acp-agent-"));
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  });

  beforeAll(async () => {
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    await run(process.execPath, [tsc, "-p", join("examples", "agent"), "--outDir", outDir], options);
  });

  it("stores each prompt and its reply, and answers session/list and session/load from the store", async () => {
    const { stdout } = await drive();
    expect(stdout).toContain("connected to echo-agent");
    expect(stdout).toContain("agent_message_chunk: echo: hello (2 messages stored)");
    expect(stdout).toMatch(/^session\/list: [0-9a-f-]{36} "where do you keep this\?"$/m);
    expect(stdout).toContain(
      "session/load:\n  user_message_chunk: hello\n  agent_message_chunk: echo: hello\n" +
        "  user_message_chunk: where do you keep this?\n  agent_message_chunk: echo: where do you keep this?\ndone\n",
    );
  });

  it("with a durable store, a later agent process sees the earlier one's sessions", async (ctx) => {
    const store = `sqlite:${join(dir, "agent.db")}`;
    const bin = join(ROOT, "bin", "acp-sessions.js");
    const probe = await run(process.execPath, [bin, "--store", store, "call", "session/list"], options).catch((err: Error) => err);
    if (probe instanceof Error) return ctx.skip(`the SQLite store is unavailable: ${probe.message}`);

    await drive("--store", store);
    const second = await drive("--store", store);
    expect(second.stdout).toMatch(/^session\/list: [0-9a-f-]{36} "[^"]+", [0-9a-f-]{36} "[^"]+"$/m);
    const { stdout: table } = await run(process.execPath, [bin, "--store", store, "ls"], options);
    expect(table.trim().split("\n")).toHaveLength(3);
    expect(table).toMatch(/where do you keep this\?\s+4 {2}/);
  });
});
