import { afterAll, afterEach, describe, expect, it } from "vitest";
import { inProcess } from "../helpers/in-process.js";
import { availableStores, stopStores } from "../helpers/stores.js";

type Harness = Awaited<ReturnType<typeof inProcess>>;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

afterAll(stopStores);

describe.each(availableStores())("session/status ($name)", ({ config }) => {
  it("is open while this connection has the session attached, saved otherwise, and changes nothing", async () => {
    h = await inProcess(await config());
    const init = await h.ok("initialize", { protocolVersion: 1 });
    expect(init.agentCapabilities.sessionCapabilities).toMatchObject({ status: {} });

    const { sessionId } = await h.ok("session/new", {});
    expect(await h.ok("session/status", { sessionId })).toEqual({ status: "open" });
    const before = (await h.ok("session/get", { sessionId })).session;

    await h.ok("session/close", { sessionId });
    expect(await h.ok("session/status", { sessionId })).toEqual({ status: "saved" });
    const after = (await h.ok("session/get", { sessionId })).session;
    expect(after.revision).toBe(before.revision);

    await h.ok("session/resume", { sessionId, cwd: before.cwd });
    expect(await h.ok("session/status", { sessionId })).toEqual({ status: "open" });
    await h.ok("session/close", { sessionId });
    await h.ok("session/load", { sessionId, cwd: before.cwd, mcpServers: [] });
    expect(await h.ok("session/status", { sessionId })).toEqual({ status: "open" });

    const { sessionId: fork } = await h.ok("session/fork", { sessionId, cwd: before.cwd });
    expect(await h.ok("session/status", { sessionId: fork })).toEqual({ status: "open" });
  });

  it("archiving closes the session for this connection; archive and unarchive are idempotent", async () => {
    h = await inProcess(await config());
    const { sessionId } = await h.ok("session/new", {});
    await h.ok("session/archive", { sessionId });
    expect(await h.ok("session/status", { sessionId })).toEqual({ status: "saved" });
    await h.ok("session/archive", { sessionId });
    await h.ok("session/unarchive", { sessionId });
    await h.ok("session/unarchive", { sessionId });
    expect(await h.ok("session/status", { sessionId })).toEqual({ status: "saved" });
  });

  it("an unknown or removed session answers -32002 with its id", async () => {
    h = await inProcess(await config());
    const unknown = await h.call("session/status", { sessionId: "nope" });
    expect(unknown.error).toMatchObject({ code: -32002, data: { sessionId: "nope" } });
    const { sessionId } = await h.ok("session/new", {});
    await h.ok("session/remove", { sessionId });
    expect((await h.call("session/status", { sessionId })).error?.code).toBe(-32002);
    expect((await h.call("session/status", {})).error?.code).toBe(-32602);
  });
});
