import { describe, expect, it } from "vitest";
import { TypedEmitter } from "../../src/client/index.js";

interface Events {
  tick: [number];
  done: [];
}

/** Emitting is the owner's business; this test owns one. */
class Emitter extends TypedEmitter<Events> {
  fire<E extends keyof Events>(event: E, ...args: Events[E]): void {
    this.emit(event, ...args);
  }
}

describe("TypedEmitter", () => {
  it("calls listeners in order, once listeners once, and stops calling removed ones", () => {
    const emitter = new Emitter();
    const heard: string[] = [];
    const a = (n: number) => heard.push(`a${n}`);
    emitter.on("tick", a);
    emitter.once("tick", (n) => heard.push(`once${n}`));
    emitter.on("done", () => heard.push("done"));
    emitter.fire("tick", 1);
    emitter.fire("tick", 2);
    emitter.off("tick", a);
    emitter.fire("tick", 3);
    emitter.fire("done");
    expect(heard).toEqual(["a1", "once1", "a2", "done"]);
  });

  it("lets a once listener be removed before it fires", () => {
    const emitter = new Emitter();
    const heard: number[] = [];
    const listener = (n: number) => heard.push(n);
    emitter.once("tick", listener).off("tick", listener);
    emitter.fire("tick", 1);
    expect(heard).toEqual([]);
  });

  it("keeps the listeners of an event fixed while it is being emitted", () => {
    const emitter = new Emitter();
    const heard: string[] = [];
    const late = () => heard.push("late");
    emitter.on("tick", () => {
      heard.push("first");
      emitter.on("tick", late);
    });
    emitter.fire("tick", 1);
    expect(heard).toEqual(["first"]);
  });
});
