import { ErrorCode } from "../rpc/errors.js";

/** The sidecar answered a request with a JSON-RPC error: its code (e.g. -32002 session not found) and data. */
export class SessionClientError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "SessionClientError";
  }

  /**
   * For -32012 (store unavailable), whether the request took effect: false when it surely did not, so
   * it may be retried as it is; "unknown" when it may have, so retry only an update whose every message
   * carries a messageId (those already stored are not appended again). Undefined for other errors.
   */
  get applied(): false | "unknown" | undefined {
    const applied = (this.data as { applied?: unknown } | undefined)?.applied;
    return this.code === ErrorCode.StoreUnavailable && (applied === false || applied === "unknown") ? applied : undefined;
  }
}

/**
 * The connection ended before a request was answered: the sidecar exited, its output closed, or the
 * client stopped trusting the stream. Never sent over the wire, so it has no JSON-RPC code.
 */
export class ConnectionClosedError extends Error {
  constructor(
    message: string,
    /** The sidecar's exit code or signal, when this client spawned it and it has exited. */
    readonly exit?: { code: number | null; signal: NodeJS.Signals | null },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ConnectionClosedError";
  }
}

/** A line from the sidecar longer than the client's limit: dropped unread, so its answer is lost. */
export class MessageTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`the sidecar sent a message of ${bytes} bytes, over the limit of ${maxBytes}`);
    this.name = "MessageTooLargeError";
  }
}
