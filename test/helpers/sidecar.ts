import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The built bin; end-to-end tests run what `npx acp-sessions` runs. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BIN = fileURLToPath(new URL("../../bin/acp-sessions.js", import.meta.url));
export const VERSION: string = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version;

export interface RpcError {
  code: number;
  message: string;
  data?: any;
}
export interface Response {
  jsonrpc: "2.0";
  id: string | number | null;
  result?: any;
  error?: RpcError;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** What to run instead of `node bin/acp-sessions.js` (the installed package's `npx acp-sessions`). */
  command?: [string, ...string[]];
}

const live = new Set<ChildProcessWithoutNullStreams>();

/** Kills every sidecar still running: call it from afterEach/afterAll in every file that spawns. */
export function killAll(): void {
  for (const child of live) child.kill("SIGKILL");
  live.clear();
}

/** Polls `condition` until it returns something other than undefined/false, or the deadline passes. */
export async function until<T>(condition: () => T | undefined | false, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = condition();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const rpc = (id: string | number | null, method: string, params?: unknown): string =>
  JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n";
export const notification = (method: string, params?: unknown): string => JSON.stringify({ jsonrpc: "2.0", method, params }) + "\n";

export type Sidecar = ReturnType<typeof spawnSidecar>;

/**
 * Spawns `node bin/acp-sessions.js ...args` over pipes. stdout is split into lines (NDJSON framing);
 * every line is kept raw and parsed, so a test can check both what came back and that nothing else did.
 */
export function spawnSidecar(args: string[] = [], options: SpawnOptions = {}) {
  if (!options.command && !existsSync(new URL("../../dist/src/cli/index.js", import.meta.url)))
    throw new Error("build first: npm run build");
  const [file, ...prefix] = options.command ?? [process.execPath, BIN];
  const child = spawn(file, [...prefix, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env } });
  live.add(child);
  const lines: string[] = [];
  /** Every stdout line parsed; a line that is not JSON is kept as { unparsed: line }. */
  const messages: any[] = [];
  let rest = "";
  let stderr = "";
  child.stdout.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      try {
        messages.push(JSON.parse(line));
      } catch {
        messages.push({ unparsed: line });
      }
    }
  });
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  // A sidecar that died early must fail the test, not crash the runner with EPIPE.
  child.stdin.on("error", () => {});
  let nextId = 1;

  const responses = (id: string | number | null): Response[] => messages.filter((m) => "id" in m && m.id === id && !("method" in m));
  const response = (id: string | number | null, ms?: number): Promise<Response> =>
    until(() => responses(id)[0], `the response to id ${JSON.stringify(id)}`, ms);

  /** Sends a request with a fresh numeric id and waits for its response. */
  const call = async (method: string, params?: unknown): Promise<Response> => {
    const id = nextId++;
    child.stdin.write(rpc(id, method, params));
    return response(id);
  };
  /** call(), returning the result or throwing the JSON-RPC error (with its code and data). */
  const ok = async (method: string, params?: unknown): Promise<any> => {
    const r = await call(method, params);
    if (r.error) throw Object.assign(new Error(`${method}: ${r.error.message}`), r.error);
    return r.result;
  };

  return {
    child,
    pid: child.pid!,
    lines,
    messages,
    stderr: () => stderr,
    exit,
    /** Writes raw text or bytes as they are. */
    write: (data: string | Buffer): void => void child.stdin.write(data),
    responses,
    response,
    notifications: (method: string): any[] => messages.filter((m) => m.method === method && !("id" in m)).map((m) => m.params),
    call,
    ok,
    /** Closes stdin and resolves to the exit code. */
    end: async (): Promise<number | null> => {
      child.stdin.end();
      return (await exit).code;
    },
  };
}
