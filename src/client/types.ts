import type { Method } from "../protocol/methods.js";
import type { ParamsOf, ResultOf } from "../protocol/method-schemas.js";

export type { MethodName, ParamsOf, ResultOf } from "../protocol/method-schemas.js";
export type { Message, Session, SessionChanged, SessionExpired, SessionInfo } from "../protocol/schemas.js";
/** A replayed message chunk arrives as ACP's own `session/update` notification. */
export type { SessionNotification } from "@agentclientprotocol/sdk";

// Each method's params as a caller writes them and its result as the sidecar sends it, read from the
// schemas the server validates with.
export type InitializeParams = ParamsOf<typeof Method.initialize>;
export type InitializeResult = ResultOf<typeof Method.initialize>;
export type NewSessionParams = ParamsOf<typeof Method.sessionNew>;
export type NewSessionResult = ResultOf<typeof Method.sessionNew>;
export type GetSessionParams = ParamsOf<typeof Method.sessionGet>;
export type GetSessionResult = ResultOf<typeof Method.sessionGet>;
export type ExportSessionParams = ParamsOf<typeof Method.sessionExport>;
export type ExportSessionResult = ResultOf<typeof Method.sessionExport>;
export type UpdateSessionParams = ParamsOf<typeof Method.sessionUpdate>;
export type UpdateSessionResult = ResultOf<typeof Method.sessionUpdate>;
export type TruncateSessionParams = ParamsOf<typeof Method.sessionTruncate>;
export type TruncateSessionResult = ResultOf<typeof Method.sessionTruncate>;
export type RemoveSessionParams = ParamsOf<typeof Method.sessionRemove>;
export type RemoveSessionResult = ResultOf<typeof Method.sessionRemove>;
export type DeleteSessionParams = ParamsOf<typeof Method.sessionDelete>;
export type ListSessionsParams = ParamsOf<typeof Method.sessionList>;
export type ListSessionsResult = ResultOf<typeof Method.sessionList>;
export type LoadSessionParams = ParamsOf<typeof Method.sessionLoad>;
/** `{}`, or with `_meta.replayTail` or `_meta.replayAfterMessageId`: `_meta: {replayedFrom, messageCount}`. */
export type LoadSessionResult = ResultOf<typeof Method.sessionLoad>;
export type ResumeSessionParams = ParamsOf<typeof Method.sessionResume>;
export type CloseSessionParams = ParamsOf<typeof Method.sessionClose>;
export type SessionStatusParams = ParamsOf<typeof Method.sessionStatus>;
export type SessionStatusResult = ResultOf<typeof Method.sessionStatus>;
export type SetSessionTitleParams = ParamsOf<typeof Method.sessionSetTitle>;
export type SetSessionTitleResult = ResultOf<typeof Method.sessionSetTitle>;
export type ForkSessionParams = ParamsOf<typeof Method.sessionFork>;
export type ForkSessionResult = ResultOf<typeof Method.sessionFork>;
export type ArchiveSessionParams = ParamsOf<typeof Method.sessionArchive>;
export type UnarchiveSessionParams = ParamsOf<typeof Method.sessionUnarchive>;
/** The `{}` that delete, resume, close, archive and unarchive answer. */
export type EmptyResult = ResultOf<typeof Method.sessionDelete>;
export type SubscribeSessionParams = ParamsOf<typeof Method.sessionSubscribe>;
export type SubscribeSessionResult = ResultOf<typeof Method.sessionSubscribe>;
export type UnsubscribeSessionParams = ParamsOf<typeof Method.sessionUnsubscribe>;
