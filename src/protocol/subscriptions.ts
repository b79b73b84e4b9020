import type { Logger } from "../log.js";
import { AnswerThen } from "../rpc/connection.js";
import { NotificationBacklog, type NotificationOutput } from "../rpc/notification-backlog.js";
import type { ChangeEvent, MaybePromise, SessionStore, Subscription } from "../store/types.js";
import { acpNotifications, changedNotification } from "./encode-change.js";
import type { SubscribeSessionResult } from "./schemas.js";

/** A catch-up goes out as `appended` changes of at most this many messages, or about this many bytes. */
const CATCH_UP_MESSAGES = 256;
const CATCH_UP_BYTES = 1024 * 1024;

/** One session this connection follows. */
interface Followed {
  readonly sessionId: string;
  acpUpdates: boolean;
  /** Changes heard before the subscribe answer was written (they come after it); undefined once live. */
  held: ChangeEvent[] | undefined;
  subscription: Subscription | undefined;
  ended: boolean;
  /** Where the subscriber stands: its lag notice says so, and acpUpdates tells title changes by it. */
  revision: number;
  messageCount: number;
  title: string | null;
}

/**
 * The sessions one connection subscribed to (session/subscribe): the store's changes become
 * `session/changed` notifications (and with acpUpdates ACP's `session/update`), which leave through a
 * bounded backlog while the client is not reading (NotificationBacklog: past it, one `lagged` per
 * session takes the place of what was dropped). A subscription's first notifications follow its
 * answer: the catch-up, then whatever changed meanwhile.
 */
export class Subscriptions {
  private readonly followed = new Map<string, Followed>();
  private readonly backlog: NotificationBacklog;

  constructor(
    private readonly store: SessionStore,
    private readonly output: NotificationOutput,
    backlogBytes: number,
    private readonly log: Logger,
  ) {
    this.backlog = new NotificationBacklog(output, backlogBytes, (sessionId) => this.lagNotice(sessionId));
  }

  /** Bytes of notifications waiting for the client to read. */
  get pending(): number {
    return this.backlog.pending;
  }

  /** Subscribes once per session: a repeat answers where the session stands and catches nothing up. */
  subscribe(sessionId: string, afterMessageId: string | undefined, acpUpdates: boolean): MaybePromise<AnswerThen | SubscribeSessionResult> {
    const existing = this.followed.get(sessionId);
    if (existing) {
      // The store checks the session and afterMessageId, and says where the session stands.
      return settle(
        this.store.subscribe(sessionId, afterMessageId, () => {}),
        (probe) => {
          probe.close();
          existing.acpUpdates = acpUpdates;
          return answer(probe);
        },
      );
    }
    const followed: Followed = {
      sessionId,
      acpUpdates,
      held: [],
      subscription: undefined,
      ended: false,
      revision: 0,
      messageCount: 0,
      title: null,
    };
    this.followed.set(sessionId, followed);
    let started: ReturnType<SessionStore["subscribe"]>;
    try {
      started = this.store.subscribe(sessionId, afterMessageId, (event) => this.heard(followed, event));
    } catch (err) {
      this.end(followed);
      throw err;
    }
    return settle(
      started,
      (subscription) => {
        followed.subscription = subscription;
        // Unsubscribed (or closed) while the store was answering.
        if (followed.ended) subscription.close();
        const { revision, messageCount, title } = subscription.session;
        Object.assign(followed, { revision, messageCount, title });
        return new AnswerThen(answer(subscription), () => this.goLive(followed, subscription));
      },
      () => this.end(followed),
    );
  }

  /** Ends this connection's subscription to the session, if any; what still waits for it is dropped. */
  unsubscribe(sessionId: string): void {
    const followed = this.followed.get(sessionId);
    if (!followed) return;
    this.end(followed);
    this.backlog.forget(sessionId);
  }

  /** The output has drained: what the backlog holds goes first. */
  drained(): void {
    this.backlog.drain();
  }

  closeAll(): void {
    for (const followed of [...this.followed.values()]) this.end(followed);
  }

  /** After the answer: the catch-up (written as an answer is, outside the backlog), then what was held. */
  private goLive(followed: Followed, subscription: Subscription): void {
    if (followed.ended) return;
    const { sessionId, revision, messageCount } = subscription.session;
    const messages = subscription.messages;
    for (let from = 0; from < messages.length;) {
      let to = from;
      for (let bytes = 0; to < messages.length && to - from < CATCH_UP_MESSAGES && bytes < CATCH_UP_BYTES; to++)
        bytes += messages[to]!.length;
      const event: ChangeEvent = {
        sessionId,
        revision,
        messageCount,
        change: { type: "appended", messages: messages.slice(from, to), trimmed: 0 },
      };
      this.output.send(changedNotification(event));
      if (followed.acpUpdates) for (const pieces of acpNotifications(event, followed.title)) this.output.send(pieces);
      from = to;
    }
    const held = followed.held!;
    followed.held = undefined;
    for (const event of held) this.deliver(followed, event);
  }

  private heard(followed: Followed, event: ChangeEvent): void {
    if (followed.ended) return;
    if (followed.held) followed.held.push(event);
    else this.deliver(followed, event);
  }

  private deliver(followed: Followed, event: ChangeEvent): void {
    const { change } = event;
    const ends = change.type === "removed" || (change.type === "expired" && change.action === "delete");
    try {
      followed.revision = event.revision;
      followed.messageCount = event.messageCount;
      this.backlog.send(followed.sessionId, changedNotification(event), ends);
      if (followed.acpUpdates) for (const pieces of acpNotifications(event, followed.title)) this.backlog.send(followed.sessionId, pieces);
      if (change.type === "updated") followed.title = change.session.title;
    } catch (err) {
      this.log.error(`a change to session ${followed.sessionId} could not be sent`, err);
    }
    if (ends) this.end(followed);
  }

  private lagNotice(sessionId: string) {
    const followed = this.followed.get(sessionId);
    if (!followed) return undefined;
    const { revision, messageCount } = followed;
    return changedNotification({ sessionId, revision, messageCount, change: { type: "lagged" } });
  }

  private end(followed: Followed): void {
    followed.ended = true;
    if (this.followed.get(followed.sessionId) === followed) this.followed.delete(followed.sessionId);
    followed.subscription?.close();
  }
}

function answer(subscription: Subscription): SubscribeSessionResult {
  const { sessionId, revision, messageCount } = subscription.session;
  return { sessionId, revision, messageCount };
}

/** `f` of the store's answer, now when it answered synchronously; `failed` runs before a failure goes on. */
function settle<T, R>(value: T | Promise<T>, f: (value: T) => R, failed: () => void = () => {}): R | Promise<R> {
  if (value instanceof Promise) {
    return value.then(f, (err: unknown) => {
      failed();
      throw err;
    });
  }
  return f(value);
}
