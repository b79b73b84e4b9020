import { describe, expect, it } from "vitest";
import { NotificationBacklog } from "../../src/rpc/notification-backlog.js";
import type { Piece } from "../../src/transport/frame-writer.js";

/** An output that records what it is sent and is backed up while `blocked` is set. */
function output() {
  const sent: string[] = [];
  return { sent, blocked: false, send: (pieces: readonly Piece[]) => void sent.push(pieces.join("")) };
}

const text = (key: string, n: number, size = 10) => [`${key}${n}`.padEnd(size, ".")];

describe("NotificationBacklog", () => {
  it("writes at once while the output takes it, and holds in order while it is backed up", () => {
    const out = output();
    const backlog = new NotificationBacklog(out, 1000, () => undefined);
    backlog.send("a", ["a1"]);
    out.blocked = true;
    backlog.send("a", ["a2"]);
    backlog.send("b", ["b1"]);
    expect(out.sent).toEqual(["a1"]);
    expect(backlog.pending).toBe(4);
    out.blocked = false;
    backlog.send("a", ["a3"]);
    expect(out.sent).toEqual(["a1"]);
    backlog.drain();
    expect(out.sent).toEqual(["a1", "a2", "b1", "a3"]);
    expect(backlog.pending).toBe(0);
  });

  it("past its limit drops the key's pending notifications for one notice, made when written, then goes on live", () => {
    const out = output();
    let revision = 0;
    const backlog = new NotificationBacklog(out, 50, (key) => [`lagged ${key} at ${revision}`]);
    out.blocked = true;
    backlog.send("b", text("b", 1));
    for (let n = 1; n <= 5; n++) {
      revision = n;
      backlog.send("a", text("a", n));
    }
    expect(backlog.pending).toBeLessThanOrEqual(50);
    revision = 9;
    backlog.send("a", text("a", 9));
    backlog.send("a", ["a-end"], true);
    out.blocked = false;
    backlog.drain();
    expect(out.sent).toEqual(["b1........", "lagged a at 9", "a-end"]);
    backlog.send("a", ["a10"]);
    expect(out.sent.at(-1)).toBe("a10");
  });

  it("a notification that is kept, over the limit, drops the key holding the most", () => {
    const out = output();
    const backlog = new NotificationBacklog(out, 100, (key) => [`lagged ${key}`]);
    out.blocked = true;
    for (let n = 0; n < 8; n++) backlog.send("big", text("big", n));
    backlog.send("small", text("small", 0));
    backlog.send("ended", text("ended", 0, 40), true);
    expect(backlog.pending).toBeLessThanOrEqual(100);
    out.blocked = false;
    backlog.drain();
    expect(out.sent).toEqual(["lagged big", "small0....", "ended0".padEnd(40, ".")]);
  });

  it("stops writing as soon as the output backs up again, and forgets a key on request", () => {
    const out = output();
    const backlog = new NotificationBacklog(out, 1000, () => undefined);
    out.blocked = true;
    for (const piece of ["a1", "b1", "a2", "b2"]) backlog.send(piece[0]!, [piece]);
    backlog.forget("b");
    out.blocked = false;
    const send = out.send;
    out.send = (pieces) => {
      send(pieces);
      out.blocked = true;
    };
    backlog.drain();
    expect(out.sent).toEqual(["a1"]);
    out.blocked = false;
    backlog.drain();
    expect(out.sent).toEqual(["a1", "a2"]);
    expect(backlog.pending).toBe(0);
  });
});
