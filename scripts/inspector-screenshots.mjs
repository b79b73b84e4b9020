// Takes the inspector's screenshots for the docs (docs/inspector-list.png, docs/inspector-conversation.png):
// a SQLite store with a few sessions, `acp-sessions inspect` on it, headless Chromium at 1280×800.
// Run after `npm run build`: node scripts/inspector-screenshots.mjs
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { SessionClient } from "../dist/src/client/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "acp-screenshots-"));
const store = `sqlite:${join(dir, "sessions.db")}`;
const minutesAgo = (n) => new Date(Date.now() - n * 60_000).toISOString();

const client = SessionClient.spawn({ store });
await client.initialize();
const parser = (await client.newSession({ cwd: "/home/me/parser", title: "Split parse() in two", mcpServers: [{ name: "filesystem" }] }))
  .sessionId;
await client.updateSession({
  sessionId: parser,
  messages: [
    { messageId: "m1", role: "system", content: "You are a careful TypeScript reviewer.", timestamp: minutesAgo(42) },
    {
      messageId: "m2",
      role: "user",
      content: "parse() reads the header and the body in one 300-line function. Split it in two, keeping the tests green.",
      timestamp: minutesAgo(41),
    },
    {
      messageId: "m3",
      role: "assistant",
      content: [
        {
          type: "text",
          text: "Done: parseHeader() stops at the first blank line and hands its offset to parseBody().\nAll 48 tests pass.",
        },
        { type: "resource_link", name: "parser.ts", uri: "file:///home/me/parser/src/parser.ts" },
      ],
      timestamp: minutesAgo(39),
    },
    { messageId: "m4", role: "user", content: "Is the <blank line> rule what RFC 9112 says?", timestamp: minutesAgo(12) },
    {
      messageId: "m5",
      role: "assistant",
      content: [
        { type: "text", text: "Yes: the header section ends with an empty line (CRLF CRLF)." },
        { type: "resource_link", name: "RFC 9112, section 2.1", uri: "https://www.rfc-editor.org/rfc/rfc9112#section-2.1" },
      ],
      timestamp: minutesAgo(11),
    },
  ],
});
await client.forkSession({ sessionId: parser, cwd: "/home/me/parser", atMessageId: "m3", title: "Split parse() in three" });
const notes = (await client.newSession({ cwd: "/home/me/site", title: "Release notes for 0.2", retention: { pinned: true } })).sessionId;
await client.updateSession({ sessionId: notes, messages: [{ role: "user", content: "Draft the release notes from the changelog." }] });
await client.newSession({ cwd: "/home/me/scratch" });
await client.close();

const inspector = spawn(process.execPath, [join(root, "bin/acp-sessions.js"), "--store", store, "inspect", "--port", "0"], {
  stdio: ["ignore", "pipe", "inherit"],
});
const url = await new Promise((resolve) => {
  let out = "";
  inspector.stdout.on("data", (chunk) => {
    out += chunk;
    if (out.includes("\n")) resolve(out.split("\n")[0]);
  });
});

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: "light" });
  await page.goto(url);
  await page.getByRole("link", { name: "Split parse() in two" }).waitFor();
  await page.screenshot({ path: join(root, "docs/inspector-list.png") });
  await page.getByRole("link", { name: "Split parse() in two" }).click();
  await page.getByText("Forks of this session:").waitFor();
  await page.screenshot({ path: join(root, "docs/inspector-conversation.png"), fullPage: true });
} finally {
  await browser.close();
  inspector.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
