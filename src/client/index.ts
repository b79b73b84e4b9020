export { SessionClient, type CloseOptions, type ConnectOptions, type SessionClientEvents, type SpawnOptions } from "./session-client.js";
export { ConnectionClosedError, MessageTooLargeError, SessionClientError } from "./errors.js";
export { sidecarArgs, type Duration, type SidecarOptions } from "./sidecar-args.js";
export { DEFAULT_MAX_MESSAGE_BYTES, NdjsonMessageReader, NdjsonMessageWriter } from "./ndjson-messages.js";
export { TypedEmitter } from "./typed-emitter.js";
export type * from "./types.js";
export { ErrorCode } from "../rpc/errors.js";
export { Method, Notification } from "../protocol/methods.js";
