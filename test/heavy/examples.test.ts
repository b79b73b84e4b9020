import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/sidecar.js";

// The TypeScript examples compile and run as their headers say, from the repository root.
const run = promisify(execFile);
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const options = { cwd: ROOT, timeout: 60_000 };

describe("examples/, compiled", () => {
  beforeAll(async () => {
    await run(process.execPath, [tsc, "-p", "examples"], options);
  });

  it("acp-sdk-client runs the lifecycle through the ACP SDK", async () => {
    const { stdout } = await run(process.execPath, [join("dist", "examples", "acp-sdk-client.js")], options);
    expect(stdout).toMatch(/^connected to acp-sessions \S+ \(protocol 1\)$/m);
    expect(stdout).toContain("session/update: appended 2 (revision 2); retried: appended 0");
    expect(stdout).toContain("replayed user_message_chunk q1: Where are sessions kept?");
    expect(stdout).toContain("replayed agent_message_chunk a1: In the acp-sessions sidecar.");
    expect(stdout).toContain("session/delete: done");
    expect(stdout).toContain("sidecar exited with code 0");
  });

  it("vscode-jsonrpc-client talks LSP framing as an editor extension would", async () => {
    const { stdout } = await run(process.execPath, [join("dist", "examples", "vscode-jsonrpc-client.js")], options);
    expect(stdout).toMatch(/^connected to acp-sessions /m);
    expect(stdout).toContain("session/update: 2 messages, revision 2");
    expect(stdout).toContain("stale update refused: -32010");
    expect(stdout).toContain('session/get: "from the editor", user:q1 assistant:a1');
    expect(stdout).toContain("replayed agent_message_chunk a1");
    expect(stdout).toContain("sidecar exited with code 0");
  });
});
