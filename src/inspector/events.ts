import { Hono } from "hono";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import { SessionClientError, type SessionChanged } from "../client/index.js";
import type { Logger } from "../log.js";
import { ErrorCode } from "../rpc/errors.js";
import type { Sidecar } from "./api.js";

/** The one path where the token may come as `?token=`: `EventSource` cannot set a header. */
export const EVENTS_PATH = "/api/events";

/**
 * `GET /api/events?sessionId=…&token=…`: server-sent events following one session through
 * session/subscribe, for as long as the page keeps the stream open. Events: `subscribed`
 * `{revision, messageCount}`, then `changed` (the `session/changed` params as they are), and `gone` when
 * the session is removed, expires or is not in the store (`refused`, for bad params), after which the
 * stream ends.
 */
export class LiveEvents {
  readonly #sidecar: Sidecar;
  readonly #log: Logger;
  /** Each open stream's way to end, so a stopping inspector ends them rather than waiting on pages. */
  readonly #open = new Set<() => void>();

  constructor(sidecar: Sidecar, log: Logger) {
    this.#sidecar = sidecar;
    this.#log = log;
  }

  routes(): Hono {
    const events = new Hono();
    events.get("/events", (c) => {
      const sessionId = c.req.query("sessionId") ?? "";
      return streamSSE(c, (stream) => this.#follow(stream, sessionId));
    });
    return events;
  }

  /** Ends every open stream; each unsubscribes as it ends. */
  close(): void {
    for (const end of this.#open) end();
  }

  async #follow(stream: SSEStreamingApi, sessionId: string): Promise<void> {
    let end = () => {};
    const ended = new Promise<void>((resolve) => (end = resolve));
    this.#open.add(end);
    stream.onAbort(end);
    const send = (event: string, data: unknown) =>
      stream.writeSSE({ event, data: JSON.stringify(data) }).catch((err: unknown) => this.#log.debug(`event stream: ${String(err)}`));
    try {
      const onChange = (change: SessionChanged) => {
        void send("changed", change);
        if (isGone(change)) end();
      };
      let unsubscribe: Awaited<ReturnType<Sidecar["subscribe"]>>;
      try {
        unsubscribe = await this.#sidecar.subscribe(sessionId, onChange);
      } catch (err) {
        if (!(err instanceof SessionClientError)) throw err;
        // Said as an event rather than a status: an EventSource cannot read the status of a failed stream.
        await send(err.code === ErrorCode.SessionNotFound ? "gone" : "refused", { code: err.code, message: err.message });
        return;
      }
      await send("subscribed", { revision: unsubscribe.revision, messageCount: unsubscribe.messageCount });
      await ended;
      await unsubscribe().catch(() => {});
    } finally {
      this.#open.delete(end);
    }
  }
}

/** Whether a change means the session is no longer in the store. */
function isGone(change: SessionChanged): boolean {
  const { type } = change.change;
  return type === "removed" || (type === "expired" && change.change.action === "delete");
}
