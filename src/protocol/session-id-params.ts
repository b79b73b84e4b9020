/**
 * Params that are `{"sessionId": "…"}` and nothing else, the shape most reads carry, checked by hand
 * exactly as SessionIdSchema checks a session id: a string of 1 to 256 UTF-16 units with no lone
 * surrogate. Undefined for anything else, which then goes through the method's schema, so a request
 * that fails is answered as before. Zod's general walk costs a pipelined read more than its store call.
 */
export function sessionIdOnly(params: unknown): { sessionId: string } | undefined {
  if (typeof params !== "object" || params === null) return undefined;
  let keys = 0;
  for (const key in params) if (++keys > 1 || key !== "sessionId") return undefined;
  if (keys === 0) return undefined;
  const sessionId = (params as { sessionId: unknown }).sessionId;
  if (typeof sessionId !== "string" || sessionId.length < 1 || sessionId.length > 256) return undefined;
  if (!(sessionId as string & { isWellFormed(): boolean }).isWellFormed()) return undefined;
  return { sessionId };
}
