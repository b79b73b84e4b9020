import { z } from "zod";
import { METHOD_SCHEMAS, NOTIFICATION_SCHEMAS } from "./method-schemas.js";
import { OPAQUE_SHAPES } from "./schemas.js";

/** `session/new` → `SessionNew`. */
const pascal = (method: string) => method.replace(/(^|[/_])(\w)/g, (_, __, c: string) => c.toUpperCase());

/** Params are published as a client may write them (`input`), results and notifications as sent (`output`). */
function toJsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io,
    // Refinements (absolute paths, distinct message ids) cannot be expressed: the value's type is published.
    unrepresentable: "any",
    // Values kept exactly as received are checked by code against their ACP shape: publish that shape.
    override: (ctx) => {
      const shape = OPAQUE_SHAPES.get(ctx.zodSchema as unknown as z.ZodType);
      if (shape) Object.assign(ctx.jsonSchema, toJsonSchema(shape, io));
    },
  }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

const envelope = (method: string, params: string, withId: boolean) => ({
  type: "object",
  properties: {
    jsonrpc: { const: "2.0" },
    ...(withId ? { id: { type: ["string", "number", "null"] } } : {}),
    method: { const: method },
    params: { $ref: `#/$defs/${params}` },
  },
  required: withId ? ["jsonrpc", "id", "method"] : ["jsonrpc", "method", "params"],
});

/**
 * A JSON Schema (draft 2020-12) of the whole protocol, so other languages can generate clients and check
 * what they send. `$defs` holds `<Method>Params` and `<Method>Result` for every method, `<Name>Notification`
 * for the params of every notification the sidecar sends, and `SidecarNotification` for their envelopes;
 * the root accepts any request the sidecar answers.
 */
export function protocolJsonSchema(version: string): Record<string, unknown> {
  const defs: Record<string, unknown> = {};
  const requests: unknown[] = [];
  for (const [method, { params, result }] of Object.entries(METHOD_SCHEMAS)) {
    defs[`${pascal(method)}Params`] = toJsonSchema(params, "input");
    defs[`${pascal(method)}Result`] = toJsonSchema(result, "output");
    requests.push(envelope(method, `${pascal(method)}Params`, true));
  }
  const notifications: unknown[] = [];
  for (const [method, params] of Object.entries(NOTIFICATION_SCHEMAS)) {
    defs[`${pascal(method)}Notification`] = toJsonSchema(params, "output");
    notifications.push(envelope(method, `${pascal(method)}Notification`, false));
  }
  defs.SidecarNotification = { anyOf: notifications };
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "urn:acp-sessions:protocol",
    title: `acp-sessions protocol ${version}`,
    description:
      "A request to the acp-sessions sidecar. $defs: <Method>Params and <Method>Result for every method, " +
      "<Name>Notification for the params of each notification the sidecar sends, SidecarNotification for their envelopes.",
    anyOf: requests,
    $defs: defs,
  };
}
