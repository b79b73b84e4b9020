import { PassThrough, Writable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { DEFAULT_CONFIG, type Config } from "../../src/config.js";
import { createLogger } from "../../src/log.js";
import { serve, type Server } from "../../src/main.js";

export interface Response {
  id: unknown;
  result?: any;
  error?: { code: number; message: string; data?: any };
}

export interface InProcessOptions {
  /** The server's clock, Unix ms. */
  now?: () => number;
  /** The working directory a session created without one gets (default /home/me). */
  cwd?: string;
}

export type Harness = Awaited<ReturnType<typeof inProcess>>;

/** The version the in-process server reports in agentInfo (the bin reports the package's). */
export const SERVER_VERSION = "0.0.0-test";

/**
 * The whole server over in-memory streams: bytes in, every output line parsed, every log line kept.
 * It answers as the spawned bin does; what needs a real process (signals, exit codes, pipes) is in test/process/.
 */
export async function inProcess(config: Partial<Config> = {}, options: InProcessOptions = {}) {
  const full = { ...DEFAULT_CONFIG, ...config };
  const stdin = new PassThrough();
  /** Every byte the server wrote, for a client (vscode-jsonrpc, the ACP SDK, SessionClient) to read. */
  const fromServer = new PassThrough();
  /** Every stdout line parsed; a line that is not JSON (LSP headers) is kept as { unparsed: line }. */
  const messages: any[] = [];
  /** What the server logged (stderr in the bin), one line each. */
  const logged: string[] = [];
  let output = "";
  let rest = "";
  const decoder = new StringDecoder("utf8");
  // Recorded as written, so everything is in `messages` by the time `server.done` resolves.
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = decoder.write(chunk);
      output += text;
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        try {
          messages.push(JSON.parse(line));
        } catch {
          messages.push({ unparsed: line });
        }
      }
      fromServer.write(chunk);
      callback();
    },
  });
  const server: Server = await serve(
    full,
    {
      stdin,
      stdout,
      log: createLogger(full.logLevel, (line) => logged.push(line.trimEnd())),
      now: options.now,
      cwd: options.cwd ?? "/home/me",
    },
    SERVER_VERSION,
  );
  void server.done.then(() => fromServer.end());
  let nextId = 1;

  /** Polls `find` until it returns something other than undefined/false; fails after `ms`. */
  const waitFor = async <T>(find: () => T | undefined | false, what = "output", ms = 10_000): Promise<T> => {
    const started = Date.now();
    for (;;) {
      const found = find();
      if (found !== undefined && found !== false) return found;
      const waited = Date.now() - started;
      if (waited > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      // Answers come within a few turns; a longer wait (a timer in the server) should not spin.
      await new Promise((resolve) => (waited < 50 ? setImmediate(resolve) : setTimeout(resolve, 5)));
    }
  };

  const responses = (id: unknown): Response[] =>
    messages.filter((m) => m !== null && typeof m === "object" && "id" in m && m.id === id && !("method" in m));
  const response = (id: unknown): Promise<Response> => waitFor(() => responses(id)[0], `the response to id ${JSON.stringify(id)}`);

  /** Sends a request with a fresh numeric id and waits for its response. */
  const call = async (method: string, params?: unknown): Promise<Response> => {
    const id = nextId++;
    stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
    return response(id);
  };
  /** The result, or a thrown Error carrying the JSON-RPC error. */
  const ok = async (method: string, params?: unknown): Promise<any> => {
    const r = await call(method, params);
    if (r.error) throw Object.assign(new Error(`${method}: ${r.error.message}`), r.error);
    return r.result;
  };
  const notifications = (method: string): any[] => messages.filter((m) => m?.method === method && !("id" in m)).map((m) => m.params);

  let closing: Promise<void> | undefined;
  /** Ends the input, as EOF on stdin does; resolves once every request is answered and the store closed. */
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stdin.end();
      await server.done;
    })();
    return closing;
  };

  return {
    server,
    stdin,
    fromServer,
    messages,
    logged,
    /** Everything written to stdout so far, as text. */
    output: () => output,
    /** Writes raw text or bytes as they are. */
    write: (data: string | Buffer): void => void stdin.write(data),
    call,
    ok,
    responses,
    response,
    notifications,
    waitFor,
    close,
  };
}
