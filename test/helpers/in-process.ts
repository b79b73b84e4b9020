import { PassThrough } from "node:stream";
import { DEFAULT_CONFIG, type Config } from "../../src/config.js";
import { silentLogger } from "../../src/log.js";
import { serve, type Server } from "../../src/main.js";

export interface Response {
  id: unknown;
  result?: any;
  error?: { code: number; message: string; data?: any };
}

/** The whole server over in-memory streams: requests in, every output message collected. */
export async function inProcess(config: Partial<Config> = {}, now?: () => number) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const messages: any[] = [];
  let buffered = "";
  stdout.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) messages.push(JSON.parse(line));
  });
  const server: Server = await serve(
    { ...DEFAULT_CONFIG, ...config },
    { stdin, stdout, log: silentLogger, now, cwd: "/home/me" },
    "0.0.0-test",
  );
  let nextId = 1;

  const waitFor = async <T>(find: () => T | undefined): Promise<T> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error("timed out waiting for output");
      await new Promise((r) => setImmediate(r));
    }
  };

  const call = async (method: string, params?: unknown): Promise<Response> => {
    const id = nextId++;
    stdin.write(JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n");
    return waitFor(() => messages.find((m) => m.id === id));
  };
  /** The result, or a thrown Error carrying the JSON-RPC error. */
  const ok = async (method: string, params?: unknown): Promise<any> => {
    const response = await call(method, params);
    if (response.error) throw Object.assign(new Error(response.error.message), response.error);
    return response.result;
  };
  const notifications = (method: string) => messages.filter((m) => m.method === method).map((m) => m.params);
  const close = async () => {
    stdin.end();
    await server.done;
  };
  return { server, call, ok, messages, notifications, waitFor, close, stdin };
}
