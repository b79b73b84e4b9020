/**
 * Errors a store throws; the protocol layer turns each into its JSON-RPC error in one place. They are
 * answers, not faults, so they skip the stack trace: capturing one cost more than the request itself.
 */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = limit;
    this.name = new.target.name;
  }
}

export class SessionNotFoundError extends StoreError {
  constructor(readonly sessionId: string) {
    super(`session ${sessionId} not found`);
  }
}

/** restore() of a session id the store already holds. */
export class SessionExistsError extends StoreError {
  constructor(readonly sessionId: string) {
    super(`session ${sessionId} already exists`);
  }
}

export class InvalidCursorError extends StoreError {
  constructor(readonly cursor: string) {
    super(`cursor ${JSON.stringify(cursor)} was not issued by this store`);
  }
}

/** A message id given as a position (afterMessageId) that the session does not hold. */
export class MessageNotFoundError extends StoreError {
  constructor(
    readonly field: string,
    readonly messageId: string,
  ) {
    super(`message ${messageId} not found`);
  }
}

export class CwdMismatchError extends StoreError {
  constructor(
    readonly sessionId: string,
    readonly cwd: string,
  ) {
    super(`session ${sessionId} belongs to ${cwd}`);
  }
}

export class RevisionConflictError extends StoreError {
  constructor(
    readonly sessionId: string,
    readonly expectedRevision: number,
    readonly revision: number,
  ) {
    super(`session ${sessionId} is at revision ${revision}, not ${expectedRevision}`);
  }
}

/**
 * Whether a request that failed as unavailable took effect: `false` when it surely did not (it never
 * reached the backend, or was undone), `"unknown"` when it was sent and no answer came in time (it may
 * have been applied, or may still be).
 */
export type Applied = false | "unknown";

/**
 * The backend could not be reached or failed. Retrying is safe when `applied` is false, or when every
 * message the request appends carries a messageId (a stored one is not appended again).
 */
export class StoreUnavailableError extends StoreError {
  constructor(
    readonly backend: string,
    cause: unknown,
    /** Only a backend that knows the request never reached it says false. */
    readonly applied: Applied = "unknown",
  ) {
    super(`${backend} store unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** A configured limit would be exceeded; nothing was changed. */
export class LimitExceededError extends StoreError {
  constructor(
    readonly limit: "maxSessions" | "maxContextMessages" | "maxContentBytes" | "maxMessageBytes",
    readonly value: number,
  ) {
    super(`${limit} (${value}) would be exceeded`);
  }
}

/** An error's message on one line, for one-line start-up errors and logs. */
export function oneLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, " ");
}

/** A store that cannot be opened: the message says which and why, for a one-line start-up error. */
export class StoreOpenError extends Error {}
