import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConnectionClosedError, ErrorCode, SessionClient, type SpawnOptions } from "../../src/client/index.js";
import { BIN } from "../helpers/sidecar.js";
import { failure } from "../helpers/failure.js";

// The client spawning bin/acp-sessions.js, which runs the compiled sidecar (build first): its options become
// flags, and it ends, kills and loses the child.
beforeAll(() => {
  if (!existsSync(new URL("../../dist/src/cli/index.js", import.meta.url))) throw new Error("build first: npm run build");
});

const clients: SessionClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close({ timeoutMs: 2000 })));
});
const spawnClient = (options: SpawnOptions = {}) => {
  const client = SessionClient.spawn({ stderr: "ignore", ...options });
  clients.push(client);
  return client;
};

describe("SessionClient spawning the built bin", () => {
  it("passes its options to the sidecar as flags", async () => {
    const client = spawnClient({ maxSessions: 1, maxSessionAge: "10m", execPath: process.execPath });
    await client.newSession({});
    expect(await failure(client.newSession({}))).toMatchObject({ code: ErrorCode.LimitExceeded });
  });

  it("close() ends the child cleanly, after answering what was already sent", async () => {
    const client = SessionClient.spawn({ stderr: "ignore" });
    const { sessionId } = await client.newSession({});
    const updates = Array.from({ length: 50 }, (_, i) =>
      client.updateSession({ sessionId, messages: [{ role: "user", content: `m${i}` }] }),
    );
    let closed = false;
    client.on("close", () => (closed = true));
    expect(await client.close()).toBe(0);
    expect((await Promise.all(updates)).at(-1)?.messageCount).toBe(50);
    expect(client.child?.exitCode).toBe(0);
    expect(closed).toBe(true);
    expect(await failure(client.listSessions())).toBeInstanceOf(ConnectionClosedError);
  });

  it("close() kills a sidecar that does not exit in time", async () => {
    const client = SessionClient.spawn({ stderr: "ignore" });
    await client.initialize();
    client.child!.kill("SIGSTOP");
    expect(await client.close({ timeoutMs: 200 })).toBeNull();
    expect(client.child!.signalCode).toBe("SIGKILL");
  });

  it("fails pending and later requests with ConnectionClosedError when the sidecar dies", async () => {
    const client = spawnClient();
    await client.initialize();
    // session/load of a long session keeps a request pending while the process is killed.
    const { sessionId } = await client.newSession({ cwd: "/w" });
    const messages = Array.from({ length: 2000 }, (_, i) => ({ role: "user" as const, content: `m${i}` }));
    await client.updateSession({ sessionId, messages });
    const pending = client.loadSession({ sessionId, cwd: "/w" }, () => {});
    client.child!.kill("SIGKILL");
    const err = await failure(pending);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err).toMatchObject({ message: "the sidecar was ended by SIGKILL", exit: { code: null, signal: "SIGKILL" } });
    expect(await failure(client.listSessions())).toBeInstanceOf(ConnectionClosedError);
  });

  it("reports a sidecar that cannot start as ConnectionClosedError with its exit code", async () => {
    const client = spawnClient({ store: "nonsense:" });
    const err = await failure(client.initialize());
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err).toMatchObject({ exit: { code: 1 } });
  });

  it("connects over existing streams", async () => {
    const child = spawn(process.execPath, [BIN], { stdio: ["pipe", "pipe", "ignore"] });
    const client = SessionClient.connect(child.stdout, child.stdin);
    const { sessionId } = await client.newSession({ title: "over streams" });
    expect((await client.getSession({ sessionId })).session.title).toBe("over streams");
    const exited = new Promise((resolve) => child.once("exit", resolve));
    expect(await client.close()).toBeNull();
    expect(await exited).toBe(0);
    expect(await failure(client.listSessions())).toBeInstanceOf(ConnectionClosedError);
  });
});
