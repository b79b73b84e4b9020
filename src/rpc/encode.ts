import type { Piece } from "../transport/frame-writer.js";
import type { RequestId } from "./messages.js";

/**
 * A JSON value given as pieces that concatenate to its text. Handlers return it when most of a result
 * is stored bytes (a session's messages), so they are copied into the output, never parsed and re-encoded.
 */
export class RawJson {
  constructor(readonly pieces: Piece[]) {}
}

function valuePieces(value: unknown): readonly Piece[] {
  return value instanceof RawJson ? value.pieces : [JSON.stringify(value ?? null)];
}

const RESULT_HEAD = Buffer.from('{"jsonrpc":"2.0","id":');
const RESULT_ID_END = Buffer.from(',"result":');

export function encodeResult(id: RequestId, result: unknown): Piece[] {
  if (!(result instanceof RawJson)) return [`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${JSON.stringify(result ?? null)}}`];
  // Bytes around bytes: the envelope is copied, not encoded, and the id alone is text.
  const pieces: Piece[] = [RESULT_HEAD, JSON.stringify(id), RESULT_ID_END];
  for (const piece of result.pieces) pieces.push(piece);
  pieces.push("}");
  return pieces;
}

export function encodeError(id: RequestId, code: number, message: string, data?: unknown): Piece[] {
  const error = data === undefined ? { code, message } : { code, message, data };
  return [`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":${JSON.stringify(error)}}`];
}

export function encodeNotification(method: string, params: unknown): Piece[] {
  return [`{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":`, ...valuePieces(params), "}"];
}

/** A batch's responses as one JSON array. */
export function encodeArray(items: Piece[][]): Piece[] {
  const out: Piece[] = ["["];
  items.forEach((item, i) => {
    if (i > 0) out.push(",");
    out.push(...item);
  });
  out.push("]");
  return out;
}
