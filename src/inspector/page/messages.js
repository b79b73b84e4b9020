// A session's messages, tail-first: the view opens at the newest and reads earlier ones as the reader
// scrolls up (session/export with `tail`, then `beforeMessageId`), holding what was on screen in place
// while they are put in above it.
import { html } from "htm/preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { ApiError, getSession } from "./api.js";
import { MessageContent } from "./content.js";
import { plural } from "./list.js";
import { At } from "./time.js";
/** @import { Message, Session } from "../../client/types.js" */

/** Messages read at a time. */
export const PAGE = 100;

/** How near the top of the pane, in CSS pixels, scrolling reads the earlier messages. */
const NEAR_TOP = 300;

export const ROLES = { user: "User", assistant: "Assistant", system: "System" };

/**
 * What the next render does to the pane's scroll: go to the newest message, or keep the messages shown
 * where they were on screen (from the pane's height and scroll before the earlier ones went in).
 * @typedef {{ to: "end" } | { to: "kept", height: number, top: number }} Scroll
 */

/**
 * The session as last read, and the window of its messages shown.
 * @param {string} sessionId
 */
export function useMessageWindow(sessionId) {
  const [session, setSession] = useState(/** @type {Session | undefined} */ (undefined));
  const [messages, setMessages] = useState(/** @type {Message[]} */ ([]));
  /** The index in the session of the first message shown. */
  const [start, setStart] = useState(0);
  const [readingEarlier, setReadingEarlier] = useState(false);
  const pane = useRef(/** @type {HTMLDivElement | null} */ (null));
  const scroll = useRef(/** @type {Scroll | undefined} */ (undefined));
  // Each read of the tail starts a new window: a page of earlier messages asked for before it is dropped.
  const windowId = useRef(0);
  // Scroll events come faster than renders: one read of earlier messages at a time.
  const earlierBusy = useRef(false);
  useEffect(
    () => () => {
      windowId.current++;
    },
    [],
  );

  /**
   * Reads the newest messages again, as many as are shown now (a page at least), and shows the newest.
   * @param {number} count
   */
  const readTail = async (count) => {
    const id = ++windowId.current;
    const { session } = await getSession(sessionId, { tail: Math.max(PAGE, count) });
    if (id !== windowId.current) return;
    scroll.current = { to: "end" };
    setSession(session);
    setMessages(session.context);
    setStart(session.contextStart);
  };

  /** Reads the session's fields again, leaving the messages shown as they are. */
  const readFields = async () => {
    const { session } = await getSession(sessionId, { limit: 0 });
    setSession(session);
  };

  /** Reads the page of messages just before the first one shown, and puts it in above. */
  const readEarlier = async () => {
    const first = messages[0];
    if (earlierBusy.current || first === undefined || start === 0) return;
    const id = windowId.current;
    earlierBusy.current = true;
    setReadingEarlier(true);
    try {
      const { session } = await getSession(sessionId, { beforeMessageId: first.messageId, limit: PAGE });
      if (id !== windowId.current) return;
      const box = pane.current;
      if (box) scroll.current = { to: "kept", height: box.scrollHeight, top: box.scrollTop };
      setSession(session);
      setMessages((shown) => [...session.context, ...shown]);
      setStart(session.contextStart);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === -32602) || id !== windowId.current) throw err;
      // The first message shown is gone (the conversation was cut or trimmed meanwhile): start again from its end.
      await readTail(messages.length);
      throw new Error("This conversation changed while its earlier messages were read: it is shown again from its newest messages.", {
        cause: err,
      });
    } finally {
      earlierBusy.current = false;
      setReadingEarlier(false);
    }
  };

  return { session, messages, start, readingEarlier, readTail, readFields, readEarlier, pane, scroll };
}

/** @typedef {ReturnType<typeof useMessageWindow>} MessageWindow */

/**
 * @param {{
 *   view: MessageWindow,
 *   disabled: boolean,
 *   onProblem: (text: string) => void,
 *   onForkHere: (message: Message) => void,
 *   onDeleteFrom: (message: Message, index: number) => void,
 * }} props
 */
export function MessagePane({ view, disabled, onProblem, onForkHere, onDeleteFrom }) {
  const { session, messages, start, pane, scroll } = view;
  // After a failed read, earlier messages wait for the reader to scroll or ask, rather than being asked for in a loop.
  const automatic = useRef(true);

  const readEarlier = () =>
    view.readEarlier().catch((/** @type {Error} */ err) => {
      automatic.current = false;
      onProblem(err.message);
    });

  useLayoutEffect(() => {
    const box = pane.current;
    const intent = scroll.current;
    if (box === null) return;
    if (intent !== undefined) {
      box.scrollTop = intent.to === "end" ? box.scrollHeight : intent.top + (box.scrollHeight - intent.height);
      scroll.current = undefined;
    }
    // A pane not yet full, or still at its top, reads on.
    if (automatic.current && box.scrollTop < NEAR_TOP) void readEarlier();
  });

  const onScroll = () => {
    automatic.current = true;
    if (pane.current !== null && pane.current.scrollTop < NEAR_TOP) void readEarlier();
  };

  if (session === undefined) return null;
  return html`<section aria-labelledby="messages-heading">
    <h3 id="messages-heading">Messages</h3>
    <p class="caption">${windowCaption(session.messageCount, start, messages.length)}</p>
    <div class="message-pane" ref=${pane} tabindex="0" role="region" aria-labelledby="messages-heading" onScroll=${onScroll}>
      <div class="pane-start">
        ${
          start > 0
            ? html`<button type="button" class="small" disabled=${view.readingEarlier} onClick=${readEarlier}>
                ${view.readingEarlier ? "Loading earlier messages…" : "Load earlier messages"}
              </button>`
            : html`<p class="caption">The start of the conversation.</p>`
        }
      </div>
      <ol class="messages">
        ${messages.map(
          (message, i) =>
            html`<li key=${message.messageId} class=${`message role-${message.role}`} data-message-id=${message.messageId}>
              <div class="message-head">
                <span class="role">${ROLES[message.role]}</span>
                <${At} iso=${message.timestamp} />
                <span class="message-actions">
                  <button type="button" class="small" disabled=${disabled} onClick=${() => onForkHere(message)}>Fork here</button>
                  <button type="button" class="small danger" disabled=${disabled} onClick=${() => onDeleteFrom(message, start + i)}>
                    Delete from here
                  </button>
                </span>
              </div>
              <${MessageContent} content=${message.content} />
            </li>`,
        )}
      </ol>
    </div>
  </section>`;
}

/**
 * "Messages 401 to 500 of 500, newest last."
 * @param {number} count the session's
 * @param {number} start
 * @param {number} shown
 */
function windowCaption(count, start, shown) {
  if (count === 0) return "No messages.";
  if (shown === 0) return `${plural(count, "message")}, none shown yet.`;
  const range = shown === count ? `All ${plural(count, "message")}` : `Messages ${start + 1} to ${start + shown} of ${count}`;
  const newer = start + shown < count ? "; Refresh shows the newer ones" : "";
  return `${range}, newest last${newer}.`;
}
