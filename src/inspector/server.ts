import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import type { Logger } from "../log.js";
import { apiRoutes, type Sidecar } from "./api.js";
import type { PageAssets } from "./assets.js";
import { EVENTS_PATH, type LiveEvents } from "./events.js";
import { hostCheck, LOOPBACK, originCheck, readOnlyCheck, refuse, securityHeaders, tokenCheck } from "./security.js";

export interface InspectorSettings {
  port: number;
  token: string;
  readOnly: boolean;
  assets: PageAssets;
  sidecar: Sidecar;
  log: Logger;
  /** The event streams that follow sessions for open pages. */
  events: LiveEvents;
}

/** The whole site: every guard in front of the page, its files and the API. */
export function inspectorApp(settings: InspectorSettings): Hono {
  const { port, assets } = settings;
  const app = new Hono();
  app.use(securityHeaders(assets.scriptHashes));
  app.use(hostCheck(port));
  app.use("/api/*", tokenCheck(settings.token, EVENTS_PATH));
  app.use("/api/*", originCheck(port));
  if (settings.readOnly) app.use("/api/*", readOnlyCheck());
  app.route("/api", settings.events.routes());
  app.route("/api", apiRoutes(settings.sidecar, settings.log));
  app.get("/", (c) => c.html(assets.html));
  app.get("*", (c) => {
    const file = assets.files.get(c.req.path);
    if (!file) return refuse(c, 404, `nothing at ${c.req.path}.`);
    return c.body(new Uint8Array(file.body), 200, { "Content-Type": file.type });
  });
  app.notFound((c) => refuse(c, 404, `nothing answers ${c.req.method} ${c.req.path}.`));
  return app;
}

/** The port is taken; said in one line, with what to do instead. */
export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} on ${LOOPBACK} is in use: choose another with --port <n>, or --port 0 for a free one`);
    this.name = "PortInUseError";
  }
}

export interface Listening {
  port: number;
  /** Stops accepting and drops every connection, open pages' included, then resolves. */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 only, never a wildcard address. The app is built once the port is known (port 0
 * picks one), since the Host and Origin checks name it; no request can arrive before it is in place.
 */
export async function listen(port: number, app: (port: number) => Hono): Promise<Listening> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "EADDRINUSE" ? new PortInUseError(port) : err));
    server.listen(port, LOOPBACK, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  const respond = getRequestListener(app(actual).fetch);
  server.on("request", (request: IncomingMessage, response: ServerResponse) => void respond(request, response));
  return {
    port: actual,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
