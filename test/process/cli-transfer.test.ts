import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { storedMessage } from "../../src/protocol/encode-session.js";
import { openSqliteStore } from "../../src/store/sqlite/store.js";
import { DEFAULT_RETENTION } from "../../src/store/types.js";
import { EXPORT_HEADER } from "../../src/transfer/format.js";
import { BIN } from "../helpers/sidecar.js";

// These run the built bin: `npm run build` first.
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
function run(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const T0 = Date.now() - 60_000;
const dir = mkdtempSync(join(tmpdir(), "acp-transfer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const source = join(dir, "source.db");
const backend = { log: silentLogger, redisPrefix: "", redisBuckets: 1, storeWaitMs: 0 };
const message = (messageId: string, role: "user" | "assistant", content: unknown, at: number) =>
  storedMessage({ role, content: content as string }, messageId, at);
const ids = { plain: "", fork: "", archived: "" };

const session = (sessionId: string, title: string) => ({
  sessionId,
  cwd: "/proj",
  title,
  clientCapabilities: null,
  mcpServers: ["fs"],
  additionalDirectories: [],
  retention: DEFAULT_RETENTION,
});

beforeAll(async () => {
  const store = await openSqliteStore(source, { maxIdleMs: 3_600_000 }, backend);
  ids.plain = (await store.create(session("11111111-1111-4111-8111-111111111111", "plain"), T0)).sessionId;
  await store.update(
    {
      sessionId: ids.plain,
      messages: [
        message("u1", "user", "hello there", T0),
        message(
          "a1",
          "assistant",
          [
            { type: "text", text: "hi" },
            { type: "image", data: "AAAA", mimeType: "image/png" },
          ],
          T0 + 1,
        ),
        message("u2", "user", "and then?", T0 + 2),
      ],
      changes: {},
    },
    T0 + 2,
  );
  const fork = {
    parentSessionId: ids.plain,
    sessionId: "22222222-2222-4222-8222-222222222222",
    cwd: "/proj",
    mcpServers: [],
    title: "fork",
  };
  ids.fork = (await store.fork({ ...fork, atMessageId: "a1" }, T0 + 3)).sessionId;
  await store.update({ sessionId: ids.fork, messages: [message("f1", "user", "another way", T0 + 4)], changes: {} }, T0 + 4);
  ids.archived = (await store.create(session("33333333-3333-4333-8333-333333333333", "archived"), T0 + 5)).sessionId;
  await store.setArchived(ids.archived, true, T0 + 5);
  await store.close();
});

const withoutRevisions = (text: string) => text.replace(/"revision":\d+,/g, "");

describe("acp-sessions export and import", () => {
  it("export writes every session, oldest first, to a file only its owner reads; import recreates them", async () => {
    const file = join(dir, "all.jsonl");
    const exported = await run(["--store", `sqlite:${source}`, "export", "--out", file]);
    expect(exported).toMatchObject({ code: 0, stdout: `exported 3 sessions to ${file}\n`, stderr: "" });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const lines = readFileSync(file, "utf8").split("\n");
    expect(lines[0]).toBe(EXPORT_HEADER);
    expect(lines.slice(1, 4).map((line) => JSON.parse(line).session.sessionId)).toEqual([ids.plain, ids.fork, ids.archived]);
    expect(lines[4]).toBe("");
    expect(JSON.parse(lines[2]!).session).toMatchObject({ parentSessionId: ids.plain, forkedAtMessageId: "a1", messageCount: 3 });

    const target = `sqlite:${join(dir, "target.db")}`;
    const imported = await run(["--store", target, "import", file]);
    expect(imported).toMatchObject({ code: 0, stdout: "imported 3 sessions: 3 new, 0 with messages added, 0 unchanged\n", stderr: "" });
    const again = await run(["--store", target, "import", "-"], readFileSync(file, "utf8"));
    expect(again).toMatchObject({ code: 0, stdout: "imported 3 sessions: 0 new, 0 with messages added, 3 unchanged\n" });

    const back = await run(["--store", target, "export"]);
    expect(back.code).toBe(0);
    expect(withoutRevisions(back.stdout)).toBe(withoutRevisions(readFileSync(file, "utf8")));
  });

  it("export of named sessions writes them parents first; an unknown one fails before anything is written", async () => {
    const named = await run(["--store", `sqlite:${source}`, "export", ids.fork, ids.plain, ids.fork]);
    expect(named.code).toBe(0);
    const sessions = named.stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => JSON.parse(line).session.sessionId);
    expect(sessions).toEqual([ids.plain, ids.fork]);

    const unknown = await run(["--store", `sqlite:${source}`, "export", ids.plain, "nope"]);
    expect(unknown).toMatchObject({ code: 1, stdout: "" });
    expect(unknown.stderr).toContain("Session not found (-32002)");
  });

  it("export --format markdown writes a transcript to read", async () => {
    const markdown = await run(["--store", `sqlite:${source}`, "export", "--format", "markdown", ids.fork]);
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toContain(`# fork\n\n- Session: \`${ids.fork}\`\n- Directory: \`/proj\`\n`);
    expect(markdown.stdout).toContain(`- Forked from \`${ids.plain}\` at message \`a1\`\n`);
    expect(markdown.stdout).toContain(`## User · ${new Date(T0).toISOString()}\n\nhello there\n`);
    expect(markdown.stdout).toContain(`## Assistant · ${new Date(T0 + 1).toISOString()}\n\nhi\n\n[image image/png]\n`);
  });

  it("import reports bad lines on stderr as line N: reason, imports the rest, and exits 1", async () => {
    const file = join(dir, "good.jsonl");
    expect((await run(["--store", `sqlite:${source}`, "export", "--out", file, ids.archived])).code).toBe(0);
    const [header, line] = readFileSync(file, "utf8").split("\n");
    const input = [header, "{oops", line, '{"session":{"sessionId":"x"}}', ""].join("\n");
    const result = await run(["--store", `sqlite:${join(dir, "partial.db")}`, "import"], input);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("imported 1 session: 1 new, 0 with messages added, 0 unchanged; 2 bad lines skipped\n");
    expect(result.stderr.split("\n")).toEqual([
      expect.stringMatching(/^line 2: not JSON: /),
      "line 4: session.context: expected an array of messages",
      "acp-sessions: 2 lines were skipped",
      "",
    ]);
  });

  it("import refuses what is not an export, and a file it cannot read", async () => {
    const notExport = await run(["import"], '{"hello":1}\n');
    expect(notExport.code).toBe(1);
    expect(notExport.stderr).toContain(`acp-sessions: line 1: not an acp-sessions export (it starts with ${EXPORT_HEADER})`);
    expect(notExport.stderr).toContain("note: the memory store keeps nothing once this command ends");
    const missing = await run(["import", join(dir, "absent.jsonl")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^acp-sessions: cannot read .*absent\.jsonl: ENOENT/);
    writeFileSync(join(dir, "empty.jsonl"), "");
    expect((await run(["import", join(dir, "empty.jsonl")])).stderr).toContain("the input is empty");
  });

  it("export stops quietly when its reader goes away", async () => {
    const big = join(dir, "big.db");
    const store = await openSqliteStore(big, { maxIdleMs: 3_600_000, maxContextMessages: 100_000 }, backend);
    const { sessionId } = await store.create(session("44444444-4444-4444-8444-444444444444", "long"), T0);
    const messages = Array.from({ length: 3000 }, (_, i) => message(`m${i}`, "user", "x".repeat(500), T0));
    await store.update({ sessionId, messages, changes: {} }, T0);
    await store.close();
    const result = await new Promise<Run>((resolve) => {
      const pipeline = `set -o pipefail; "${process.execPath}" "${BIN}" --store "sqlite:${big}" export | head -c 10 >/dev/null`;
      const child = spawn("bash", ["-c", pipeline]);
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("close", (code) => resolve({ code, stdout: "", stderr }));
    });
    expect(result).toMatchObject({ code: 0, stderr: "" });
  });
});
