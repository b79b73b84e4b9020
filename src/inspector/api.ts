import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ConnectionClosedError, SessionClientError, type SessionClient } from "../client/index.js";
import type { ExportFormat } from "../cli/export.js";
import type { Logger } from "../log.js";
import { Method } from "../protocol/methods.js";
import { ErrorCode } from "../rpc/errors.js";
import { DOWNLOADS, exportDownload } from "./download.js";
import { refuse } from "./security.js";

/**
 * The inspector's JSON API: each route is one protocol method of the sidecar, its params read from the
 * path, query and body, its result sent back as the sidecar gave it. The sidecar validates the params
 * and names a bad field itself, exactly as for any other client. Errors answer
 * `{error: {code, message, data}}` with the JSON-RPC code and an HTTP status that fits it. A session is
 * read with session/export, which is not an access: looking at a session never keeps it alive.
 *
 *   GET    /api/sessions                  session/list       ?cwd&archived&cursor&limit
 *   GET    /api/sessions/:id              session/export     ?offset&afterMessageId&tail&beforeMessageId&limit
 *   GET    /api/sessions/:id/export       session/export     ?format=jsonl|markdown, paged, as an attachment
 *   PATCH  /api/sessions/:id              session/update     {title?, retention?, expectedRevision}
 *   POST   /api/sessions/:id/title        session/set_title  {title, expectedRevision}
 *   POST   /api/sessions/:id/truncate     session/truncate   {fromMessageId | afterMessageId, expectedRevision}
 *   POST   /api/sessions/:id/archive      session/archive    {expectedRevision}
 *   POST   /api/sessions/:id/unarchive    session/unarchive  {expectedRevision}
 *   POST   /api/sessions/:id/fork         session/fork       {cwd, atMessageId?, title?, expectedRevision}
 *   DELETE /api/sessions/:id              session/remove     {expectedRevision}
 */

/** The sidecar's client: its requests, and the paged export the CLI writes with too. */
export type Sidecar = SessionClient;

/** An answer the API gives itself, before or instead of the sidecar's: with the JSON-RPC code it stands for. */
export class ApiError extends Error {
  constructor(
    readonly status: 400 | 409 | 415,
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** Bodies are a few fields (a title at most): anything larger is not from the page. */
const MAX_BODY_BYTES = 64 * 1024;

export function apiRoutes(sidecar: Sidecar, log: Logger): Hono {
  const api = new Hono();
  api.use(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => refuse(c, 413, `a request body is at most ${MAX_BODY_BYTES} bytes.`) }));
  api.onError((err, c) => errorAnswer(c, err, log));

  api.get("/sessions", async (c) =>
    c.json(
      await sidecar.request(Method.sessionList, {
        cwd: c.req.query("cwd"),
        archived: c.req.query("archived"),
        cursor: c.req.query("cursor"),
        limit: numeric(c.req.query("limit")),
      }),
    ),
  );

  api.get("/sessions/:id", async (c) =>
    c.json(
      await sidecar.request(Method.sessionExport, {
        sessionId: c.req.param("id"),
        offset: numeric(c.req.query("offset")),
        afterMessageId: c.req.query("afterMessageId"),
        tail: numeric(c.req.query("tail")),
        beforeMessageId: c.req.query("beforeMessageId"),
        limit: numeric(c.req.query("limit")),
      }),
    ),
  );

  api.get("/sessions/:id/export", (c) => exportDownload(sidecar, c.req.param("id"), exportFormat(c.req.query("format")), log));

  api.patch("/sessions/:id", async (c) => {
    const body = await jsonBody(c);
    const params = { sessionId: c.req.param("id"), title: body.title, retention: body.retention, expectedRevision: revision(body) };
    return c.json(await sidecar.request(Method.sessionUpdate, params));
  });

  // session/set_title takes no expectedRevision: the revision is checked just before, as for archive.
  api.post("/sessions/:id/title", async (c) => {
    const sessionId = c.req.param("id");
    const body = await jsonBody(c);
    await atRevision(sidecar, sessionId, revision(body));
    return c.json(await sidecar.request(Method.sessionSetTitle, { sessionId, title: body.title }));
  });

  api.post("/sessions/:id/truncate", async (c) => {
    const body = await jsonBody(c);
    const params = {
      sessionId: c.req.param("id"),
      fromMessageId: body.fromMessageId,
      afterMessageId: body.afterMessageId,
      expectedRevision: revision(body),
    };
    return c.json(await sidecar.request(Method.sessionTruncate, params));
  });

  api.post("/sessions/:id/archive", async (c) => {
    const sessionId = c.req.param("id");
    await atRevision(sidecar, sessionId, revision(await jsonBody(c)));
    return c.json(await sidecar.request(Method.sessionArchive, { sessionId }));
  });

  api.post("/sessions/:id/unarchive", async (c) => {
    const sessionId = c.req.param("id");
    await atRevision(sidecar, sessionId, revision(await jsonBody(c)));
    return c.json(await sidecar.request(Method.sessionUnarchive, { sessionId }));
  });

  api.post("/sessions/:id/fork", async (c) => {
    const sessionId = c.req.param("id");
    const body = await jsonBody(c);
    await atRevision(sidecar, sessionId, revision(body));
    return c.json(
      await sidecar.request(Method.sessionFork, { sessionId, cwd: body.cwd, atMessageId: body.atMessageId, title: body.title }),
    );
  });

  api.delete("/sessions/:id", async (c) => {
    const sessionId = c.req.param("id");
    await atRevision(sidecar, sessionId, revision(await jsonBody(c)));
    return c.json(await sidecar.request(Method.sessionRemove, { sessionId }));
  });

  return api;
}

/**
 * Set_title, archive, unarchive, fork and remove take no expectedRevision in the protocol: the revision is
 * read just before the change (with session/export, not an access), so a page acting on a stale view is
 * refused. The read and the change are two requests, so a change landing between them is not caught;
 * update and truncate check their revision atomically.
 */
async function atRevision(sidecar: Sidecar, sessionId: string, expectedRevision: number): Promise<void> {
  const { session } = await sidecar.request(Method.sessionExport, { sessionId, limit: 0 });
  if (session.revision !== expectedRevision) {
    throw new ApiError(409, ErrorCode.RevisionConflict, "Revision conflict: the session changed since expectedRevision", {
      sessionId,
      expectedRevision,
      revision: session.revision,
    });
  }
}

/** A query value that is a whole number becomes one; anything else goes on as text for the sidecar to refuse by name. */
function numeric(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  return (/^\d{1,15}$/.test(value) ? Number(value) : value) as number;
}

function exportFormat(value: string | undefined): ExportFormat {
  if (value !== undefined && Object.hasOwn(DOWNLOADS, value)) return value as ExportFormat;
  throw new ApiError(400, ErrorCode.InvalidParams, "Invalid params: format: must be jsonl or markdown", {
    issues: [{ path: ["format"], message: "must be jsonl or markdown" }],
  });
}

/** Every change states the revision the page showed: the inspector never changes a session blindly. */
function revision(body: Record<string, unknown>): number {
  const value = body.expectedRevision;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 1) return value;
  throw new ApiError(400, ErrorCode.InvalidParams, "Invalid params: expectedRevision: required, the revision the page last read", {
    issues: [{ path: ["expectedRevision"], message: "required, the revision the page last read" }],
  });
}

async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
    throw new ApiError(415, ErrorCode.InvalidRequest, "Invalid request: the body must be JSON (Content-Type: application/json)");
  }
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch (err) {
    throw new ApiError(400, ErrorCode.ParseError, `Parse error: ${(err as Error).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(400, ErrorCode.InvalidRequest, "Invalid request: the body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

/** The HTTP status of each JSON-RPC error the sidecar answers. */
const STATUS: Record<number, 400 | 404 | 409 | 422 | 500 | 503> = {
  [ErrorCode.InvalidParams]: 400,
  [ErrorCode.InvalidRequest]: 400,
  [ErrorCode.SessionNotFound]: 404,
  [ErrorCode.RevisionConflict]: 409,
  [ErrorCode.LimitExceeded]: 422,
  [ErrorCode.StoreUnavailable]: 503,
};

function errorAnswer(c: Context, err: unknown, log: Logger): Response {
  if (err instanceof ApiError) return c.json({ error: { code: err.code, message: err.message, data: err.data } }, err.status);
  if (err instanceof SessionClientError) {
    return c.json({ error: { code: err.code, message: err.message, data: err.data } }, STATUS[err.code] ?? 500);
  }
  if (err instanceof ConnectionClosedError) {
    return c.json({ error: { code: ErrorCode.InternalError, message: `The inspector's sidecar has stopped: ${err.message}` } }, 503);
  }
  // Like the sidecar: the details go to stderr, never to the peer.
  log.error(`inspector: ${c.req.method} ${c.req.path} failed`, err);
  return c.json({ error: { code: ErrorCode.InternalError, message: "Internal error (the inspector's stderr has the details)" } }, 500);
}
