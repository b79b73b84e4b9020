import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
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

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One plain HTTP request to 127.0.0.1:port, with exactly the headers given (Host included). */
export function http(
  port: number,
  { method = "GET", path = "/", headers = {}, body }: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    // Node sends a DELETE's body unframed unless told its length, as browsers always do.
    const length: Record<string, string> = body === undefined ? {} : { "content-length": String(Buffer.byteLength(body)) };
    const req = request({
      host: "127.0.0.1",
      port,
      method,
      path,
      headers: { host: `127.0.0.1:${port}`, ...length, ...headers },
      agent: false,
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The headers the page's own fetch sends for a change. */
export function pageHeaders(inspector: Inspector): Record<string, string> {
  return { authorization: `Bearer ${inspector.token}`, origin: inspector.origin, "content-type": "application/json" };
}
