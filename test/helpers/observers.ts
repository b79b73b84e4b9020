/** What the live-observer process tests share: the changes a sidecar was told of, and checks on them. */
import { expect } from "vitest";
import { rpc, until, type Sidecar } from "./sidecar.js";

/** The session/changed notifications a sidecar wrote for one session, in order. */
export const changesOf = (sidecar: Sidecar, sessionId: string): any[] =>
  sidecar.notifications("session/changed").filter((n) => n.sessionId === sessionId);

/** The message ids of every `appended` change, in order. */
export const appendedIds = (changes: any[]): string[] =>
  changes.flatMap((c) => (c.change.type === "appended" ? c.change.messages.map((m: any) => m.messageId as string) : []));

export const waitForChanges = (sidecar: Sidecar, sessionId: string, done: (changes: any[]) => boolean, what: string) =>
  until(() => done(changesOf(sidecar, sessionId)), what);

/**
 * Appends from `writer`, pipelined, in three bursts: one before `subscriber` subscribes after `m0`, one
 * sent together with the subscribe, one after its answer. Every message is heard once, in order: the
 * catch-up (at the answer's revision), then live changes at strictly increasing revisions.
 */
export async function catchUpUnderAppends(subscriber: Sidecar, writer: Sidecar, burst = 300): Promise<void> {
  const { sessionId } = await writer.ok("session/new", { cwd: "/w" });
  await writer.ok("session/update", { sessionId, messages: [{ messageId: "m0", role: "user", content: "0" }] });
  let next = 1;
  const appends = () => {
    let lines = "";
    for (let end = next + burst; next < end; next++) {
      lines += rpc(`w${next}`, "session/update", { sessionId, messages: [{ messageId: `m${next}`, role: "user", content: `${next}` }] });
    }
    writer.write(lines);
    return `w${next - 1}`;
  };
  const first = appends();
  await until(() => writer.responses(first).length > 0, "the first burst");
  const second = appends();
  const answer = await subscriber.ok("session/subscribe", { sessionId, afterMessageId: "m0" });
  const last = appends();
  await until(() => writer.responses(second).length > 0 && writer.responses(last).length > 0, "every append answered");
  const count = next - 1;
  await waitForChanges(subscriber, sessionId, (c) => appendedIds(c).length >= count, `${count} messages heard`);
  const changes = changesOf(subscriber, sessionId);
  expect(appendedIds(changes)).toEqual(Array.from({ length: count }, (_, i) => `m${i + 1}`));
  const catchUp = changes.filter((c) => c.revision === answer.revision);
  expect(catchUp.length).toBeGreaterThan(0);
  const live = changes.slice(catchUp.length).map((c) => c.revision as number);
  expect(live[0] ?? Infinity).toBeGreaterThan(answer.revision);
  for (let i = 1; i < live.length; i++) expect(live[i]).toBeGreaterThan(live[i - 1]!);
  expect(changes.at(-1)).toMatchObject({ revision: count + 2, messageCount: count + 1 });
}

/** A subscriber on one sidecar hears what another changes, in order, until the session is removed. */
export async function followAcrossSidecars(subscriber: Sidecar, writer: Sidecar): Promise<void> {
  const { sessionId } = await writer.ok("session/new", { cwd: "/w", title: "shared" });
  expect(await subscriber.ok("session/subscribe", { sessionId })).toEqual({ sessionId, revision: 1, messageCount: 0 });
  await writer.ok("session/update", { sessionId, messages: [{ messageId: "a", role: "user", content: "hi" }] });
  await writer.ok("session/update", { sessionId, title: "renamed" });
  await writer.ok("session/archive", { sessionId });
  await writer.ok("session/unarchive", { sessionId });
  await writer.ok("session/remove", { sessionId });
  await waitForChanges(subscriber, sessionId, (c) => c.some((x) => x.change.type === "removed"), "the removal");
  expect(changesOf(subscriber, sessionId).map((c) => [c.change.type, c.revision])).toEqual([
    ["appended", 2],
    ["updated", 3],
    ["archived", 4],
    ["unarchived", 5],
    ["removed", 5],
  ]);
  expect(changesOf(subscriber, sessionId)[1].change.session).toMatchObject({ title: "renamed" });
}

/** Another sidecar's reaper deletes the session: `expired` (delete), and nothing after it. */
export async function expiryAcrossSidecars(subscriber: Sidecar, reaper: Sidecar): Promise<void> {
  const { sessionId } = await subscriber.ok("session/new", { cwd: "/w" });
  await subscriber.ok("session/subscribe", { sessionId });
  await waitForChanges(subscriber, sessionId, (c) => c.length > 0, "the expiry");
  await until(() => reaper.notifications("session/expired").some((n) => n.sessionId === sessionId), "the reaper's session/expired");
  expect(changesOf(subscriber, sessionId)).toEqual([
    { sessionId, revision: 1, messageCount: 0, change: { type: "expired", action: "delete" } },
  ]);
}
