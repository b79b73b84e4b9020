import { ErrorCode, RequestError, requestError } from "./errors.js";

export type RequestId = string | number | null;

export type Incoming =
  | { kind: "request"; id: RequestId; method: string; params: unknown }
  | { kind: "notification"; method: string; params: unknown }
  | { kind: "invalid"; id: RequestId; error: RequestError }
  /** A response from the peer: this server sends no requests, so it is dropped. */
  | { kind: "response" };

/** The frame's JSON value, or the RequestError (-32700) that answers a frame that is not JSON. */
export function parseFrame(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    return requestError(ErrorCode.ParseError, `Parse error: ${(err as Error).message}`);
  }
}

/** Checks one JSON-RPC 2.0 envelope (an element of a batch, or a whole frame). */
export function classify(value: unknown): Incoming {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return invalid(null, "a JSON-RPC message must be an object");
  }
  const message = value as Record<string, unknown>;
  const hasId = Object.hasOwn(message, "id");
  const id = message.id;
  const idValid = !hasId || id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
  const replyId = hasId && idValid ? (id as RequestId) : null;
  if (message.jsonrpc !== "2.0") return invalid(replyId, 'the "jsonrpc" member must be exactly "2.0"');
  if (!idValid) return invalid(null, 'the "id" member must be a string, a number or null');
  if (!Object.hasOwn(message, "method")) {
    if (hasId && (Object.hasOwn(message, "result") || Object.hasOwn(message, "error"))) return { kind: "response" };
    return invalid(replyId, 'the "method" member is missing');
  }
  if (typeof message.method !== "string") return invalid(replyId, 'the "method" member must be a string');
  const params = message.params;
  if (params !== undefined && (typeof params !== "object" || params === null)) {
    return invalid(replyId, 'the "params" member must be an object or an array');
  }
  return hasId
    ? { kind: "request", id: id as RequestId, method: message.method, params }
    : { kind: "notification", method: message.method, params };
}

function invalid(id: RequestId, reason: string): Incoming {
  return { kind: "invalid", id, error: requestError(ErrorCode.InvalidRequest, `Invalid request: ${reason}`) };
}
