import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSidecar, until, type Sidecar, type SpawnOptions } from "../helpers/sidecar.js";

// `acp-sessions inspect` as a user runs it (the built bin, on a SQLite file), with a second sidecar on
// the same file to put sessions there and change them behind the page's back.

/** Debian's Chromium, which playwright-core drives (Playwright's own browser download cannot run here). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Why these tests cannot run here, or undefined. */
export function inspectorUnavailable(needs: { browser: boolean }): string | undefined {
  try {
    import.meta.resolve("better-sqlite3");
  } catch {
    return "better-sqlite3 is not installed (the inspector tests share a SQLite file with a second sidecar)";
  }
  if (needs.browser && !existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`;
  return undefined;
}

export interface Inspector {
  /** The first line the command printed: `http://127.0.0.1:<port>/#token=<token>`. */
  url: string;
  port: number;
  token: string;
  /** `http://127.0.0.1:<port>`, the Origin of its page. */
  origin: string;
  process: Sidecar;
}

/** A folder of SQLite files that `removeAll` deletes. */
export function workDir(): { file: (name: string) => string; removeAll: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "acp-inspector-"));
  return { file: (name) => join(dir, name), removeAll: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts `acp-sessions --store sqlite:<file> inspect --port 0 …args` and waits for its URL. */
export async function startInspector(file: string, args: string[] = [], options: SpawnOptions = {}): Promise<Inspector> {
  const child = spawnSidecar(["--store", `sqlite:${file}`, "inspect", "--port", "0", ...args], options);
  const url = await until(() => child.lines[0], "the inspector's URL on stdout");
  const match = /^http:\/\/127\.0\.0\.1:(\d+)\/#token=([A-Za-z0-9_-]+)$/.exec(url);
  if (!match) throw new Error(`unexpected first line: ${url}`);
  const port = Number(match[1]);
  return { url, port, token: match[2]!, origin: `http://127.0.0.1:${port}`, process: child };
}

/** A second sidecar on the same file. */
export function sidecarOn(file: string): Sidecar {
  return spawnSidecar(["--store", `sqlite:${file}`]);
}

/** The headers the page's own fetch sends for a change. */
export function pageHeaders(inspector: Inspector): Record<string, string> {
  return { authorization: `Bearer ${inspector.token}`, origin: inspector.origin, "content-type": "application/json" };
}
