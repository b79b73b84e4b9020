// The page's calls to the inspector's JSON API (src/inspector/api.ts), one function per route, each
// carrying the run's token. Results are the sidecar's own, typed from the protocol's schemas.
/** @import { ResultOf, SessionChanged } from "../../client/types.js" */

const TOKEN_KEY = "acp-sessions-inspector-token";

/**
 * The token arrives in the URL fragment (`#token=…`), which no request carries. It is kept for this tab
 * (a reload still works) and taken out of the address bar, so it is not copied along with the address.
 */
export function adoptToken() {
  const match = /^#token=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (!match) return;
  sessionStorage.setItem(TOKEN_KEY, match[1] ?? "");
  history.replaceState(null, "", location.pathname);
}

/** Whether the server was started with --read-only: the page then offers no change at all. */
export const readOnly = document.querySelector('meta[name="acp-sessions-read-only"]')?.getAttribute("content") === "true";

/** A refused or failed call: the HTTP status, and the JSON-RPC code and data when the API sent them. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {number} [code]
   * @param {any} [data]
   */
  constructor(status, message, code, data) {
    super(message);
    this.status = status;
    this.code = code;
    this.data = data;
  }
}

/**
 * @param {"GET" | "POST" | "PATCH" | "DELETE"} method
 * @param {string} path
 * @param {object} [body]
 * @returns {Promise<any>}
 */
async function call(method, path, body) {
  return (await send(method, path, body)).json();
}

/**
 * The response of a call that succeeded; a failed one is thrown as an ApiError.
 * @param {"GET" | "POST" | "PATCH" | "DELETE"} method
 * @param {string} path
 * @param {object} [body]
 * @returns {Promise<Response>}
 */
async function send(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.ok) return response;
  if ((response.headers.get("content-type") ?? "").startsWith("application/json")) {
    const { error } = await response.json();
    throw new ApiError(response.status, error.message, error.code, error.data);
  }
  // A refusal from the server's guards: one line saying why.
  throw new ApiError(response.status, (await response.text()).trim());
}

/** @param {Record<string, string | number | undefined>} params */
function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== "") search.set(key, String(value));
  const text = search.toString();
  return text === "" ? "" : `?${text}`;
}

/** @param {string} sessionId */
const sessionPath = (sessionId) => `/api/sessions/${encodeURIComponent(sessionId)}`;

/**
 * @param {{ cwd?: string, archived?: "exclude" | "include" | "only", cursor?: string, limit?: number }} params
 * @returns {Promise<ResultOf<"session/list">>}
 */
export const listSessions = (params) => call("GET", `/api/sessions${query(params)}`);

/**
 * Reads a session with session/export, which is not an access: looking at a session never keeps it alive.
 * @param {string} sessionId
 * @param {{ tail?: number, beforeMessageId?: string, offset?: number, afterMessageId?: string, limit?: number }} window
 * @returns {Promise<ResultOf<"session/export">>}
 */
export const getSession = (sessionId, window) => call("GET", `${sessionPath(sessionId)}${query(window)}`);

/**
 * @param {string} sessionId
 * @param {{ title?: string | null, retention?: { maxIdle?: number, pinned?: boolean }, expectedRevision: number }} changes
 * @returns {Promise<ResultOf<"session/update">>}
 */
export const updateSession = (sessionId, changes) => call("PATCH", sessionPath(sessionId), changes);

/**
 * @param {string} sessionId
 * @param {string} title
 * @param {number} expectedRevision
 * @returns {Promise<ResultOf<"session/set_title">>}
 */
export const setTitle = (sessionId, title, expectedRevision) =>
  call("POST", `${sessionPath(sessionId)}/title`, { title, expectedRevision });

/**
 * Drops this message and every later one.
 * @param {string} sessionId
 * @param {string} fromMessageId
 * @param {number} expectedRevision
 * @returns {Promise<ResultOf<"session/truncate">>}
 */
export const truncateFrom = (sessionId, fromMessageId, expectedRevision) =>
  call("POST", `${sessionPath(sessionId)}/truncate`, { fromMessageId, expectedRevision });

/**
 * @param {string} sessionId
 * @param {boolean} archived
 * @param {number} expectedRevision
 */
export const setArchived = (sessionId, archived, expectedRevision) =>
  call("POST", `${sessionPath(sessionId)}/${archived ? "archive" : "unarchive"}`, { expectedRevision });

/**
 * @param {string} sessionId
 * @param {{ cwd: string, atMessageId: string, expectedRevision: number }} fork
 * @returns {Promise<ResultOf<"session/fork">>}
 */
export const forkSession = (sessionId, fork) => call("POST", `${sessionPath(sessionId)}/fork`, fork);

/**
 * @param {string} sessionId
 * @param {number} expectedRevision
 * @returns {Promise<ResultOf<"session/remove">>}
 */
export const removeSession = (sessionId, expectedRevision) => call("DELETE", sessionPath(sessionId), { expectedRevision });

/**
 * Downloads a session's export (`jsonl` or `markdown`). The call needs the token as a header, which a plain
 * link cannot send, so the file is fetched, then saved under the name the server gave it.
 * @param {string} sessionId
 * @param {"jsonl" | "markdown"} format
 * @returns {Promise<string>} the file's name
 */
export async function downloadExport(sessionId, format) {
  const response = await send("GET", `${sessionPath(sessionId)}/export${query({ format })}`);
  const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "")?.[1] ?? `acp-session.${format}`;
  let file;
  try {
    file = await response.blob();
  } catch {
    throw new Error("the download was cut short: the session changed while it was exported, or the inspector stopped. Try again.");
  }
  const url = URL.createObjectURL(file);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  // The browser may resolve the link after this task: the file is let go once the download has surely begun.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

/**
 * Follows a session through the server's event stream (session/subscribe behind it) until the returned
 * function is called or the session is gone. The token goes in the query here only: EventSource cannot
 * set a header.
 * @param {string} sessionId
 * @param {{ onSubscribed: (at: { revision: number, messageCount: number }) => void, onChange: (change: SessionChanged) => void, onGone: () => void }} handlers
 * @returns {() => void} stops following
 */
export function followSession(sessionId, { onSubscribed, onChange, onGone }) {
  const source = new EventSource(`/api/events${query({ sessionId, token: sessionStorage.getItem(TOKEN_KEY) ?? "" })}`);
  source.addEventListener("subscribed", (event) => onSubscribed(JSON.parse(event.data)));
  source.addEventListener("changed", (event) => {
    /** @type {SessionChanged} */
    const change = JSON.parse(event.data);
    const type = change.change.type;
    if (type === "removed" || (type === "expired" && change.change.action === "delete")) {
      source.close();
      onGone();
    } else {
      onChange(change);
    }
  });
  source.addEventListener("gone", () => {
    source.close();
    onGone();
  });
  // Bad params are a bug of the page, not a state to show: following simply stops.
  source.addEventListener("refused", () => source.close());
  return () => source.close();
}
