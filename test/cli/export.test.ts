import { afterEach, describe, expect, it } from "vitest";
import { exportSessions } from "../../src/cli/export.js";
import type { Output } from "../../src/cli/output.js";
import { SessionClient } from "../../src/client/index.js";
import { EXPORT_HEADER } from "../../src/transfer/format.js";
import { inProcess, type Harness } from "../helpers/in-process.js";

// The export's paging against a session that changes between its pages, through the whole server.
let server: Harness | undefined;
let client: SessionClient | undefined;
afterEach(async () => {
  await client?.close();
  await server?.close();
});

async function connect(maxContextMessages = 10_000) {
  server = await inProcess({ maxContextMessages, onContextFull: "trim" });
  client = SessionClient.connect(server.fromServer, server.stdin);
  return { server, client };
}

/** An Output that keeps what is written, and runs `between` once, after the write numbered `after`. */
function recording(between: () => Promise<unknown>, after: number) {
  const writes: string[] = [];
  const output = {
    closed: false,
    async write(text: string) {
      writes.push(text);
      if (writes.length === after) await between();
    },
  };
  return { output: output as unknown as Output, text: () => writes.join("") };
}

const messages = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    messageId: `m${from + i}`,
    role: i % 2 ? ("assistant" as const) : ("user" as const),
    content: "x".repeat(100),
  }));

async function sessionWith(count: number): Promise<string> {
  const { sessionId } = await client!.newSession({ cwd: "/w" });
  if (count > 0) await client!.updateSession({ sessionId, messages: messages(0, count) });
  return sessionId;
}

describe("export's paging", () => {
  it("writes a session as its first page found it: messages appended meanwhile wait for the next export", async () => {
    await connect();
    const sessionId = await sessionWith(100);
    const { output, text } = recording(() => client!.updateSession({ sessionId, messages: messages(100, 5) }), 2);
    expect(await exportSessions(client!, "jsonl", [sessionId], output)).toEqual({ exported: 1, gone: [], cut: [] });
    const [header, line] = text().split("\n");
    expect(header).toBe(EXPORT_HEADER);
    const session = JSON.parse(line!).session;
    expect(session.messageCount).toBe(100);
    expect(session.context.map((m: { messageId: string }) => m.messageId)).toEqual(messages(0, 100).map((m) => m.messageId));
  });

  it("cuts a session off when messages it still had to read are trimmed away, and goes on with the rest", async () => {
    await connect(100);
    const trimmed = await sessionWith(100);
    const other = await sessionWith(3);
    // After the first page of `trimmed` (the header is write 1): 40 more trim away the messages it ends at.
    const { output, text } = recording(() => client!.updateSession({ sessionId: trimmed, messages: messages(100, 40) }), 2);
    expect(await exportSessions(client!, "jsonl", [], output)).toEqual({ exported: 1, gone: [], cut: [trimmed] });
    const lines = text().split("\n");
    expect(lines[0]).toBe(EXPORT_HEADER);
    expect(() => JSON.parse(lines[1]!)).toThrow();
    expect(JSON.parse(lines[2]!).session.sessionId).toBe(other);
  });

  it("leaves out a session removed between the listing and its turn", async () => {
    await connect();
    const removed = await sessionWith(1);
    const kept = await sessionWith(1);
    const { output, text } = recording(() => client!.removeSession({ sessionId: removed }), 1);
    expect(await exportSessions(client!, "jsonl", [], output)).toEqual({ exported: 1, gone: [removed], cut: [] });
    expect(text().trim().split("\n").length).toBe(2);
    expect(text()).toContain(kept);
  });
});
