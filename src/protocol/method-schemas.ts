import { z } from "zod";
import { Method, Notification } from "./methods.js";
import * as S from "./schemas.js";

/**
 * Every method's params and result schema, by method name: the client's types and the published JSON
 * Schema are both read from this one table, so neither can drift from what the server validates.
 */
export const METHOD_SCHEMAS = {
  [Method.initialize]: { params: S.InitializeParamsSchema, result: S.InitializeResultSchema },
  [Method.sessionNew]: { params: S.NewSessionParamsSchema, result: S.NewSessionResultSchema },
  [Method.sessionGet]: { params: S.GetSessionParamsSchema, result: S.GetSessionResultSchema },
  [Method.sessionUpdate]: { params: S.UpdateSessionParamsSchema, result: S.UpdateSessionResultSchema },
  [Method.sessionTruncate]: { params: S.TruncateSessionParamsSchema, result: S.TruncateSessionResultSchema },
  [Method.sessionRemove]: { params: S.SessionIdParamsSchema, result: S.RemoveSessionResultSchema },
  [Method.sessionExport]: { params: S.ExportSessionParamsSchema, result: S.ExportSessionResultSchema },
  [Method.sessionDelete]: { params: S.SessionIdParamsSchema, result: S.EmptyResultSchema },
  [Method.sessionList]: { params: S.ListSessionsParamsSchema, result: S.ListSessionsResultSchema },
  [Method.sessionLoad]: { params: S.LoadSessionParamsSchema, result: S.LoadSessionResultSchema },
  [Method.sessionResume]: { params: S.ResumeSessionParamsSchema, result: S.EmptyResultSchema },
  [Method.sessionClose]: { params: S.SessionIdParamsSchema, result: S.EmptyResultSchema },
  [Method.sessionFork]: { params: S.ForkSessionParamsSchema, result: S.NewSessionResultSchema },
  [Method.sessionArchive]: { params: S.SessionIdParamsSchema, result: S.EmptyResultSchema },
  [Method.sessionUnarchive]: { params: S.SessionIdParamsSchema, result: S.EmptyResultSchema },
  [Method.sessionStatus]: { params: S.SessionIdParamsSchema, result: S.SessionStatusResultSchema },
  [Method.sessionSetTitle]: { params: S.SetSessionTitleParamsSchema, result: S.SetSessionTitleResultSchema },
  [Method.sessionSubscribe]: { params: S.SubscribeSessionParamsSchema, result: S.SubscribeSessionResultSchema },
  [Method.sessionUnsubscribe]: { params: S.SessionIdParamsSchema, result: S.EmptyResultSchema },
} as const;

/**
 * What a replay sends: ACP's `session/update` notification, narrowed to the chunks the sidecar emits
 * (see replay.ts). A system message is an agent chunk with `_meta.role: "system"`.
 */
export const ReplayNotificationSchema = z.object({
  sessionId: z.string(),
  update: z.object({
    sessionUpdate: z.enum(["user_message_chunk", "agent_message_chunk"]),
    messageId: z.string(),
    content: S.ContentBlockSchema,
    _meta: z.object({ role: z.literal("system") }).optional(),
  }),
});

/** What a subscription with acpUpdates sends on a title change: ACP's `session_info_update`. */
export const SessionInfoUpdateNotificationSchema = z.object({
  sessionId: z.string(),
  update: z.object({
    sessionUpdate: z.literal("session_info_update"),
    title: z.string().nullable(),
    updatedAt: z.string().describe("ISO 8601 with milliseconds"),
  }),
});

export const NOTIFICATION_SCHEMAS = {
  [Notification.sessionExpired]: S.SessionExpiredSchema,
  [Notification.sessionUpdate]: z.union([ReplayNotificationSchema, SessionInfoUpdateNotificationSchema]),
  [Notification.sessionChanged]: S.SessionChangedSchema,
} as const;

export type MethodName = keyof typeof METHOD_SCHEMAS;
/** A method's params as a caller may write them (defaults and transforms not yet applied). */
export type ParamsOf<M extends MethodName> = z.input<(typeof METHOD_SCHEMAS)[M]["params"]>;
/** A method's result as the sidecar sends it. */
export type ResultOf<M extends MethodName> = z.output<(typeof METHOD_SCHEMAS)[M]["result"]>;
