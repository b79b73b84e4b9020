import { z } from "zod";
import { Method, Notification } from "./methods.js";
import * as S from "./schemas.js";

/** Every method's params and result schema, by method name: the one table the JSON Schema is made from. */
export const METHOD_SCHEMAS: Record<string, { params: z.ZodType; result: z.ZodType }> = {
  [Method.initialize]: { params: S.InitializeParamsSchema, result: S.InitializeResultSchema },
  [Method.sessionNew]: { params: S.NewSessionParamsSchema, result: S.NewSessionResultSchema },
  [Method.sessionGet]: { params: S.GetSessionParamsSchema, result: S.GetSessionResultSchema },
  [Method.sessionUpdate]: { params: S.UpdateSessionParamsSchema, result: S.UpdateSessionResultSchema },
  [Method.sessionRemove]: { params: S.SessionIdParamsSchema, result: S.RemoveSessionResultSchema },
  [Method.sessionDelete]: { params: S.SessionIdParamsSchema, result: S.EmptyResultSchema },
  [Method.sessionList]: { params: S.ListSessionsParamsSchema, result: S.ListSessionsResultSchema },
  [Method.sessionLoad]: { params: S.LoadSessionParamsSchema, result: S.EmptyResultSchema },
  [Method.sessionResume]: { params: S.ResumeSessionParamsSchema, result: S.EmptyResultSchema },
  [Method.sessionClose]: { params: S.SessionIdParamsSchema, result: S.EmptyResultSchema },
  [Method.sessionFork]: { params: S.ForkSessionParamsSchema, result: S.NewSessionResultSchema },
  [Method.sessionArchive]: { params: S.SessionIdParamsSchema, result: S.EmptyResultSchema },
  [Method.sessionUnarchive]: { params: S.SessionIdParamsSchema, result: S.EmptyResultSchema },
};

export const NOTIFICATION_SCHEMAS: Record<string, z.ZodType> = {
  [Notification.sessionExpired]: S.SessionExpiredSchema,
  [Notification.sessionUpdate]: z.object({
    sessionId: z.string(),
    update: z.looseObject({
      sessionUpdate: z.enum(["user_message_chunk", "agent_message_chunk"]),
      messageId: z.string(),
      content: z.looseObject({ type: z.string() }),
    }),
  }),
};

/** `session/new` → `SessionNew`. */
const pascal = (method: string) => method.replace(/(^|[/_])(\w)/g, (_, __, c: string) => c.toUpperCase());

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io,
    unrepresentable: "any",
    // Values kept exactly as received are validated against their ACP shape: publish that shape.
    override: (ctx) => {
      const shape = S.OPAQUE_SHAPES.get(ctx.zodSchema as unknown as z.ZodType);
      if (shape) Object.assign(ctx.jsonSchema, jsonSchema(shape, io));
    },
  }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

/**
 * A JSON Schema (draft 2020-12) of the whole protocol: `$defs` holds each method's params (as a client
 * may send them) and result, and each notification's params; the root accepts any request the sidecar
 * answers, so other languages can generate clients and check what they send.
 */
export function protocolJsonSchema(version: string): Record<string, unknown> {
  const defs: Record<string, unknown> = {};
  const requests: unknown[] = [];
  for (const [method, { params, result }] of Object.entries(METHOD_SCHEMAS)) {
    defs[`${pascal(method)}Params`] = jsonSchema(params, "input");
    defs[`${pascal(method)}Result`] = jsonSchema(result, "output");
    requests.push({
      type: "object",
      properties: {
        jsonrpc: { const: "2.0" },
        id: { type: ["string", "number", "null"] },
        method: { const: method },
        params: { $ref: `#/$defs/${pascal(method)}Params` },
      },
      required: ["jsonrpc", "method"],
    });
  }
  for (const [method, params] of Object.entries(NOTIFICATION_SCHEMAS)) defs[`${pascal(method)}Notification`] = jsonSchema(params, "output");
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "https://acp-sessions/protocol.schema.json",
    title: `acp-sessions protocol ${version}`,
    description: "A request to the acp-sessions sidecar. $defs: <Method>Params, <Method>Result, <Notification>Notification.",
    anyOf: requests,
    $defs: defs,
  };
}
