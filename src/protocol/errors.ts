import { ErrorCode, RequestError, invalidParam, requestError } from "../rpc/errors.js";
import {
  CwdMismatchError,
  InvalidCursorError,
  LimitExceededError,
  MessageNotFoundError,
  RevisionConflictError,
  SessionNotFoundError,
  StoreUnavailableError,
} from "../store/errors.js";

/** The one place a store's error becomes its JSON-RPC error. */
export function storeErrorToRequestError(err: unknown): RequestError | undefined {
  if (err instanceof SessionNotFoundError) {
    return requestError(ErrorCode.SessionNotFound, "Session not found", { sessionId: err.sessionId });
  }
  if (err instanceof MessageNotFoundError) return invalidParam([err.field], `message ${err.messageId} is not in the session`);
  if (err instanceof CwdMismatchError) return invalidParam(["cwd"], `differs from the session's cwd (${err.cwd})`);
  if (err instanceof InvalidCursorError) return invalidParam(["cursor"], "not a cursor this store issued");
  if (err instanceof RevisionConflictError) {
    return requestError(ErrorCode.RevisionConflict, "Revision conflict: the session changed since expectedRevision", {
      sessionId: err.sessionId,
      expectedRevision: err.expectedRevision,
      revision: err.revision,
    });
  }
  if (err instanceof LimitExceededError) {
    return requestError(ErrorCode.LimitExceeded, `Limit exceeded: ${err.limit} is ${err.value}`, {
      limit: err.limit,
      value: err.value,
    });
  }
  if (err instanceof StoreUnavailableError) {
    return requestError(ErrorCode.StoreUnavailable, `Store unavailable: ${err.message}`, {
      backend: err.backend,
      applied: err.applied,
    });
  }
  return undefined;
}
