import { afterEach, describe, expect, it } from "vitest";
import { SessionClient, SessionClientError, type SessionChanged } from "../../src/client/index.js";
import { inProcess, type Harness } from "../helpers/in-process.js";

const servers: Harness[] = [];
const clients: SessionClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close({ timeoutMs: 2000 })));
  await Promise.all(servers.splice(0).map((h) => h.close()));
});

async function connectClient() {
  const server = await inProcess();
  servers.push(server);
  const client = SessionClient.connect(server.fromServer, server.stdin);
  clients.push(client);
  return { server, client };
}

const until = async (condition: () => boolean) => {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe("SessionClient.subscribe", () => {
  it("hears the catch-up and every change until unsubscribed, and says where the session stood", async () => {
    const { client } = await connectClient();
    const { sessionId } = await client.newSession({ cwd: "/w" });
    await client.updateSession({
      sessionId,
      messages: [
        { messageId: "m1", role: "user", content: "a" },
        { messageId: "m2", role: "user", content: "b" },
      ],
    });
    const heard: SessionChanged[] = [];
    const events: SessionChanged[] = [];
    client.on("changed", (c) => events.push(c));
    const unsubscribe = await client.subscribe(sessionId, (c) => heard.push(c), { afterMessageId: "m1" });
    expect({ revision: unsubscribe.revision, messageCount: unsubscribe.messageCount, sessionId: unsubscribe.sessionId }).toEqual({
      revision: 2,
      messageCount: 2,
      sessionId,
    });
    await client.updateSession({ sessionId, title: "t" });
    await until(() => heard.length === 2);
    expect(heard.map((c) => c.change.type)).toEqual(["appended", "updated"]);
    const first = heard[0]!.change;
    expect(first.type === "appended" && first.messages.map((m) => m.messageId)).toEqual(["m2"]);
    expect(events).toEqual(heard);
    await unsubscribe();
    await client.updateSession({ sessionId, title: "u" });
    const marker = await client.subscribe(sessionId, () => {});
    await client.updateSession({ sessionId, title: "v" });
    await until(() => events.length === 3);
    expect(heard).toHaveLength(2);
    await marker();
  });

  it("two subscriptions to one session share one: the sidecar's ends with the last", async () => {
    const { client, server } = await connectClient();
    const { sessionId } = await client.newSession({ cwd: "/w" });
    const a: SessionChanged[] = [];
    const b: SessionChanged[] = [];
    const offA = await client.subscribe(sessionId, (c) => a.push(c));
    const offB = await client.subscribe(sessionId, (c) => b.push(c));
    await client.updateSession({ sessionId, title: "one" });
    await until(() => a.length === 1 && b.length === 1);
    await offA();
    expect(server.messages.some((m) => m.method === "session/unsubscribe")).toBe(false);
    await client.updateSession({ sessionId, title: "two" });
    await until(() => b.length === 2);
    expect(a).toHaveLength(1);
    await offB();
    await offB();
  });

  it("fails with the sidecar's error for an unknown session, and ends by itself when the session is gone", async () => {
    const { client } = await connectClient();
    const err = await client.subscribe("nope", () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionClientError);
    expect((err as SessionClientError).code).toBe(-32002);
    const { sessionId } = await client.newSession({ cwd: "/w" });
    const heard: SessionChanged[] = [];
    const off = await client.subscribe(sessionId, (c) => heard.push(c));
    await client.removeSession({ sessionId });
    await until(() => heard.length === 1);
    expect(heard[0]!.change.type).toBe("removed");
    await off();
  });
});
