import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/sidecar.js";

// The shell example runs as its header says, from the repository root (the compiled ones are in test/heavy/).
const run = promisify(execFile);
const options = { cwd: ROOT, timeout: 60_000 };

describe("examples/", () => {
  it("smoke.sh pipes lines into the bin and prints every response", async () => {
    const { stdout, stderr } = await run("bash", [join("examples", "smoke.sh")], options);
    const messages = stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line));
    expect(messages.filter((m) => m.error?.code === -32700)).toHaveLength(1);
    expect(messages.find((m) => m.result?.agentInfo)?.result.agentInfo.name).toBe("acp-sessions");
    expect(messages.filter((m) => m.method === "session/update").map((m) => m.params.update.messageId)).toEqual(["q1", "a1"]);
    expect(stdout).toContain("# sidecar exited with status 0");
    expect(stderr).toBe("");
  });
});
