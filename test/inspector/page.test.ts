import { readFileSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { killAll, type Sidecar } from "../helpers/sidecar.js";
import { CHROMIUM, inspectorUnavailable, sidecarOn, startInspector, workDir, type Inspector } from "./harness.js";

// The inspector's page in headless Chromium (Debian's, driven by playwright-core), against the built bin
// on a SQLite file that a second sidecar (`store`) fills and changes behind the page's back.
const unavailable = inspectorUnavailable({ browser: true });
if (unavailable) console.log(`skipping the inspector's browser tests: ${unavailable}`);

/** A 1×1 PNG. */
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

const work = workDir();
let browser: Browser;
let inspector: Inspector;
let store: Sidecar;
let context: BrowserContext;
/** What the page reported as wrong: console errors (CSP and Trusted Types violations among them) and uncaught exceptions. */
let pageErrors: string[];

beforeAll(async () => {
  if (unavailable) return;
  const file = work.file("page.db");
  store = sidecarOn(file);
  await store.ok("session/list", {});
  inspector = await startInspector(file);
  browser = await chromium.launch({ executablePath: CHROMIUM });
});
afterAll(async () => {
  await browser?.close();
  killAll();
  work.removeAll();
});

beforeEach(() => {
  pageErrors = [];
});
afterEach(async () => {
  await context?.close();
  expect(pageErrors).toEqual([]);
});

/** A fresh tab (its own storage) on the inspector's URL, at this size. */
async function openPage(url = inspector.url, viewport = { width: 1280, height: 800 }): Promise<Page> {
  context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on("console", (message) => {
    // An API refusal is part of the page's flow, shown on it; Chromium logs each as a failed load.
    const refusedApiCall = message.text().startsWith("Failed to load resource") && message.location().url.includes("/api/");
    if (message.type() === "error" && !refusedApiCall) pageErrors.push(message.text());
  });
  page.on("pageerror", (err) => pageErrors.push(err.message));
  await page.goto(url);
  return page;
}

async function newSession(params: Record<string, unknown>, messages: unknown[] = []): Promise<string> {
  const { sessionId } = await store.ok("session/new", params);
  if (messages.length > 0) await store.ok("session/update", { sessionId, messages });
  return sessionId;
}

/** The session as the store holds it, read with session/export so that reading it is no access. */
const stored = async (sessionId: string) => (await store.ok("session/export", { sessionId, limit: 0 })).session;

async function filterByCwd(page: Page, cwd: string, archived = "Leave out"): Promise<void> {
  await page.getByLabel("Working directory").fill(cwd);
  await page.getByLabel("Archived sessions").selectOption({ label: archived });
  await page.getByRole("button", { name: "Apply filters" }).click();
}

const button = (page: Page, name: string) => page.getByRole("button", { name, exact: true });

/** How wide the page is laid out, in CSS pixels: wider than the window means something is cut off or scrolls sideways. */
const SCROLL_WIDTH = "document.documentElement.scrollWidth";

/** playwright-core has no web-first assertions: poll what the page shows until it matches, on a busy machine. */
const eventually = <T>(read: () => Promise<T>) => expect.poll(read, { timeout: 30_000, interval: 50 });

describe.skipIf(unavailable)("the inspector's page", () => {
  it("lists sessions newest first with title, cwd, count, last activity and marks; filters; pages as far as the store goes", async () => {
    const older = await newSession({ cwd: "/list", title: "older" }, [
      { role: "user", content: "one" },
      { role: "user", content: "two" },
    ]);
    const pinned = await newSession({ cwd: "/list", title: "pinned one", retention: { pinned: true } });
    const archived = await newSession({ cwd: "/list", title: "archived one" });
    await store.ok("session/archive", { sessionId: archived });
    const fork = (await store.ok("session/fork", { sessionId: older, cwd: "/list", title: "a fork" })).sessionId;
    for (let i = 0; i < 55; i++) await newSession({ cwd: "/paging", title: `paged ${i}` });

    const page = await openPage();
    // The token moved from the address into the tab's storage.
    expect(page.url()).toBe(`${inspector.origin}/`);
    await filterByCwd(page, "/list");
    const rows = page.locator(".session-row");
    await expect.poll(() => rows.locator(".session-title").allTextContents()).toEqual(["a fork", "pinned one", "older"]);
    await expect.poll(() => rows.nth(2).textContent()).toMatch(/older.*\/list.*2 messages.*last activity just now/);
    expect(await rows.nth(1).locator(".mark").allTextContents()).toEqual(["Pinned"]);
    expect(await rows.nth(0).locator(".mark").allTextContents()).toEqual(["Fork"]);
    expect(await rows.nth(0).getByRole("link").getAttribute("href")).toBe(`#/session/${fork}`);
    expect(pinned).toBeTruthy();

    await filterByCwd(page, "/list", "Only these");
    await expect.poll(() => rows.locator(".session-title").allTextContents()).toEqual(["archived one"]);
    expect(await rows.locator(".mark").allTextContents()).toEqual(["Archived"]);
    await filterByCwd(page, "/list", "Include");
    await expect.poll(() => rows.count()).toBe(4);

    await filterByCwd(page, "relative/path");
    await eventually(() => page.getByRole("alert").textContent()).toBe("Invalid params: cwd: must be an absolute path");

    await filterByCwd(page, "/paging");
    await expect.poll(() => rows.count()).toBe(50);
    expect(await rows.first().locator(".session-title").textContent()).toBe("paged 54");
    await button(page, "Load more sessions").click();
    await expect.poll(() => rows.count()).toBe(55);
    expect(await rows.last().locator(".session-title").textContent()).toBe("paged 0");
    await eventually(() => button(page, "Load more sessions").count()).toBe(0);
  });

  it("opens a conversation: roles, times, content as text, safe images and links, the fields, the fork tree both ways", async () => {
    const parent = await newSession({ cwd: "/conversation", title: "the parent", mcpServers: [{ name: "filesystem" }] }, [
      { messageId: "c1", role: "system", content: "Be brief.", timestamp: "2026-01-02T10:00:00.000Z" },
      { messageId: "c2", role: "user", content: "Line one\nLine two", timestamp: "2026-01-02T10:01:00.000Z" },
      {
        messageId: "c3",
        role: "assistant",
        content: [
          { type: "text", text: "Here it is." },
          { type: "image", mimeType: "image/png", data: PNG },
          { type: "image", mimeType: "image/svg+xml", data: "PHN2Zy8+" },
          { type: "resource_link", name: "the spec", uri: "https://example.com/spec" },
          { type: "resource_link", name: "a file", uri: "file:///etc/passwd" },
          { type: "resource", resource: { uri: "file:///notes.txt", mimeType: "text/plain", text: "the notes" } },
          { type: "audio", mimeType: "audio/wav", data: "AAAA" },
        ],
        timestamp: "2026-01-02T10:02:00.000Z",
      },
    ]);
    const child = (await store.ok("session/fork", { sessionId: parent, cwd: "/conversation", atMessageId: "c2", title: "the child" }))
      .sessionId;

    const page = await openPage();
    await filterByCwd(page, "/conversation");
    await page.getByRole("link", { name: "the parent" }).click();
    await eventually(() => page.getByRole("heading", { level: 2 }).textContent()).toBe("the parent");
    expect(page.url()).toBe(`${inspector.origin}/#/session/${parent}`);

    const messages = page.locator(".message");
    await eventually(() => messages.count()).toBe(3);
    expect(await messages.locator(".role").allTextContents()).toEqual(["System", "User", "Assistant"]);
    expect(await messages.nth(0).locator("time").getAttribute("datetime")).toBe("2026-01-02T10:00:00.000Z");
    expect(await messages.nth(1).locator(".text").innerText()).toBe("Line one\nLine two");
    const assistant = messages.nth(2);
    const images = assistant.locator("img");
    await eventually(() => images.count()).toBe(1);
    expect(await images.getAttribute("src")).toBe(`data:image/png;base64,${PNG}`);
    await eventually(() => images.evaluate((img) => (img as any).naturalWidth)).toBe(1);
    await eventually(() => assistant.textContent()).toContain("An image of type image/svg+xml, not shown.");
    const link = assistant.getByRole("link", { name: "https://example.com/spec" });
    expect(await link.getAttribute("rel")).toBe("noopener noreferrer");
    expect(await link.getAttribute("target")).toBe("_blank");
    await eventually(() => assistant.getByRole("link").count()).toBe(1);
    await eventually(() => assistant.textContent()).toContain("Link: a file — file:///etc/passwd");
    await eventually(() => assistant.textContent()).toContain("Resource: file:///notes.txt (text/plain, 9 characters of text)");
    await eventually(() => assistant.textContent()).toContain("Audio (audio/wav), not played here.");

    const fields = page.locator(".fields");
    await eventually(() => fields.textContent()).toContain("/conversation");
    await eventually(() => fields.textContent()).toContain("filesystem");
    await eventually(() => fields.textContent()).toContain("Expires after 1 h without activity");
    await eventually(() => fields.textContent()).toContain(parent);
    await eventually(() => page.locator(".family").textContent()).toContain("Forks of this session:the child, created just now");
    await page.locator(".family").getByRole("link", { name: "the child" }).click();

    await eventually(() => page.getByRole("heading", { level: 2 }).textContent()).toBe("the child");
    await eventually(() => page.locator(".family").textContent()).toContain("Forked from the parent at message c2.");
    await eventually(() => page.locator(".family").textContent()).toContain("No forks of this session.");
    await eventually(() => messages.count()).toBe(2);
    await page.locator(".family").getByRole("link", { name: "the parent" }).click();
    await eventually(() => page.getByRole("heading", { level: 2 }).textContent()).toBe("the parent");
    expect(child).toBeTruthy();
  });

  it("opens a long session at its newest message, and loads earlier ones up to the start as it is scrolled up", async () => {
    const messages = Array.from({ length: 500 }, (_, i) => ({
      messageId: `l${i}`,
      role: i % 2 ? "assistant" : "user",
      content: i % 7 ? `message ${i}` : `message ${i}\n${"a longer line of text ".repeat(12)}`,
    }));
    const sessionId = await newSession({ cwd: "/long", title: "long" }, messages);
    const accessed = (await stored(sessionId)).lastAccessed;
    const page = await openPage();
    await show(page, sessionId);
    const shown = page.locator(".message");
    await eventually(() => shown.count()).toBe(100);
    expect(await shown.first().locator(".text").textContent()).toMatch(/^message 400\b/);
    await page.getByText("Messages 401 to 500 of 500, newest last.").waitFor();
    const pane = page.locator(".message-pane");
    // At its end: the pane is scrolled down to the newest message.
    expect(await pane.evaluate((el: any) => el.scrollHeight - el.scrollTop - el.clientHeight)).toBeLessThanOrEqual(1);
    expect(await pane.evaluate((el: any) => el.scrollHeight > el.clientHeight * 2)).toBe(true);

    for (let first = 400; first > 0; first -= 100) {
      // Scrolled to the top: the earlier messages go in above, and the message that was on top stays where it was.
      const before = await pane.evaluate((el: any) => {
        el.scrollTop = 0;
        const top = el.querySelector(".message");
        return { id: top.dataset.messageId, y: top.getBoundingClientRect().top - el.getBoundingClientRect().top };
      });
      expect(before.id).toBe(`l${first}`);
      await eventually(() => shown.count()).toBe(600 - first);
      const after = await pane.evaluate(
        (el: any, id: string) => el.querySelector(`[data-message-id="${id}"]`).getBoundingClientRect().top - el.getBoundingClientRect().top,
        before.id,
      );
      expect(Math.abs(after - before.y), `l${first}`).toBeLessThanOrEqual(1);
      expect(await pane.evaluate((el: any) => el.scrollTop)).toBeGreaterThan(0);
    }
    await page.getByText("The start of the conversation.").waitFor();
    expect(await shown.first().locator(".text").textContent()).toMatch(/^message 0\b/);
    await page.getByText("All 500 messages, newest last.").waitFor();
    expect(await button(page, "Load earlier messages").count()).toBe(0);
    // Looking at a session is not an access: its idle clock did not restart.
    expect((await stored(sessionId)).lastAccessed).toBe(accessed);
  });

  it("loads earlier messages with the keyboard too, from the button at the top of the pane", async () => {
    const messages = Array.from({ length: 150 }, (_, i) => ({ messageId: `k${i}`, role: "user", content: `message ${i}` }));
    const sessionId = await newSession({ cwd: "/long", title: "by keyboard" }, messages);
    const page = await openSession(sessionId);
    await eventually(() => page.locator(".message").count()).toBe(100);
    // Focused without scrolling the pane, which would read them by itself: here Enter does.
    await button(page, "Load earlier messages").evaluate((element: any) => element.focus({ preventScroll: true }));
    expect(await page.locator(".message-pane").evaluate((el: any) => el.scrollTop)).toBeGreaterThan(0);
    await page.keyboard.press("Enter");
    await eventually(() => page.locator(".message").count()).toBe(150);
    await page.getByText("The start of the conversation.").waitFor();
  });

  it("when the first message shown is cut away meanwhile, shows the conversation again from its end and says why", async () => {
    const messages = Array.from({ length: 150 }, (_, i) => ({ messageId: `g${i}`, role: "user", content: `message ${i}` }));
    const sessionId = await newSession({ cwd: "/long", title: "cut behind the page" }, messages);
    const page = await openSession(sessionId, { live: false });
    await eventually(() => page.locator(".message").count()).toBe(100);
    await store.ok("session/truncate", { sessionId, fromMessageId: "g40" });
    await page.locator(".message-pane").evaluate((el: any) => (el.scrollTop = 0));
    await eventually(() => page.getByRole("alert").textContent()).toBe(
      "This conversation changed while its earlier messages were read: it is shown again from its newest messages.",
    );
    await eventually(() => page.locator(".message").count()).toBe(40);
    await page.getByText("All 40 messages, newest last.").waitFor();
  });

  it("Rename, Archive, Unarchive, Pin and Unpin change the store, each with the revision the page showed", async () => {
    const sessionId = await newSession({ cwd: "/actions", title: "before", retention: { maxIdle: "2h" } }, [
      { role: "user", content: "hi" },
    ]);
    const accessed = (await stored(sessionId)).lastAccessed;
    const page = await openSession(sessionId);

    // Rename is session/set_title, which stores the title trimmed and is not an access.
    await button(page, "Rename").click();
    await page.getByLabel("New title").fill("  after  ");
    await button(page, "Save title").click();
    await eventually(() => page.getByRole("heading", { level: 2 }).textContent()).toBe("after");
    await eventually(() => page.locator(".done").textContent()).toBe("Renamed to “after”.");
    expect(await stored(sessionId)).toMatchObject({ title: "after", revision: 3, lastAccessed: accessed });

    await button(page, "Archive").click();
    await button(page, "Unarchive").waitFor();
    expect(await page.locator(".conversation > .marks .mark").allTextContents()).toEqual(["Archived"]);
    expect(await stored(sessionId)).toMatchObject({ archived: true, revision: 4 });
    await button(page, "Unarchive").click();
    await button(page, "Archive").waitFor();
    expect(await stored(sessionId)).toMatchObject({ archived: false, revision: 5 });

    await button(page, "Pin").click();
    await button(page, "Unpin").waitFor();
    await eventually(() => page.locator(".fields").textContent()).toContain("Pinned: never expires for idleness");
    // Pinning leaves the session's own idle age as it was.
    expect((await stored(sessionId)).retention).toEqual({ maxIdleMs: 7_200_000, pinned: true });
    await button(page, "Unpin").click();
    await eventually(() => page.locator(".fields").textContent()).toContain("Expires after 2 h without activity");
    expect((await stored(sessionId)).retention).toEqual({ maxIdleMs: 7_200_000, pinned: false });

    // A title of only spaces is refused by the sidecar, which says why.
    await button(page, "Rename").click();
    await page.getByLabel("New title").fill("   ");
    await button(page, "Save title").click();
    await eventually(() => page.getByRole("alert").textContent()).toBe(
      "Rename failed: Invalid params: title: is empty after trimming whitespace",
    );
    expect((await stored(sessionId)).title).toBe("after");
  });

  it("Fork here makes a fork at that message and opens it", async () => {
    const sessionId = await newSession({ cwd: "/fork-here", title: "to fork" }, [
      { messageId: "f1", role: "user", content: "first" },
      { messageId: "f2", role: "assistant", content: "second" },
      { messageId: "f3", role: "user", content: "third" },
    ]);
    const page = await openSession(sessionId);
    await page.locator(".message").nth(1).getByRole("button", { name: "Fork here" }).click();
    await eventually(() => page.locator(".notice").textContent()).toBe(
      "This is the new fork of “to fork”, holding its messages up to the one chosen.",
    );
    const forkId = decodeURIComponent(/#\/session\/(.+)$/.exec(page.url())![1]!);
    expect(forkId).not.toBe(sessionId);
    await eventually(() => page.locator(".message").count()).toBe(2);
    await eventually(() => page.locator(".family").textContent()).toContain("Forked from to fork at message f2.");
    expect(await stored(forkId)).toMatchObject({
      parentSessionId: sessionId,
      forkedAtMessageId: "f2",
      cwd: "/fork-here",
      title: "to fork",
    });
  });

  it("Delete asks first in an in-page dialog whose button says Delete; Cancel and Escape keep the session", async () => {
    const sessionId = await newSession({ cwd: "/delete", title: "doomed" }, [{ role: "user", content: "bye" }]);
    const page = await openSession(sessionId);
    const dialog = page.getByRole("dialog");

    await button(page, "Delete").click();
    await dialog.waitFor();
    await eventually(() => dialog.getByRole("heading").textContent()).toBe("Delete “doomed”?");
    await eventually(() => dialog.textContent()).toContain(
      "This removes the session and its 1 message from the store. It cannot be undone.",
    );
    expect(await dialog.getByRole("button").allTextContents()).toEqual(["Cancel", "Delete"]);
    // Cancel has the focus, so Enter does no harm.
    await eventually(() =>
      dialog.getByRole("button", { name: "Cancel" }).evaluate((element) => element === (element as any).ownerDocument.activeElement),
    ).toBe(true);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await eventually(() => dialog.count()).toBe(0);
    await button(page, "Delete").click();
    await dialog.waitFor();
    await page.keyboard.press("Escape");
    await eventually(() => dialog.count()).toBe(0);
    expect((await stored(sessionId)).title).toBe("doomed");

    await button(page, "Delete").click();
    await dialog.getByRole("button", { name: "Delete" }).click();
    await eventually(() => page.locator(".notice").textContent()).toBe("Deleted the session “doomed”.");
    expect(page.url()).toBe(`${inspector.origin}/#/`);
    await expect(store.ok("session/get", { sessionId })).rejects.toMatchObject({ code: -32002 });
  });

  it("Delete from here asks first, with a button that says Delete from here, then drops that message and every later one", async () => {
    const sessionId = await newSession({ cwd: "/delete-from", title: "cut me" }, [
      { messageId: "d1", role: "user", content: "first" },
      { messageId: "d2", role: "assistant", content: "second" },
      { messageId: "d3", role: "user", content: "third" },
    ]);
    const page = await openSession(sessionId);
    const dialog = page.getByRole("dialog");
    const deleteFrom = () => page.locator(".message").nth(1).getByRole("button", { name: "Delete from here" }).click();

    await deleteFrom();
    await dialog.waitFor();
    await eventually(() => dialog.getByRole("heading").textContent()).toBe("Delete from this message on?");
    await eventually(() => dialog.textContent()).toContain("and every message after it: 2 messages of “cut me”. It cannot be undone.");
    expect(await dialog.getByRole("button").allTextContents()).toEqual(["Cancel", "Delete from here"]);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await eventually(() => dialog.count()).toBe(0);
    expect((await stored(sessionId)).messageCount).toBe(3);

    await deleteFrom();
    await dialog.getByRole("button", { name: "Delete from here" }).click();
    await eventually(() => page.locator(".done").textContent()).toBe("Deleted 2 messages.");
    await eventually(() => page.locator(".message .text").allTextContents()).toEqual(["first"]);
    expect(await stored(sessionId)).toMatchObject({ messageCount: 1, revision: 3 });
    await page.getByText("All 1 message, newest last.").waitFor();
  });

  it("Delete from here on a session changed meanwhile drops nothing, says so and shows the new state", async () => {
    const sessionId = await newSession({ cwd: "/delete-from", title: "moving" }, [
      { messageId: "x1", role: "user", content: "first" },
      { messageId: "x2", role: "assistant", content: "second" },
    ]);
    const page = await openSession(sessionId, { live: false });
    await store.ok("session/update", { sessionId, messages: [{ messageId: "x3", role: "user", content: "appended elsewhere" }] });

    await page.locator(".message").nth(0).getByRole("button", { name: "Delete from here" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete from here" }).click();
    await eventually(() => page.getByRole("alert").textContent()).toBe(
      "Someone else changed this session after this page read it (from revision 2 to 3), so “Delete from here” was not applied. " +
        "Shown now is the session as it is; try again if you still want to.",
    );
    await eventually(() => page.locator(".message .text").allTextContents()).toEqual(["first", "second", "appended elsewhere"]);
    expect(await stored(sessionId)).toMatchObject({ messageCount: 3, revision: 3 });
  });

  it("Export downloads the session as JSONL or Markdown, sent as attachments", async () => {
    const sessionId = await newSession({ cwd: "/export", title: "take away" }, [
      { messageId: "t1", role: "user", content: "what to take" },
      { messageId: "t2", role: "assistant", content: [{ type: "text", text: "<b>this</b>" }] },
    ]);
    const page = await openSession(sessionId);
    for (const [label, extension, check] of [
      [
        "Download JSONL",
        "jsonl",
        (text: string) => {
          const lines = text
            .trimEnd()
            .split("\n")
            .map((line) => JSON.parse(line));
          expect(lines[0]).toEqual({ format: "acp-sessions-export", version: 1 });
          expect(lines[1].session).toMatchObject({ sessionId, title: "take away", messageCount: 2 });
          expect(lines[1].session.context.map((m: { messageId: string }) => m.messageId)).toEqual(["t1", "t2"]);
        },
      ],
      [
        "Download Markdown",
        "md",
        (text: string) => {
          expect(text).toMatch(/^# take away\n/);
          expect(text).toContain("what to take");
          expect(text).toContain("<b>this</b>");
        },
      ],
    ] as const) {
      await button(page, "Export").click();
      const [download, response] = await Promise.all([
        page.waitForEvent("download"),
        page.waitForResponse((answer) => answer.url().includes("/export?")),
        button(page, label).click(),
      ]);
      const name = `acp-session-${sessionId}.${extension}`;
      expect(response.headers()["content-disposition"]).toBe(`attachment; filename="${name}"`);
      expect(download.suggestedFilename()).toBe(name);
      const path = await download.path();
      check(readFileSync(path, "utf8"));
      await eventually(() => page.locator(".done").textContent()).toBe(`Downloaded ${name}.`);
    }
  });

  it("a revision conflict says that someone else changed the session, applies nothing and shows the new state", async () => {
    const sessionId = await newSession({ cwd: "/conflict", title: "mine" }, [{ role: "user", content: "hi" }]);
    const page = await openSession(sessionId, { live: false });

    await store.ok("session/update", { sessionId, title: "theirs" });
    await button(page, "Archive").click();
    const alert = page.getByRole("alert");
    await eventually(() => alert.textContent()).toBe(
      "Someone else changed this session after this page read it (from revision 2 to 3), so “Archive” was not applied. " +
        "Shown now is the session as it is; try again if you still want to.",
    );
    await eventually(() => page.getByRole("heading", { level: 2 }).textContent()).toBe("theirs");
    expect(await stored(sessionId)).toMatchObject({ archived: false, revision: 3 });

    // Through session/update's own check too.
    await store.ok("session/update", { sessionId, messages: [{ role: "assistant", content: "appended elsewhere" }] });
    await button(page, "Rename").click();
    await page.getByLabel("New title").fill("late");
    await button(page, "Save title").click();
    await eventually(() => alert.textContent()).toContain("(from revision 3 to 4), so “Rename” was not applied.");
    await eventually(() => page.locator(".message").count()).toBe(2);
    expect((await stored(sessionId)).title).toBe("theirs");

    // Now the page has the new revision, and the change goes through.
    await button(page, "Archive").click();
    await button(page, "Unarchive").waitFor();
    expect(await stored(sessionId)).toMatchObject({ archived: true, revision: 5 });
  });

  it("shows stored markup as literal, inert text: <script>, <img onerror> and a javascript: link", async () => {
    const title = `<script>window.__xss = "title"</script>`;
    const image = `<img src=x onerror="window.__xss = 'text'">`;
    const sessionId = await newSession({ cwd: "/xss", title }, [
      { role: "user", content: image },
      {
        role: "assistant",
        content: [
          { type: "text", text: `<a href="javascript:window.__xss='anchor'">click</a>` },
          { type: "resource_link", name: "<b>bold</b>", uri: "javascript:window.__xss='link'" },
          { type: "image", mimeType: "image/png", data: `"><script>window.__xss='image'</script>` },
        ],
      },
    ]);
    const page = await openPage();
    await filterByCwd(page, "/xss");
    await eventually(() => page.locator(".session-title").textContent()).toBe(title);
    await page.getByRole("link", { name: title }).click();
    await eventually(() => page.getByRole("heading", { level: 2 }).textContent()).toBe(title);
    const main = page.locator("main");
    await eventually(() => main.textContent()).toContain(image);
    await eventually(() => main.textContent()).toContain(`<a href="javascript:window.__xss='anchor'">click</a>`);
    await eventually(() => main.textContent()).toContain("Link: <b>bold</b> — javascript:window.__xss='link'");
    await eventually(() => main.textContent()).toContain("An image whose data is not base64, not shown.");
    await page.getByText("javascript:window.__xss='link'").click();
    expect(await main.locator("script, img, b, a[href^='javascript:' i]").count()).toBe(0);
    expect(await page.evaluate("window.__xss")).toBeUndefined();
    expect(sessionId).toBeTruthy();
  });

  it("is usable at 1280×800 and at 400 px wide, and every control is reachable by keyboard", async () => {
    const sessionId = await newSession({ cwd: `/layout/${"very-long-directory-name-".repeat(6)}`, title: "a title ".repeat(12) }, [
      { role: "user", content: `${"unbroken".repeat(40)} and ${"words ".repeat(80)}` },
    ]);
    for (const width of [1280, 400]) {
      const page = await openPage(inspector.url, { width, height: 800 });
      await filterByCwd(page, `/layout/${"very-long-directory-name-".repeat(6)}`);
      await eventually(() => page.locator(".session-row").count()).toBe(1);
      expect(await page.evaluate(SCROLL_WIDTH), `list at ${width}`).toBeLessThanOrEqual(width);
      await page.locator(".session-link").click();
      await eventually(() => page.locator(".message").count()).toBe(1);
      expect(await page.evaluate(SCROLL_WIDTH), `conversation at ${width}`).toBeLessThanOrEqual(width);
      for (const control of await page.locator("button, a, input, select").all()) {
        const box = await control.boundingBox();
        if (box) expect(box.x + box.width, `${await control.textContent()} at ${width}`).toBeLessThanOrEqual(width);
      }
      await context.close();
    }

    const page = await openPage(inspector.url, { width: 400, height: 800 });
    await show(page, sessionId);
    await eventually(() => page.locator(".message").count()).toBe(1);
    const reached = new Set<string>();
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press("Tab");
      reached.add(await page.evaluate<string>("document.activeElement?.textContent?.trim() ?? ''"));
    }
    for (const name of ["Rename", "Archive", "Pin", "Export", "Delete", "Refresh", "Fork here", "Delete from here", "← All sessions"])
      expect(reached, name).toContain(name);
    await button(page, "Pin").focus();
    await page.keyboard.press("Enter");
    await button(page, "Unpin").waitFor();
    expect((await stored(sessionId)).retention.pinned).toBe(true);
  });

  it("with --read-only offers no enabled control that changes anything, and the server refuses them", async () => {
    const sessionId = await newSession({ cwd: "/read-only", title: "look only" }, [{ messageId: "r1", role: "user", content: "hi" }]);
    const readOnly = await startInspector(work.file("page.db"), ["--read-only"]);
    const page = await openPage(readOnly.url);
    await eventually(() => page.locator(".mark-read-only").textContent()).toBe("Read-only");
    await show(page, sessionId);
    await eventually(() => page.getByRole("heading", { level: 2 }).textContent()).toBe("look only");
    await page.getByText("Read-only: this inspector was started with --read-only").waitFor();
    for (const name of ["Rename", "Archive", "Pin", "Delete", "Fork here", "Delete from here"]) {
      expect(await button(page, name).isDisabled(), name).toBe(true);
    }
    const enabled = await page.locator("button:enabled").allTextContents();
    expect(enabled.map((text) => text.trim())).toEqual(["Export", "Refresh"]);

    // What the disabled buttons would send, the server refuses.
    const refusals = await page.evaluate(
      async ({ id, token }) => {
        const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
        const path = `/api/sessions/${encodeURIComponent(id)}`;
        const attempts: [string, string, object][] = [
          ["POST", `${path}/title`, { title: "no", expectedRevision: 2 }],
          ["POST", `${path}/truncate`, { fromMessageId: "r1", expectedRevision: 2 }],
        ];
        const answers = [];
        for (const [method, url, body] of attempts) {
          const answer = await fetch(url, { method, headers, body: JSON.stringify(body) });
          answers.push([answer.status, await answer.text()]);
        }
        return answers;
      },
      { id: sessionId, token: readOnly.token },
    );
    for (const refusal of refusals) {
      expect(refusal).toEqual([403, "Refused: the inspector runs with --read-only: nothing may change the store.\n"]);
    }
    expect(await stored(sessionId)).toMatchObject({ title: "look only", messageCount: 1 });

    // Export only reads: it still downloads.
    await button(page, "Export").click();
    const [download] = await Promise.all([page.waitForEvent("download"), button(page, "Download Markdown").click()]);
    expect(download.suggestedFilename()).toBe(`acp-session-${sessionId}.md`);
  });

  it("follows changes live: appends, retitles, truncates and archives show up, a removed session is marked gone", async () => {
    const sessionId = await newSession({ cwd: "/live", title: "followed" }, [{ messageId: "l1", role: "user", content: "first" }]);
    const page = await openSession(sessionId);
    const texts = () => page.locator(".message .text").allTextContents();

    await store.ok("session/update", { sessionId, messages: [{ messageId: "l2", role: "assistant", content: "appended elsewhere" }] });
    await eventually(texts).toEqual(["first", "appended elsewhere"]);
    await store.ok("session/set_title", { sessionId, title: "renamed elsewhere" });
    await eventually(() => page.getByRole("heading", { level: 2 }).textContent()).toBe("renamed elsewhere");
    await store.ok("session/truncate", { sessionId, fromMessageId: "l2" });
    await eventually(texts).toEqual(["first"]);
    await store.ok("session/archive", { sessionId });
    await button(page, "Unarchive").waitFor();

    await store.ok("session/remove", { sessionId });
    await eventually(() => page.locator(".gone").textContent()).toBe(
      "This session is no longer in the store: it was deleted elsewhere, or it expired.",
    );
    expect(await button(page, "Delete").isDisabled()).toBe(true);
  });

  it("shows a session created elsewhere in the list without a reload", async () => {
    const page = await openPage();
    await filterByCwd(page, "/live-list");
    await page.getByText("No sessions match these filters.").waitFor();
    await newSession({ cwd: "/live-list", title: "made elsewhere" });
    await eventually(() => page.locator(".session-row .session-title").allTextContents()).toEqual(["made elsewhere"]);
    await newSession({ cwd: "/live-list", title: "and another" });
    await eventually(() => page.locator(".session-row .session-title").allTextContents()).toEqual(["and another", "made elsewhere"]);
  });

  it("exits 0 on SIGTERM with a conversation open and following", async () => {
    const own = await startInspector(work.file("page.db"));
    const sessionId = await newSession({ cwd: "/live-exit" }, [{ role: "user", content: "hi" }]);
    const page = await openPage(own.url);
    await show(page, sessionId);
    await page.locator(".message").first().waitFor();
    own.process.child.kill("SIGTERM");
    expect(await own.process.exit).toEqual({ code: 0, signal: null });
  });

  it("exits 0 on SIGTERM with the page still open", async () => {
    const own = await startInspector(work.file("page.db"));
    const page = await openPage(own.url);
    await page.getByRole("heading", { name: "Sessions", exact: true }).waitFor();
    own.process.child.kill("SIGTERM");
    expect(await own.process.exit).toEqual({ code: 0, signal: null });
  });
});

/** Goes to one session's view, as a link in the page does. */
async function show(page: Page, sessionId: string): Promise<void> {
  await page.goto(`${new URL(page.url()).origin}/#/session/${encodeURIComponent(sessionId)}`);
}

/**
 * A fresh tab on one session's view, its messages loaded. `live: false` cuts its event stream, as for a
 * page that has not heard of a change yet, so a test can act on a stale view.
 */
async function openSession(sessionId: string, { live = true } = {}): Promise<Page> {
  const page = await openPage();
  if (!live) await page.route("**/api/events?*", (route) => route.abort());
  await show(page, sessionId);
  await page.locator(".message").first().waitFor();
  return page;
}
