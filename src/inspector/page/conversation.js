// One session: its actions, its fields, its place in the fork tree and its messages, a page at a time.
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, forkSession, getSession, readOnly, removeSession, setArchived, updateSession } from "./api.js";
import { MessageContent } from "./content.js";
import { ConfirmDialog } from "./dialog.js";
import { ForkFamily } from "./forks.js";
import { Marks, plural } from "./list.js";
import { Ago, At, duration } from "./time.js";
/** @import { Message, Session } from "../../client/types.js" */

/** Messages read at a time. */
const PAGE = 100;

const ROLES = { user: "User", assistant: "Assistant", system: "System" };

/** @typedef {{ text: string, conflict?: boolean }} Problem */
/** @typedef {{ heading: string, body: string, label: string, run: () => void }} Question */

/**
 * @param {{ sessionId: string, now: number, onNavigate: (hash: string, notice: string) => void }} props
 */
export function Conversation({ sessionId, now, onNavigate }) {
  const [session, setSession] = useState(/** @type {Session | undefined} */ (undefined));
  const [messages, setMessages] = useState(/** @type {Message[]} */ ([]));
  const [loading, setLoading] = useState(true);
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined));
  const [done, setDone] = useState(/** @type {string | undefined} */ (undefined));
  const [busy, setBusy] = useState(/** @type {string | undefined} */ (undefined));
  const [renaming, setRenaming] = useState(false);
  const [question, setQuestion] = useState(/** @type {Question | undefined} */ (undefined));
  const [generation, setGeneration] = useState(0);
  const heading = useRef(/** @type {HTMLHeadingElement | null} */ (null));

  /**
   * Reads the session again from its first message, as many messages as are shown now.
   * @param {number} shown
   */
  const reload = async (shown) => {
    const { session } = await getSession(sessionId, { limit: Math.max(PAGE, shown) });
    setSession(session);
    setMessages(session.context);
  };

  useEffect(() => {
    let stopped = false;
    setSession(undefined);
    setMessages([]);
    setProblem(undefined);
    setDone(undefined);
    setRenaming(false);
    setLoading(true);
    reload(0)
      .then(() => !stopped && heading.current?.focus())
      .catch((/** @type {Error} */ err) => !stopped && setProblem({ text: describe(err) }))
      .finally(() => !stopped && setLoading(false));
    return () => {
      stopped = true;
    };
  }, [sessionId]);

  const loadLater = async () => {
    const last = messages[messages.length - 1];
    setLoading(true);
    try {
      const { session } = await getSession(sessionId, last ? { afterMessageId: last.messageId, limit: PAGE } : { limit: PAGE });
      setSession(session);
      setMessages([...messages, ...session.context]);
    } catch (err) {
      setProblem({ text: describe(/** @type {Error} */ (err)) });
    } finally {
      setLoading(false);
    }
  };

  /**
   * Runs one change; on a revision conflict shows the session as it now is, and says so.
   * @param {string} label the action's button label
   * @param {string} doneText
   * @param {() => Promise<unknown>} change
   */
  const act = async (label, doneText, change) => {
    setBusy(label);
    setProblem(undefined);
    setDone(undefined);
    try {
      await change();
      setDone(doneText);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        await reload(messages.length).catch(() => {});
        setProblem({
          conflict: true,
          text:
            `Someone else changed this session after this page read it (from revision ${err.data?.expectedRevision} to ` +
            `${err.data?.revision}), so “${label}” was not applied. Shown now is the session as it is; try again if you still want to.`,
        });
      } else {
        setProblem({ text: `${label} failed: ${describe(/** @type {Error} */ (err))}` });
      }
    } finally {
      setBusy(undefined);
    }
  };

  if (session === undefined) {
    return html`<section>
      <p><a href="#/">← All sessions</a></p>
      ${loading && html`<p class="status" role="status">Loading…</p>`}
      ${problem !== undefined && html`<p class="problem" role="alert">${problem.text}</p>`}
    </section>`;
  }

  const revision = session.revision;
  const title = session.title ?? "Untitled session";
  const disabled = readOnly || busy !== undefined;

  /** @param {string | null} newTitle */
  const rename = (newTitle) =>
    act("Rename", "Renamed.", async () => {
      await updateSession(sessionId, { title: newTitle, expectedRevision: revision });
      setRenaming(false);
      await reload(messages.length);
    });
  const toggleArchived = () =>
    act(session.archived ? "Unarchive" : "Archive", session.archived ? "Unarchived." : "Archived.", async () => {
      await setArchived(sessionId, !session.archived, revision);
      await reload(messages.length);
    });
  // The idle age is sent as it is now, so pinning and unpinning leave it as it was.
  const togglePinned = () =>
    act(session.retention.pinned ? "Unpin" : "Pin", session.retention.pinned ? "Unpinned." : "Pinned.", async () => {
      const retention = { maxIdle: session.retention.maxIdleMs, pinned: !session.retention.pinned };
      await updateSession(sessionId, { retention, expectedRevision: revision });
      await reload(messages.length);
    });
  /** @param {Message} message */
  const forkHere = (message) =>
    act("Fork here", "Forked.", async () => {
      const fork = await forkSession(sessionId, { cwd: session.cwd, atMessageId: message.messageId, expectedRevision: revision });
      onNavigate(
        `#/session/${encodeURIComponent(fork.sessionId)}`,
        `This is the new fork of “${title}”, holding its messages up to the one chosen.`,
      );
    });
  const askDelete = () =>
    setQuestion({
      heading: `Delete “${title}”?`,
      body: `This removes the session and its ${plural(session.messageCount, "message")} from the store. It cannot be undone.`,
      label: "Delete",
      run: () =>
        act("Delete", "Deleted.", async () => {
          await removeSession(sessionId, revision);
          onNavigate("#/", `Deleted the session “${title}”.`);
        }),
    });

  return html`<article class="conversation" aria-labelledby="session-heading">
    <p><a href="#/">← All sessions</a></p>
    <h2 id="session-heading" tabindex="-1" ref=${heading} class=${session.title === null ? "untitled" : ""}>${title}</h2>
    <${Marks} archived=${session.archived} pinned=${session.retention.pinned} fork=${session.parentSessionId !== null} />

    <div class="actions" role="group" aria-label="Actions">
      <button type="button" disabled=${disabled} onClick=${() => setRenaming(true)}>Rename</button>
      <button type="button" disabled=${disabled} onClick=${toggleArchived}>${session.archived ? "Unarchive" : "Archive"}</button>
      <button type="button" disabled=${disabled} onClick=${togglePinned}>${session.retention.pinned ? "Unpin" : "Pin"}</button>
      <button type="button" class="danger" disabled=${disabled} onClick=${askDelete}>Delete</button>
      <button
        type="button"
        disabled=${busy !== undefined}
        onClick=${() => reload(messages.length).then(() => setGeneration(generation + 1))}
      >
        Refresh
      </button>
    </div>
    ${readOnly && html`<p class="caption">Read-only: this inspector was started with --read-only, so nothing here can change the store.</p>`}
    ${renaming && !readOnly && html`<${RenameForm} title=${session.title} disabled=${disabled} onSave=${rename} onCancel=${() => setRenaming(false)} />`}
    ${busy !== undefined && html`<p class="status" role="status">${busy}…</p>`}
    ${done !== undefined && html`<p class="status done" role="status">${done}</p>`}
    ${problem !== undefined && html`<p class=${problem.conflict ? "problem conflict" : "problem"} role="alert">${problem.text}</p>`}
    ${
      question !== undefined &&
      html`<${ConfirmDialog}
      heading=${question.heading}
      confirmLabel=${question.label}
      onCancel=${() => setQuestion(undefined)}
      onConfirm=${() => {
        setQuestion(undefined);
        question.run();
      }}
      ><p>${question.body}</p></${ConfirmDialog}
    >`
    }

    <${Fields} session=${session} now=${now} />
    <${ForkFamily} session=${session} generation=${generation} now=${now} />

    <section aria-labelledby="messages-heading">
      <h3 id="messages-heading">Messages</h3>
      <p class="caption">${messages.length} of ${plural(session.messageCount, "message")} shown, oldest first.</p>
      <ol class="messages">
        ${messages.map(
          (message) =>
            html`<li key=${message.messageId} class=${`message role-${message.role}`}>
              <div class="message-head">
                <span class="role">${ROLES[message.role]}</span>
                <${At} iso=${message.timestamp} />
                <button type="button" class="small" disabled=${disabled} onClick=${() => forkHere(message)}>Fork here</button>
              </div>
              <${MessageContent} content=${message.content} />
            </li>`,
        )}
      </ol>
      ${loading && html`<p class="status" role="status">Loading…</p>`}
      ${!loading && messages.length < session.messageCount && html`<button type="button" onClick=${loadLater}>Load later messages</button>`}
    </section>
  </article>`;
}

/** @param {{ session: Session, now: number }} props */
function Fields({ session, now }) {
  const none = html`<span class="none">none</span>`;
  return html`<section aria-labelledby="fields-heading">
    <h3 id="fields-heading">Fields</h3>
    <dl class="fields">
      <dt>Session id</dt>
      <dd><code class="id">${session.sessionId}</code></dd>
      <dt>Working directory</dt>
      <dd class="cwd">${session.cwd}</dd>
      <dt>Other directories</dt>
      <dd>
        ${
          session.additionalDirectories.length === 0
            ? none
            : html`<ul>
                ${session.additionalDirectories.map((d) => html`<li>${d}</li>`)}
              </ul>`
        }
      </dd>
      <dt>MCP servers</dt>
      <dd>${session.mcpServers.length === 0 ? none : session.mcpServers.join(", ")}</dd>
      <dt>Client capabilities</dt>
      <dd>${session.clientCapabilities === null ? none : html`<pre>${JSON.stringify(session.clientCapabilities, null, 2)}</pre>`}</dd>
      <dt>Retention</dt>
      <dd>
        ${
          session.retention.pinned
            ? "Pinned: never expires for idleness"
            : `Expires after ${duration(session.retention.maxIdleMs)} without activity`
        }
      </dd>
      <dt>State</dt>
      <dd>${session.archived ? "Archived" : "Active"}</dd>
      <dt>Revision</dt>
      <dd>${session.revision}</dd>
      <dt>Messages</dt>
      <dd>${session.messageCount}</dd>
      <dt>Created</dt>
      <dd><${At} iso=${session.createdAt} /></dd>
      <dt>Last activity</dt>
      <dd><${At} iso=${session.lastAccessed} /> (<${Ago} iso=${session.lastAccessed} now=${now} />)</dd>
    </dl>
  </section>`;
}

/**
 * @param {{ title: string | null, disabled: boolean, onSave: (title: string | null) => void, onCancel: () => void }} props
 */
function RenameForm({ title, disabled, onSave, onCancel }) {
  const [value, setValue] = useState(title ?? "");
  const input = useRef(/** @type {HTMLInputElement | null} */ (null));
  useEffect(() => input.current?.focus(), []);
  /** @param {Event} event */
  const submit = (event) => {
    event.preventDefault();
    onSave(value === "" ? null : value);
  };
  return html`<form class="rename" onSubmit=${submit}>
    <label
      >New title
      <input
        type="text"
        ref=${input}
        value=${value}
        onInput=${(/** @type {InputEvent} */ e) => setValue(/** @type {HTMLInputElement} */ (e.currentTarget).value)}
    /></label>
    <div class="buttons">
      <button type="submit" disabled=${disabled}>Save title</button>
      <button type="button" onClick=${onCancel}>Cancel</button>
    </div>
    <p class="caption">An empty title removes it.</p>
  </form>`;
}

/** @param {Error} err */
function describe(err) {
  if (err instanceof ApiError && err.status === 404 && err.code !== undefined) {
    return "This session is not in the store: it was deleted, or it expired.";
  }
  return err.message;
}
