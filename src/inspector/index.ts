import { randomBytes } from "node:crypto";
import type { Config } from "../config.js";
import { createLogger } from "../log.js";
import { loadPageAssets } from "./assets.js";
import { LiveEvents } from "./events.js";
import { openBrowser } from "./open-browser.js";
import { inspectorApp, listen } from "./server.js";
import { startSidecar } from "./sidecar.js";

export { PortInUseError } from "./server.js";

/** A fixed default, so a bookmarked address keeps working from run to run (the token does not). */
export const DEFAULT_INSPECTOR_PORT = 7410;

export interface InspectOptions {
  /** 0 picks a free port. */
  port: number;
  readOnly: boolean;
  open: boolean;
}

/**
 * `acp-sessions inspect`: a sidecar on the store, a web page in front of it on 127.0.0.1, the page's URL as
 * the first line on stdout; runs until SIGINT or SIGTERM, then closes both and resolves to exit code 0.
 */
export async function runInspector(config: Config, options: InspectOptions, print: (line: string) => Promise<void>): Promise<number> {
  const log = createLogger(config.logLevel);
  const assets = loadPageAssets(options.readOnly);
  const stopSignal = new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  const sidecar = await startSidecar(config, log);
  const token = randomBytes(32).toString("base64url");
  const events = new LiveEvents(sidecar.client, log);
  const server = await listen(options.port, (port) =>
    inspectorApp({ port, token, readOnly: options.readOnly, assets, sidecar: sidecar.client, log, events }),
  ).catch(async (err: unknown) => {
    await sidecar.close();
    throw err;
  });
  // The token travels in the fragment, which the browser never sends: no request line or log holds it.
  const url = `http://127.0.0.1:${server.port}/#token=${token}`;
  await print(url);
  log.info(`inspector on http://127.0.0.1:${server.port}/${options.readOnly ? " (read-only)" : ""}`);
  if (options.open) openBrowser(url, log);
  await stopSignal;
  // Open pages' event streams end first, so closing the server does not wait on them.
  events.close();
  await server.close();
  await sidecar.close();
  return 0;
}
