import { AGENT_METHODS, CLIENT_METHODS } from "@agentclientprotocol/sdk/unstable";

/** Every method this sidecar answers; ACP's names come from the SDK's own constants. */
export const Method = {
  initialize: AGENT_METHODS.initialize,
  sessionNew: AGENT_METHODS.session_new,
  sessionLoad: AGENT_METHODS.session_load,
  sessionList: AGENT_METHODS.session_list,
  sessionDelete: AGENT_METHODS.session_delete,
  sessionResume: AGENT_METHODS.session_resume,
  sessionClose: AGENT_METHODS.session_close,
  sessionFork: AGENT_METHODS.session_fork,
  sessionArchive: AGENT_METHODS.session_archive,
  sessionUnarchive: AGENT_METHODS.session_unarchive,
  sessionStatus: AGENT_METHODS.session_status,
  sessionSetTitle: AGENT_METHODS.session_set_title,
  sessionGet: "session/get",
  sessionUpdate: "session/update",
  sessionTruncate: "session/truncate",
  sessionRemove: "session/remove",
  sessionExport: "session/export",
  sessionSubscribe: "session/subscribe",
  sessionUnsubscribe: "session/unsubscribe",
} as const;

export const Notification = {
  /** ACP's replay notification (client-bound session/update). */
  sessionUpdate: CLIENT_METHODS.session_update,
  sessionExpired: "session/expired",
  /** A change to a session this connection subscribed to (session/subscribe). */
  sessionChanged: "session/changed",
} as const;
