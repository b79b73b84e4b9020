import { RawJson, encodeNotification } from "../rpc/encode.js";
import type { ChangeEvent } from "../store/types.js";
import type { Piece } from "../transport/frame-writer.js";
import { iso, sessionInfo } from "./encode-session.js";
import { Notification } from "./methods.js";
import { replayUpdates } from "./replay.js";
import type { Message } from "./schemas.js";

/**
 * A `session/changed` notification. An append's messages are copied in as their stored bytes, never
 * parsed and encoded again; every other change is small.
 */
export function changedNotification(event: ChangeEvent): Piece[] {
  const { sessionId, revision, messageCount, change } = event;
  if (change.type !== "appended") {
    const wire =
      change.type === "updated"
        ? { type: change.type, session: sessionInfo(change.session) }
        : change.type === "lagged"
          ? { type: change.type, revision, messageCount }
          : change;
    return encodeNotification(Notification.sessionChanged, { sessionId, revision, messageCount, change: wire });
  }
  const pieces: Piece[] = [
    `{"sessionId":${JSON.stringify(sessionId)},"revision":${revision},"messageCount":${messageCount},"change":{"type":"appended","messages":[`,
  ];
  change.messages.forEach((message, i) => {
    if (i > 0) pieces.push(",");
    pieces.push(message);
  });
  pieces.push(change.trimmed > 0 ? `],"trimmed":${change.trimmed}}}` : "]}}");
  return encodeNotification(Notification.sessionChanged, new RawJson(pieces));
}

/**
 * The ACP `session/update` notifications a change is also sent as (acpUpdates): an append's messages
 * as `session/load` replays them, and a new title as `session_info_update`. `title` is the title the
 * subscriber last had.
 */
export function acpNotifications(event: ChangeEvent, title: string | null): Piece[][] {
  const { sessionId, change } = event;
  if (change.type === "appended") {
    const out: Piece[][] = [];
    for (const bytes of change.messages) {
      const message = JSON.parse(bytes.toString("utf8")) as Message;
      for (const update of replayUpdates(message)) out.push(encodeNotification(Notification.sessionUpdate, { sessionId, update }));
    }
    return out;
  }
  if (change.type === "updated" && change.session.title !== title) {
    const update = { sessionUpdate: "session_info_update", title: change.session.title, updatedAt: iso(change.session.lastAccessed) };
    return [encodeNotification(Notification.sessionUpdate, { sessionId, update })];
  }
  return [];
}
