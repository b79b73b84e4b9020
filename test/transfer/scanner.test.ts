import { describe, expect, it } from "vitest";
import { ExportScanner, MAX_PART_BYTES, type ScanEvent } from "../../src/transfer/scanner.js";

/** Every event of `text` fed in chunks of `size` bytes (the whole at once by default). */
function scan(text: string | Buffer, size = Infinity): ScanEvent[] {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const scanner = new ExportScanner();
  const events: ScanEvent[] = [];
  const step = Math.min(size, Math.max(bytes.length, 1));
  for (let i = 0; i < bytes.length; i += step) events.push(...scanner.push(bytes.subarray(i, i + step)));
  events.push(...scanner.end());
  return events;
}

const message = (id: string, text: string) => ({ messageId: id, role: "user", content: text, timestamp: "2026-01-01T00:00:00.000Z" });
const sessionLine = (context: unknown[]) =>
  JSON.stringify({ session: { sessionId: "s", title: 'a "title" with [brackets], {braces} and \\ slashes', context } });

describe("ExportScanner", () => {
  it("hands over a session line as its head, each message, and its end, whatever the chunking", () => {
    const context = [message("m1", "plain"), message("m2", 'quotes " and ] } [ {'), message("m3", "ünïcödé ✓ 𝄞")];
    const text = `{"format":"acp-sessions-export","version":1}\n${sessionLine(context)}\n`;
    const whole = scan(text);
    expect(whole.map((e) => e.kind)).toEqual(["line", "head", "message", "message", "message", "end"]);
    expect(whole[0]).toEqual({ kind: "line", line: 1, text: '{"format":"acp-sessions-export","version":1}' });
    const head = whole[1] as { text: string };
    expect(JSON.parse(head.text + "]}}")).toEqual({ session: { sessionId: "s", title: expect.any(String), context: [] } });
    expect(whole.slice(2, 5).map((e) => JSON.parse((e as { text: string }).text))).toEqual(context);
    expect(whole[5]).toEqual({ kind: "end", line: 2, text: "]}}" });
    for (const size of [1, 2, 3, 7, 64]) expect(scan(text, size)).toEqual(whole);
  });

  it("splits messages holding nested arrays, objects and escapes, and an empty context", () => {
    const nested = {
      messageId: "n",
      role: "assistant",
      content: [
        { type: "text", text: 'x\\"]' },
        { type: "resource", resource: { uri: "u", nested: [[{ a: [] }]] } },
      ],
      timestamp: "t",
    };
    const events = scan(`${sessionLine([nested, nested])}\n${sessionLine([])}\n`, 5);
    expect(events.map((e) => e.kind)).toEqual(["head", "message", "message", "end", "head", "end"]);
    expect(JSON.parse((events[1] as { text: string }).text)).toEqual(nested);
  });

  it("numbers lines from 1, counting blank ones, and reads a last line without a newline", () => {
    const events = scan('\n  \n{"a":1}\r\n\n{"b":2}');
    expect(events).toEqual([
      { kind: "line", line: 3, text: '{"a":1}\r' },
      { kind: "line", line: 5, text: '{"b":2}' },
    ]);
  });

  it("passes a line whole when its context is not where an export puts it", () => {
    const events = scan('{"session":{"context":"no array"}}\n{"other":{"context":[1]}}\n{"session":{"x":{"context":[]}}}\n[1,2]\n');
    expect(events.map((e) => [e.kind, e.line])).toEqual([
      ["line", 1],
      ["line", 2],
      ["line", 3],
      ["line", 4],
    ]);
  });

  it("reports a session line cut short, and reads the next line as it should", () => {
    const cut = sessionLine([message("m1", "a"), message("m2", "b")]).slice(0, -30);
    const events = scan(`${cut}\n${sessionLine([])}\n`);
    expect(events.map((e) => e.kind)).toEqual(["head", "message", "bad", "head", "end"]);
    expect(events[2]).toEqual({ kind: "bad", line: 1, reason: "cut short: its context does not end" });
    expect(events[3]!.line).toBe(2);
  });

  it("gives up on a part longer than it holds, and goes on at the next line", () => {
    const huge = Buffer.alloc(MAX_PART_BYTES + (2 << 20), "x");
    const events = scan(Buffer.concat([Buffer.from('{"note":"'), huge, Buffer.from('"}\n{"a":1}\n')]), 1 << 20);
    // Compared by their start: a failure must not print 64 MiB.
    expect(events.map((e) => JSON.stringify(e).slice(0, 80))).toEqual([
      JSON.stringify({ kind: "bad", line: 1, reason: "longer than 64 MiB" }),
      JSON.stringify({ kind: "line", line: 2, text: '{"a":1}' }),
    ]);
  });
});
