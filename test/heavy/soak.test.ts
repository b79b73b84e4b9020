import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../../bin/acp-sessions.js", import.meta.url));
const TOTAL = 1_000_000;
const FIRST = 100_000;
const status = (pid: number, field: "VmRSS" | "VmHWM") =>
  Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
const rss = (pid: number) => status(pid, "VmRSS");

/**
 * One sidecar, a million mixed requests, sessions expiring throughout: every request is answered and
 * resident memory at the end is within 20% of where it stood after the first 100,000. "Where it stood"
 * is the peak so far (VmHWM): a single RSS reading lands anywhere in the garbage collector's cycle,
 * which swings by more than 20% on its own, while a leak pushes the end past any earlier peak.
 */
it("soak: 1,000,000 mixed requests with sessions expiring throughout", async () => {
  const child = spawn(process.execPath, [BIN, "--max-session-age", "300ms", "--cleanup-interval", "50ms"]);
  const exit = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const recent: string[] = [];
  let answered = 0;
  let created = 0;
  let errors = 0;
  let rest = "";
  child.stdout.on("data", (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop()!;
    for (const p of parts) {
      if (p.startsWith('{"jsonrpc":"2.0","method"')) continue; // session/expired
      answered++;
      if (p.startsWith('{"jsonrpc":"2.0","id":"n')) recent[created++ % 64] = JSON.parse(p).result.sessionId;
      else if (p.includes('"error"')) errors++;
    }
  });

  let sent = 0;
  let rssAfterFirst = 0;
  const request = (i: number): string => {
    const sessionId = recent[i % 64] ?? "00000000-0000-4000-8000-000000000000";
    switch (i % 10) {
      case 0:
        return JSON.stringify({ jsonrpc: "2.0", id: `n${i}`, method: "session/new", params: { cwd: "/soak" } });
      case 1:
      case 2:
        return JSON.stringify({
          jsonrpc: "2.0",
          id: i,
          method: "session/update",
          params: { sessionId, messages: [{ role: "user", content: `turn ${i}` }] },
        });
      case 3:
        return JSON.stringify({ jsonrpc: "2.0", id: i, method: "session/list", params: { limit: 5 } });
      default:
        return JSON.stringify({ jsonrpc: "2.0", id: i, method: "session/get", params: { sessionId, limit: 20 } });
    }
  };
  while (sent < TOTAL) {
    const lines: string[] = [];
    for (let k = 0; k < 2000 && sent < TOTAL; k++) lines.push(request(sent++));
    const flushed = child.stdin.write(lines.join("\n") + "\n");
    if (!flushed) await new Promise((r) => child.stdin.once("drain", r));
    // Keep at most ~20,000 requests ahead of the answers, so the client never floods itself.
    while (sent - answered > 20_000) await new Promise((r) => setImmediate(r));
    if (!rssAfterFirst && answered >= FIRST) rssAfterFirst = status(child.pid!, "VmHWM");
    if (process.env.ACP_FIGURES && sent % 100_000 === 0)
      console.log(`soak: after ${sent}: RSS ${(rss(child.pid!) / 2 ** 20).toFixed(1)} MiB`);
  }
  while (answered < TOTAL) await new Promise((r) => setTimeout(r, 10));
  const rssAtEnd = rss(child.pid!);
  child.stdin.end();
  expect(await exit).toBe(0);
  expect(answered).toBe(TOTAL);
  if (process.env.ACP_FIGURES)
    console.log(
      `soak: ${TOTAL} requests, ${errors} errors (expired sessions), RSS after ${FIRST}: ${(rssAfterFirst / 2 ** 20).toFixed(1)} MiB, at end: ${(rssAtEnd / 2 ** 20).toFixed(1)} MiB`,
    );
  expect(rssAtEnd).toBeLessThanOrEqual(rssAfterFirst * 1.2);
}, 300_000);
