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
    /** The last N messages (at most `limit` of them). */
    tail: Count.optional(),
    /** The `limit` messages just before this one; all of them before it without a limit. */
    beforeMessageId: MessageIdSchema.optional(),
    _meta: Meta,
  })
  .refine((p) => p.offset === undefined || p.afterMessageId === undefined, {
    message: "give offset or afterMessageId, not both",
    path: ["afterMessageId"],
  })
  .refine((p) => p.tail === undefined || (p.offset === undefined && p.afterMessageId === undefined && p.beforeMessageId === undefined), {
    message: "give tail without offset, afterMessageId or beforeMessageId",
    path: ["tail"],
  })
  .refine((p) => p.beforeMessageId === undefined || (p.offset === undefined && p.afterMessageId === undefined), {
    message: "give beforeMessageId without offset or afterMessageId",
    path: ["beforeMessageId"],
  });

/** session/get's windows, tail-first ones included, without its access. */
export const ExportSessionParamsSchema = GetSessionParamsSchema;

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

export const TruncateSessionParamsSchema = z
  .object({
    sessionId: SessionIdSchema,
    /** Keeps this message and drops every later one; null drops every message. */
    afterMessageId: MessageIdSchema.nullable().optional(),
    /** Drops this message and every later one. */
    fromMessageId: MessageIdSchema.optional(),
    expectedRevision: z.number().int().min(1).optional(),
    _meta: Meta,
  })
  .superRefine((p, ctx) => {
    const after = p.afterMessageId !== undefined;
    const from = p.fromMessageId !== undefined;
    if (after && from) ctx.addIssue({ code: "custom", path: ["fromMessageId"], message: "give afterMessageId or fromMessageId, not both" });
    if (!after && !from) {
      ctx.addIssue({
        code: "custom",
        path: ["afterMessageId"],
        message: "give afterMessageId (null drops every message) or fromMessageId",
      });
    }
  });

export const SessionIdParamsSchema = z.object({ sessionId: SessionIdSchema, _meta: Meta });

export const ListSessionsParamsSchema = z.object({
  cursor: wellFormedString().nullish(),
  limit: z.number().int().min(1).max(1000).optional(),
  cwd: AbsolutePath.nullish(),
  archived: z.enum(["exclude", "include", "only"]).nullish(),
  _meta: Meta,
});

/**
 * What a load replays, when not everything: the last N messages (goose's `replayTail`), or those
 * after a message the client already shows. Other `_meta` keys are kept as sent.
 */
export const LoadMetaSchema = z
  .looseObject({ replayTail: Count.optional(), replayAfterMessageId: MessageIdSchema.optional() })
  .refine((m) => m.replayTail === undefined || m.replayAfterMessageId === undefined, {
    message: "give replayTail or replayAfterMessageId, not both",
    path: ["replayAfterMessageId"],
  });

export const LoadSessionParamsSchema = z.object({
  sessionId: SessionIdSchema,
  cwd: AbsolutePath,
  mcpServers: z.array(McpServerSchema).optional(),
  additionalDirectories: z.array(AbsolutePath).optional(),
  _meta: LoadMetaSchema.nullish(),
});

export const ResumeSessionParamsSchema = LoadSessionParamsSchema.extend({ _meta: Meta });

/** The most code points a title keeps; a longer one is cut, not refused. */
export const MAX_TITLE_CODE_POINTS = 500;

/**
 * `title` as stored: trimmed, then cut to MAX_TITLE_CODE_POINTS. A missing, null, non-string or (after
 * trimming) empty title is refused, as ACP asks.
 */
export const SetSessionTitleParamsSchema = z.object({
  sessionId: SessionIdSchema,
  title: wellFormedString().trim().min(1, { message: "is empty after trimming whitespace" }).overwrite(capTitle),
  _meta: Meta,
});

/** At most MAX_TITLE_CODE_POINTS code points, cut between code points so a surrogate pair stays whole. */
function capTitle(title: string): string {
  // Fewer UTF-16 units than the cap: fewer code points too.
  if (title.length <= MAX_TITLE_CODE_POINTS) return title;
  let units = 0;
  for (let points = 0; points < MAX_TITLE_CODE_POINTS && units < title.length; points++) {
    units += title.codePointAt(units)! > 0xffff ? 2 : 1;
  }
  // The cut may land just after a space: the stored title has no surrounding whitespace either way.
  return title.slice(0, units).trimEnd();
}

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
  /** Whether its retention is pinned, so a listing can mark it without reading each session. */
  pinned: z.boolean(),
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
  contextStart: Count.describe("the index in the session of the first message of context (where an empty window would start)"),
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
/** The session as session/get returns it: one line of an export. */
export const ExportSessionResultSchema = GetSessionResultSchema;
export const UpdateSessionResultSchema = z.object({
  sessionId: z.string(),
  messageCount: Count,
  revision: z.number().int(),
  appended: Count,
  trimmed: Count,
  lastAccessed: Timestamp,
});
export const TruncateSessionResultSchema = z.object({
  sessionId: z.string(),
  messageCount: Count,
  revision: z.number().int(),
  removed: Count.describe("how many messages were dropped; 0 changes nothing"),
});
export const RemoveSessionResultSchema = z.object({ removed: z.boolean() });
/** `_meta` only when the load asked for part of the history: where its replay started, of how many. */
export const LoadSessionResultSchema = z.object({
  _meta: z
    .object({
      replayedFrom: Count.describe("the index in the session of the first message replayed"),
      messageCount: Count,
    })
    .optional(),
});
export const EmptyResultSchema = z.object({});

/** "open" while this connection has the session attached (created, loaded, resumed or forked, not closed or archived since). */
export const SessionStatusResultSchema = z.object({ status: z.enum(["open", "saved"]) });
/** The title as stored, which clients should show rather than the one they sent. */
export const SetSessionTitleResultSchema = z.object({ title: z.string() });
export const ListSessionsResultSchema = z.object({ sessions: z.array(SessionInfoSchema), nextCursor: z.string().optional() });

export const SessionExpiredSchema = z.object({
  sessionId: z.string(),
  createdAt: Timestamp,
  lastAccessed: Timestamp,
  expiredAt: Timestamp,
  messageCount: Count,
  action: z.enum(["delete", "archive"]),
});

// ---- an export's session lines, as import reads them ----

const IsoTime = z.iso.datetime({ offset: true });

/**
 * A session as its export line holds it (session/get's answer), without its context: checked as strictly
 * as the params that would have stored it. `revision` is read but not kept (it starts again).
 */
export const ExportedSessionSchema = z.object({
  sessionId: SessionIdSchema,
  cwd: AbsolutePath,
  title: wellFormedString().nullable(),
  createdAt: IsoTime,
  lastAccessed: IsoTime,
  clientCapabilities: ClientCapabilitiesSchema.nullable(),
  mcpServers: z.array(wellFormedString().min(1)),
  additionalDirectories: z.array(AbsolutePath),
  messageCount: Count,
  revision: z.number().int().optional(),
  archived: z.boolean(),
  retention: z.object({ maxIdleMs: z.number().int().min(1), pinned: z.boolean() }),
  parentSessionId: SessionIdSchema.nullable(),
  forkedAtMessageId: MessageIdSchema.nullable(),
});

/** One message of an export line's context: as session/update takes it, with its id and time. */
export const ExportedMessageSchema = MessageInputSchema.required({ messageId: true, timestamp: true });

export type ExportedSession = z.infer<typeof ExportedSessionSchema>;
export type ExportedMessage = z.infer<typeof ExportedMessageSchema>;

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
export type ExportSessionParams = z.infer<typeof ExportSessionParamsSchema>;
export type UpdateSessionParams = z.infer<typeof UpdateSessionParamsSchema>;
export type ListSessionsParams = z.infer<typeof ListSessionsParamsSchema>;
export type ForkSessionParams = z.infer<typeof ForkSessionParamsSchema>;
export type LoadSessionParams = z.infer<typeof LoadSessionParamsSchema>;
export type LoadSessionResult = z.infer<typeof LoadSessionResultSchema>;
export type MessageInput = z.infer<typeof MessageInputSchema>;
export type Message = z.infer<typeof MessageSchema>;
export type Session = z.infer<typeof SessionSchema>;
export type SessionInfo = z.infer<typeof SessionInfoSchema>;
export type InitializeResult = z.infer<typeof InitializeResultSchema>;
export type UpdateSessionResult = z.infer<typeof UpdateSessionResultSchema>;
export type TruncateSessionResult = z.infer<typeof TruncateSessionResultSchema>;
export type ListSessionsResult = z.infer<typeof ListSessionsResultSchema>;
export type SessionExpired = z.infer<typeof SessionExpiredSchema>;
export type SubscribeSessionResult = z.infer<typeof SubscribeSessionResultSchema>;
export type SessionChanged = z.infer<typeof SessionChangedSchema>;
