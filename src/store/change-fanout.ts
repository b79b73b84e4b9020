import type { ChangeEvent, ChangeListener } from "./types.js";

/** One subscription as a store handle serves it. */
export interface Subscriber {
  readonly sessionId: string;
  readonly listener: ChangeListener;
  /** Changes at or below this revision are already in what the subscriber holds: they are skipped. */
  floor: number;
  /** The last revision and count it was told of; undefined until its start is known. */
  revision: number | undefined;
  messageCount: number;
  /** Changes heard before its start was known, kept until then. */
  held: ChangeEvent[];
  closed: boolean;
}

/**
 * The subscriptions one store handle serves, by session, and the rules every backend shares for what
 * each hears: nothing at or before its start, every later change once and in order, a gap in the
 * revisions as one `lagged` in place of what is missing, and nothing once the session is gone. A
 * backend may hear a change before it knows where a new subscription starts (a shared store's feed
 * reads changes while the subscription's own snapshot is on its way): those wait for start().
 */
export class ChangeFanout {
  private readonly bySession = new Map<string, Set<Subscriber>>();

  /** @param unwatched told when a session's last subscriber has gone. */
  constructor(private readonly unwatched: (sessionId: string) => void = () => {}) {}

  get empty(): boolean {
    return this.bySession.size === 0;
  }

  watching(sessionId: string): boolean {
    return this.bySession.has(sessionId);
  }

  /** The sessions with subscribers. */
  sessions(): IterableIterator<string> {
    return this.bySession.keys();
  }

  /** A subscriber whose start is not known yet: what it hears waits for start(). */
  add(sessionId: string, listener: ChangeListener): Subscriber {
    const subscriber: Subscriber = { sessionId, listener, floor: 0, revision: undefined, messageCount: 0, held: [], closed: false };
    let set = this.bySession.get(sessionId);
    if (!set) this.bySession.set(sessionId, (set = new Set()));
    set.add(subscriber);
    return subscriber;
  }

  /** The subscriber's snapshot stood at `revision`: it hears what it held back that came later, then everything. */
  start(subscriber: Subscriber, revision: number, messageCount: number): void {
    subscriber.floor = subscriber.revision = revision;
    subscriber.messageCount = messageCount;
    const held = subscriber.held;
    subscriber.held = [];
    for (const event of held) this.deliver(subscriber, event);
  }

  remove(subscriber: Subscriber): void {
    if (subscriber.closed) return;
    subscriber.closed = true;
    const set = this.bySession.get(subscriber.sessionId);
    if (!set?.delete(subscriber) || set.size > 0) return;
    this.bySession.delete(subscriber.sessionId);
    this.unwatched(subscriber.sessionId);
  }

  /** A change to the session, as the backend heard of it. */
  publish(event: ChangeEvent): void {
    const set = this.bySession.get(event.sessionId);
    if (!set) return;
    for (const subscriber of [...set]) {
      if (subscriber.revision === undefined) subscriber.held.push(event);
      else this.deliver(subscriber, event);
    }
  }

  /**
   * The backend has published every change it logged up to a point at which the session stood at
   * `state` (undefined: it was gone). A subscriber told of less missed something: it hears `lagged`,
   * or `removed` when the session is gone. Used by shared stores, whose logs can lose entries (a watch
   * that lapsed, a stream trimmed past a reader that fell behind).
   */
  check(sessionId: string, state: { revision: number; messageCount: number } | undefined): void {
    const set = this.bySession.get(sessionId);
    if (!set) return;
    for (const subscriber of [...set]) {
      if (subscriber.revision === undefined) continue;
      if (!state) {
        this.tell(subscriber, {
          sessionId,
          revision: subscriber.revision,
          messageCount: subscriber.messageCount,
          change: { type: "removed" },
        });
        this.remove(subscriber);
      } else if (state.revision > subscriber.revision) {
        this.lag(subscriber, state.revision, state.messageCount);
      }
    }
  }

  private deliver(subscriber: Subscriber, event: ChangeEvent): void {
    if (subscriber.closed) return;
    const { change } = event;
    const ends = change.type === "removed" || (change.type === "expired" && change.action === "delete");
    // Revisions never go back: at or below the floor is known already, below the last told is stale.
    if (!ends && (event.revision <= subscriber.floor || event.revision < subscriber.revision!)) return;
    if (!ends && event.revision > subscriber.revision! + 1) return this.lag(subscriber, event.revision, event.messageCount);
    subscriber.revision = Math.max(subscriber.revision!, event.revision);
    subscriber.messageCount = event.messageCount;
    this.tell(subscriber, event);
    if (ends) this.remove(subscriber);
  }

  /** One `lagged` in place of what was missed, up to `revision`: what is at or below it is skipped from now on. */
  private lag(subscriber: Subscriber, revision: number, messageCount: number): void {
    subscriber.floor = subscriber.revision = revision;
    subscriber.messageCount = messageCount;
    this.tell(subscriber, { sessionId: subscriber.sessionId, revision, messageCount, change: { type: "lagged" } });
  }

  /** A listener that throws does so on its own, as a failing event listener would, not into the store's work. */
  private tell(subscriber: Subscriber, event: ChangeEvent): void {
    try {
      subscriber.listener(event);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}
