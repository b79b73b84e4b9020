import { isAbsolute } from "node:path";
import { z } from "zod";
import { parseDuration } from "../duration.js";

/**
 * One schema per method's params and result; the TypeScript types are inferred from them. Values the
 * sidecar stores but never interprets (message content, client capabilities) are checked against their
 * ACP shape and then kept exactly as received, so keys such as `__proto__` survive as plain data.
 */
function opaque<T extends z.ZodType>(shape: T) {
  const schema = z.unknown().check((ctx) => {
    if (nestsDeeperThan(ctx.value, MAX_NESTING_DEPTH)) {
      ctx.issues.push({ code: "custom", message: `nests deeper than ${MAX_NESTING_DEPTH} levels`, input: ctx.value });
      return;
    }
    const result = shape.safeParse(ctx.value);
    if (!result.success)
      for (const issue of result.error.issues) ctx.issues.push({ ...issue, input: ctx.value } as (typeof ctx.issues)[number]);
  });
  OPAQUE_SHAPES.set(schema, shape);
  return schema as unknown as z.ZodType<z.output<T>, z.input<T>>;
}

/** Each opaque schema's ACP shape, so the published JSON Schema can describe it. */
export const OPAQUE_SHAPES = new WeakMap<z.ZodType, z.ZodType>();

/**
 * How deep an opaque value (client capabilities, one content block) may nest objects and arrays, the
 * value itself being level 1. Stores keep it as JSON text, and JSON.stringify runs out of stack a few
 * thousand levels down, where JSON.parse does not: the limit keeps every accepted value storable.
 */
export const MAX_NESTING_DEPTH = 64;

/** Whether `value` nests objects and arrays more than `levels` deep; looks no further down than that. */
function nestsDeeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) return value.some((item) => nestsDeeperThan(item, levels - 1));
  for (const key in value) if (nestsDeeperThan((value as Record<string, unknown>)[key], levels - 1)) return true;
  return false;
}

/**
 * A string the sidecar stores or looks up as it is: one holding a lone surrogate (a UTF-16 code unit
 * D800–DFFF not part of a pair) has no UTF-8 form, so Redis and SQLite would keep U+FFFD instead and two
 * such ids could become one. Refused before anything is stored, on every store alike.
 */
const wellFormedString = () =>
  z.string().refine((s) => (s as string & { isWellFormed(): boolean }).isWellFormed(), {
    message: "contains a lone surrogate (a UTF-16 code unit D800-DFFF not part of a pair)",
  });

const Meta = z.record(z.string(), z.unknown()).nullish();
export const SessionIdSchema = wellFormedString().min(1).max(256);
export const MessageIdSchema = wellFormedString().min(1).max(256);
const AbsolutePath = wellFormedString().refine(isAbsolute, { message: "must be an absolute path" });
const Count = z.number().int().min(0);
const DurationSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1) {
    ctx.addIssue({ code: "custom", message: "expected a duration such as 30s, 5m, 1h, 1d or milliseconds" });
    return z.NEVER;
  }
  return ms;
});

/** Per-session retention; null returns the session to the defaults. */
export const RetentionInputSchema = z.object({ maxIdle: DurationSchema.optional(), pinned: z.boolean().optional() }).nullable();

// ACP ContentBlock variants, loose: unknown fields (annotations, _meta, newer ones) are kept.
const ContentBlockShape = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("text"), text: z.string() }),
  z.looseObject({ type: z.literal("image"), data: z.string(), mimeType: z.string() }),
  z.looseObject({ type: z.literal("audio"), data: z.string(), mimeType: z.string() }),
  z.looseObject({ type: z.literal("resource_link"), name: z.string(), uri: z.string() }),
  z.looseObject({ type: z.literal("resource"), resource: z.looseObject({ uri: z.string() }) }),
]);
export const ContentBlockSchema = opaque(ContentBlockShape);

export const ClientCapabilitiesSchema = opaque(
  z.looseObject({
    fs: z.looseObject({ readTextFile: z.boolean().optional(), writeTextFile: z.boolean().optional() }).optional(),
    terminal: z.boolean().optional(),
  }),
);

/** ACP McpServer (stdio, http or sse); only `name` is ever stored. */
export const McpServerSchema = z.looseObject({ name: wellFormedString().min(1) });

export const RoleSchema = z.enum(["user", "assistant", "system"]);

export const MessageInputSchema = z.object({
  messageId: MessageIdSchema.optional(),
  role: RoleSchema,
  content: z.union([z.string(), z.array(ContentBlockSchema)]),
  timestamp: z.iso.datetime({ offset: true }).optional(),
});

export const MessageSchema = z.object({
  messageId: z.string(),
  role: RoleSchema,
  content: z.union([z.string(), z.array(ContentBlockSchema)]),
  timestamp: z.string(),
});

// ---- params ----

export const InitializeParamsSchema = z.object({
  protocolVersion: z.number().int().min(0).max(65535),
  clientCapabilities: ClientCapabilitiesSchema.optional(),
  clientInfo: z.looseObject({ name: z.string(), version: z.string() }).nullish(),
  _meta: Meta,
});

export const NewSessionParamsSchema = z.object({
  cwd: AbsolutePath.optional(),
  mcpServers: z.array(McpServerSchema).optional(),
  additionalDirectories: z.array(AbsolutePath).optional(),
  title: wellFormedString().nullish(),
  clientCapabilities: ClientCapabilitiesSchema.optional(),
  retention: RetentionInputSchema.optional(),
  _meta: Meta,
});

export const GetSessionParamsSchema = z
  .object({
    sessionId: SessionIdSchema,
    offset: Count.optional(),
    limit: Count.optional(),
    afterMessageId: MessageIdSchema.optional(),
    _meta: Meta,
  })
  .refine((p) => p.offset === undefined || p.afterMessageId === undefined, {
    message: "give offset or afterMessageId, not both",
    path: ["afterMessageId"],
  });

export const UpdateSessionParamsSchema = z.object({
  sessionId: SessionIdSchema,
  messages: z
    .array(MessageInputSchema)
    .optional()
    .superRefine((messages, ctx) => {
      const seen = new Set<string>();
      messages?.forEach((m, i) => {
        if (m.messageId === undefined) return;
        if (seen.has(m.messageId)) ctx.addIssue({ code: "custom", path: [i, "messageId"], message: "repeats an earlier message's id" });
        seen.add(m.messageId);
      });
    }),
  title: wellFormedString().nullish(),
  clientCapabilities: ClientCapabilitiesSchema.optional(),
  mcpServers: z.array(McpServerSchema).optional(),
  additionalDirectories: z.array(AbsolutePath).optional(),
  expectedRevision: z.number().int().min(1).optional(),
  retention: RetentionInputSchema.optional(),
  _meta: Meta,
});

export const SessionIdParamsSchema = z.object({ sessionId: SessionIdSchema, _meta: Meta });

export const ListSessionsParamsSchema = z.object({
  cursor: wellFormedString().nullish(),
  limit: z.number().int().min(1).max(1000).optional(),
  cwd: AbsolutePath.nullish(),
  archived: z.enum(["exclude", "include", "only"]).nullish(),
  _meta: Meta,
});

export const LoadSessionParamsSchema = z.object({
  sessionId: SessionIdSchema,
  cwd: AbsolutePath,
  mcpServers: z.array(McpServerSchema).optional(),
  additionalDirectories: z.array(AbsolutePath).optional(),
  _meta: Meta,
});

export const ResumeSessionParamsSchema = LoadSessionParamsSchema;

export const ForkSessionParamsSchema = z.object({
  sessionId: SessionIdSchema,
  cwd: AbsolutePath,
  mcpServers: z.array(McpServerSchema).optional(),
  atMessageId: MessageIdSchema.optional(),
  title: wellFormedString().nullish(),
  _meta: Meta,
});

// ---- results and notifications ----

const Timestamp = z.string().describe("ISO 8601 with milliseconds");

export const SessionInfoSchema = z.object({
  sessionId: z.string(),
  cwd: z.string(),
  title: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  messageCount: Count,
  revision: z.number().int(),
  additionalDirectories: z.array(z.string()),
  archived: z.boolean(),
  parentSessionId: z.string().nullable(),
});

export const RetentionSchema = z.object({
  maxIdleMs: z.number().int().describe("the effective idle age, in milliseconds"),
  pinned: z.boolean(),
});

export const SessionSchema = z.object({
  sessionId: z.string(),
  cwd: z.string(),
  title: z.string().nullable(),
  createdAt: Timestamp,
  lastAccessed: Timestamp,
  clientCapabilities: z.unknown(),
  mcpServers: z.array(z.string()),
  additionalDirectories: z.array(z.string()),
  messageCount: Count,
  revision: z.number().int(),
  archived: z.boolean(),
  retention: RetentionSchema,
  parentSessionId: z.string().nullable(),
  forkedAtMessageId: z.string().nullable(),
  context: z.array(MessageSchema),
});

export const InitializeResultSchema = z.object({
  protocolVersion: z.number().int(),
  agentCapabilities: z.looseObject({ loadSession: z.boolean(), sessionCapabilities: z.record(z.string(), z.unknown()) }),
  agentInfo: z.object({ name: z.string(), version: z.string() }),
  authMethods: z.array(z.unknown()),
});
export const NewSessionResultSchema = z.object({ sessionId: z.string() });
export const GetSessionResultSchema = z.object({ session: SessionSchema });
export const UpdateSessionResultSchema = z.object({
  sessionId: z.string(),
  messageCount: Count,
  revision: z.number().int(),
  appended: Count,
  trimmed: Count,
  lastAccessed: Timestamp,
});
export const RemoveSessionResultSchema = z.object({ removed: z.boolean() });
export const EmptyResultSchema = z.object({});

/** "open" while this connection has the session attached (created, loaded, resumed or forked, not closed or archived since). */
export const SessionStatusResultSchema = z.object({ status: z.enum(["open", "saved"]) });
export const ListSessionsResultSchema = z.object({ sessions: z.array(SessionInfoSchema), nextCursor: z.string().optional() });

export const SessionExpiredSchema = z.object({
  sessionId: z.string(),
  createdAt: Timestamp,
  lastAccessed: Timestamp,
  expiredAt: Timestamp,
  messageCount: Count,
  action: z.enum(["delete", "archive"]),
});

// ---- live observers (session/subscribe) ----

export const SubscribeSessionParamsSchema = z.object({
  sessionId: SessionIdSchema,
  /** Catch up first: the messages after this one come as the first `appended` changes. */
  afterMessageId: MessageIdSchema.optional(),
  /** Also send appended messages and title changes as ACP session/update notifications. */
  acpUpdates: z.boolean().optional(),
  _meta: Meta,
});
export const SubscribeSessionResultSchema = z.object({ sessionId: z.string(), revision: z.number().int(), messageCount: Count });

export const SessionChangeSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("appended"), messages: z.array(MessageSchema), trimmed: Count.optional() }),
  z.object({ type: z.literal("updated"), session: SessionInfoSchema }),
  z.object({ type: z.literal("truncated"), removed: Count }),
  z.object({ type: z.literal("archived") }),
  z.object({ type: z.literal("unarchived") }),
  z.object({ type: z.literal("removed") }),
  z.object({ type: z.literal("expired"), action: z.enum(["delete", "archive"]) }),
  z.object({ type: z.literal("lagged"), revision: z.number().int(), messageCount: Count }),
]);

export const SessionChangedSchema = z.object({
  sessionId: z.string(),
  revision: z.number().int().describe("the revision after the change; for removed, expired and lagged, the last the session had"),
  messageCount: Count,
  change: SessionChangeSchema,
});

export type InitializeParams = z.infer<typeof InitializeParamsSchema>;
export type NewSessionParams = z.infer<typeof NewSessionParamsSchema>;
export type GetSessionParams = z.infer<typeof GetSessionParamsSchema>;
export type UpdateSessionParams = z.infer<typeof UpdateSessionParamsSchema>;
export type ListSessionsParams = z.infer<typeof ListSessionsParamsSchema>;
export type ForkSessionParams = z.infer<typeof ForkSessionParamsSchema>;
export type LoadSessionParams = z.infer<typeof LoadSessionParamsSchema>;
export type MessageInput = z.infer<typeof MessageInputSchema>;
export type Message = z.infer<typeof MessageSchema>;
export type Session = z.infer<typeof SessionSchema>;
export type SessionInfo = z.infer<typeof SessionInfoSchema>;
export type InitializeResult = z.infer<typeof InitializeResultSchema>;
export type UpdateSessionResult = z.infer<typeof UpdateSessionResultSchema>;
export type ListSessionsResult = z.infer<typeof ListSessionsResultSchema>;
export type SessionExpired = z.infer<typeof SessionExpiredSchema>;
export type SubscribeSessionResult = z.infer<typeof SubscribeSessionResultSchema>;
export type SessionChanged = z.infer<typeof SessionChangedSchema>;
