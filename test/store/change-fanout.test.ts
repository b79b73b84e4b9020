import { describe, expect, it } from "vitest";
import { ChangeFanout } from "../../src/store/change-fanout.js";
import type { ChangeEvent, SessionChange } from "../../src/store/types.js";

const event = (revision: number, change: SessionChange = { type: "archived" }, messageCount = 0): ChangeEvent => ({
  sessionId: "s",
  revision,
  messageCount,
  change,
});

function subscriber(fanout: ChangeFanout) {
  const heard: [string, number][] = [];
  const sub = fanout.add("s", (e) => heard.push([e.change.type, e.revision]));
  return { sub, heard };
}

describe("ChangeFanout", () => {
  it("holds what it hears until the start is known, then tells only what came after it", () => {
    const fanout = new ChangeFanout();
    const { sub, heard } = subscriber(fanout);
    fanout.publish(event(4));
    fanout.publish(event(5));
    fanout.publish(event(6));
    expect(heard).toEqual([]);
    fanout.start(sub, 5, 0);
    expect(heard).toEqual([["archived", 6]]);
    fanout.publish(event(7, { type: "appended", messages: [], trimmed: 0 }));
    fanout.publish(event(7, { type: "updated", session: {} as never }));
    fanout.publish(event(6));
    expect(heard).toEqual([
      ["archived", 6],
      ["appended", 7],
      ["updated", 7],
    ]);
  });

  it("a gap in the revisions is one `lagged` at the later revision, and what it covers is skipped", () => {
    const fanout = new ChangeFanout();
    const { sub, heard } = subscriber(fanout);
    fanout.start(sub, 1, 0);
    fanout.publish(event(2));
    fanout.publish(event(5, { type: "appended", messages: [], trimmed: 0 }, 9));
    fanout.publish(event(5, { type: "updated", session: {} as never }, 9));
    fanout.publish(event(6));
    expect(heard).toEqual([
      ["archived", 2],
      ["lagged", 5],
      ["archived", 6],
    ]);
  });

  it("the session gone ends every subscription to it, told once; the last one gone is reported", () => {
    const gone: string[] = [];
    const fanout = new ChangeFanout((sessionId) => gone.push(sessionId));
    const a = subscriber(fanout);
    const b = subscriber(fanout);
    fanout.start(a.sub, 3, 0);
    fanout.start(b.sub, 3, 0);
    fanout.publish(event(3, { type: "removed" }));
    fanout.publish(event(4));
    expect(a.heard).toEqual([["removed", 3]]);
    expect(b.heard).toEqual([["removed", 3]]);
    expect(gone).toEqual(["s"]);
    expect(fanout.empty).toBe(true);
  });

  it("expired: a delete ends the subscription, an archive does not", () => {
    const fanout = new ChangeFanout();
    const { sub, heard } = subscriber(fanout);
    fanout.start(sub, 1, 0);
    fanout.publish(event(2, { type: "expired", action: "archive" }));
    fanout.publish(event(2, { type: "expired", action: "delete" }));
    fanout.publish(event(3));
    expect(heard).toEqual([
      ["expired", 2],
      ["expired", 2],
    ]);
    expect(fanout.watching("s")).toBe(false);
  });

  it("a check finds who is behind the log (lagged) and who holds a session that is gone (removed)", () => {
    const fanout = new ChangeFanout();
    const behind = subscriber(fanout);
    const current = subscriber(fanout);
    const pending = subscriber(fanout);
    fanout.start(behind.sub, 2, 1);
    fanout.start(current.sub, 4, 3);
    fanout.check("s", { revision: 4, messageCount: 3 });
    expect(behind.heard).toEqual([["lagged", 4]]);
    expect(current.heard).toEqual([]);
    fanout.check("s", undefined);
    expect(behind.heard).toEqual([
      ["lagged", 4],
      ["removed", 4],
    ]);
    expect(current.heard).toEqual([["removed", 4]]);
    expect(pending.heard).toEqual([]);
    expect(fanout.watching("s")).toBe(true);
    fanout.remove(pending.sub);
    fanout.remove(pending.sub);
    expect(fanout.empty).toBe(true);
  });
});
