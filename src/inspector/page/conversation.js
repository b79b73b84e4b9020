// One session: its actions, its messages (tail-first, in messages.js), its fields and its place in the
// fork tree. Every change carries the revision shown; a conflict shows the session as it now is.
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import {
  ApiError,
  downloadExport,
  followSession,
  forkSession,
  readOnly,
  removeSession,
  setArchived,
  setTitle,
  truncateFrom,
  updateSession,
} from "./api.js";
import { ConfirmDialog } from "./dialog.js";
import { ForkFamily } from "./forks.js";
import { Marks, plural } from "./list.js";
import { MessagePane, ROLES, useMessageWindow } from "./messages.js";
import { Ago, At, duration } from "./time.js";
/** @import { Message, Session } from "../../client/types.js" */

/** @typedef {{ text: string, conflict?: boolean }} Problem */
/** @typedef {{ heading: string, body: string, label: string, run: () => void }} Question */

/**
 * One session's view; the app keys it by session, so each session starts from a fresh state.
 * @param {{ sessionId: string, now: number, onNavigate: (hash: string, notice: string) => void }} props
 */
export function Conversation({ sessionId, now, onNavigate }) {
  const view = useMessageWindow(sessionId);
  const { session, messages } = view;
  const [loading, setLoading] = useState(true);
  const [problem, setProblem] = useState(/** @type {Problem | undefined} */ (undefined));
  const [done, setDone] = useState(/** @type {string | undefined} */ (undefined));
  const [busy, setBusy] = useState(/** @type {string | undefined} */ (undefined));
  const [panel, setPanel] = useState(/** @type {"rename" | "export" | undefined} */ (undefined));
  const [question, setQuestion] = useState(/** @type {Question | undefined} */ (undefined));
  const [generation, setGeneration] = useState(0);
  const heading = useRef(/** @type {HTMLHeadingElement | null} */ (null));
  // Set when the store no longer holds the session (removed elsewhere, or expired): the view stays, marked gone.
  const [gone, setGone] = useState(false);
  // What is shown, for the live handlers, which outlive the render that made them.
  const shown = useRef({ count: 0, revision: 0 });
  shown.current = { count: messages.length, revision: session?.revision ?? 0 };

  useEffect(() => {
    let stopFollowing = () => {};
    let open = true;
    /** @param {number} more messages the store added beyond those shown */
    const reread = (more) =>
      view.readTail(shown.current.count + more).catch((/** @type {Error} */ err) => setProblem({ text: describe(err) }));
    view
      .readTail(0)
      .then(() => {
        heading.current?.focus();
        if (!open) return;
        stopFollowing = followSession(sessionId, {
          // A change landing between the first read and the subscription is caught here.
          onSubscribed: ({ revision }) => void (revision !== shown.current.revision && reread(0)),
          onChange: ({ change }) => void reread(change.type === "appended" ? change.messages.length : 0),
          onGone: () => setGone(true),
        });
      })
      .catch((/** @type {Error} */ err) => setProblem({ text: describe(err) }))
      .finally(() => setLoading(false));
    return () => {
      open = false;
      stopFollowing();
    };
  }, []);

  /**
   * Runs one change, which says what it did; on a revision conflict shows the session as it now is, and says so.
   * @param {string} label the action's button label
   * @param {() => Promise<string>} change
   */
  const act = async (label, change) => {
    setBusy(label);
    setProblem(undefined);
    setDone(undefined);
    try {
      setDone(await change());
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        await view.readTail(messages.length).catch(() => {});
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
  const disabled = readOnly || gone || busy !== undefined;

  /** @param {string} newTitle */
  const rename = (newTitle) =>
    act("Rename", async () => {
      const stored = await setTitle(sessionId, newTitle, revision);
      setPanel(undefined);
      await view.readFields();
      return `Renamed to “${stored.title}”.`;
    });
  const toggleArchived = () =>
    act(session.archived ? "Unarchive" : "Archive", async () => {
      await setArchived(sessionId, !session.archived, revision);
      await view.readFields();
      return session.archived ? "Unarchived." : "Archived.";
    });
  // The idle age is sent as it is now, so pinning and unpinning leave it as it was.
  const togglePinned = () =>
    act(session.retention.pinned ? "Unpin" : "Pin", async () => {
      const retention = { maxIdle: session.retention.maxIdleMs, pinned: !session.retention.pinned };
      await updateSession(sessionId, { retention, expectedRevision: revision });
      await view.readFields();
      return session.retention.pinned ? "Unpinned." : "Pinned.";
    });
  /** @param {Message} message */
  const forkHere = (message) =>
    act("Fork here", async () => {
      const fork = await forkSession(sessionId, { cwd: session.cwd, atMessageId: message.messageId, expectedRevision: revision });
      onNavigate(
        `#/session/${encodeURIComponent(fork.sessionId)}`,
        `This is the new fork of “${title}”, holding its messages up to the one chosen.`,
      );
      return "Forked.";
    });
  /**
   * @param {Message} message
   * @param {number} index its index in the session
   */
  const askDeleteFrom = (message, index) =>
    setQuestion({
      heading: "Delete from this message on?",
      body:
        `This removes the ${ROLES[message.role].toLowerCase()} message of ${new Date(message.timestamp).toLocaleString()} and every ` +
        `message after it: ${plural(session.messageCount - index, "message")} of “${title}”. It cannot be undone.`,
      label: "Delete from here",
      run: () =>
        act("Delete from here", async () => {
          const { removed } = await truncateFrom(sessionId, message.messageId, revision);
          await view.readTail(messages.length);
          return `Deleted ${plural(removed, "message")}.`;
        }),
    });
  const askDelete = () =>
    setQuestion({
      heading: `Delete “${title}”?`,
      body: `This removes the session and its ${plural(session.messageCount, "message")} from the store. It cannot be undone.`,
      label: "Delete",
      run: () =>
        act("Delete", async () => {
          await removeSession(sessionId, revision);
          onNavigate("#/", `Deleted the session “${title}”.`);
          return "Deleted.";
        }),
    });
  /** @param {"jsonl" | "markdown"} format */
  const exportAs = async (format) => {
    setBusy("Export");
    setProblem(undefined);
    setDone(undefined);
    try {
      const name = await downloadExport(sessionId, format);
      setPanel(undefined);
      setDone(`Downloaded ${name}.`);
    } catch (err) {
      setProblem({ text: `Export failed: ${describe(/** @type {Error} */ (err))}` });
    } finally {
      setBusy(undefined);
    }
  };
  const refresh = () =>
    view
      .readTail(messages.length)
      .then(() => setGeneration(generation + 1))
      .catch((/** @type {Error} */ err) => setProblem({ text: describe(err) }));

  return html`<article class="conversation" aria-labelledby="session-heading">
    <p><a href="#/">← All sessions</a></p>
    <h2 id="session-heading" tabindex="-1" ref=${heading} class=${session.title === null ? "untitled" : ""}>${title}</h2>
    <${Marks} archived=${session.archived} pinned=${session.retention.pinned} fork=${session.parentSessionId !== null} />

    <div class="actions" role="group" aria-label="Actions">
      <button type="button" disabled=${disabled} onClick=${() => setPanel("rename")}>Rename</button>
      <button type="button" disabled=${disabled} onClick=${toggleArchived}>${session.archived ? "Unarchive" : "Archive"}</button>
      <button type="button" disabled=${disabled} onClick=${togglePinned}>${session.retention.pinned ? "Unpin" : "Pin"}</button>
      <button
        type="button"
        aria-expanded=${panel === "export"}
        disabled=${busy !== undefined}
        onClick=${() => setPanel(panel === "export" ? undefined : "export")}
      >
        Export
      </button>
      <button type="button" class="danger" disabled=${disabled} onClick=${askDelete}>Delete</button>
      <button type="button" disabled=${busy !== undefined} onClick=${refresh}>Refresh</button>
    </div>
    ${
      gone &&
      html`<p class="problem gone" role="alert">This session is no longer in the store: it was deleted elsewhere, or it expired.</p>`
    }
    ${readOnly && html`<p class="caption">Read-only: this inspector was started with --read-only, so nothing here can change the store.</p>`}
    ${
      panel === "rename" &&
      !readOnly &&
      html`<${RenameForm} title=${session.title} disabled=${disabled} onSave=${rename} onCancel=${() => setPanel(undefined)} />`
    }
    ${panel === "export" && html`<${ExportChoices} disabled=${busy !== undefined} onExport=${exportAs} onCancel=${() => setPanel(undefined)} />`}
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

    <${MessagePane}
      view=${view}
      disabled=${disabled}
      onProblem=${(/** @type {string} */ text) => setProblem({ text })}
      onForkHere=${forkHere}
      onDeleteFrom=${askDeleteFrom}
    />
    <${Fields} session=${session} now=${now} />
    <${ForkFamily} session=${session} generation=${generation} now=${now} />
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
 * @param {{ title: string | null, disabled: boolean, onSave: (title: string) => void, onCancel: () => void }} props
 */
function RenameForm({ title, disabled, onSave, onCancel }) {
  const [value, setValue] = useState(title ?? "");
  const input = useRef(/** @type {HTMLInputElement | null} */ (null));
  useEffect(() => input.current?.focus(), []);
  /** @param {Event} event */
  const submit = (event) => {
    event.preventDefault();
    onSave(value);
  };
  return html`<form class="rename" onSubmit=${submit}>
    <label
      >New title
      <input
        type="text"
        required
        ref=${input}
        value=${value}
        onInput=${(/** @type {InputEvent} */ e) => setValue(/** @type {HTMLInputElement} */ (e.currentTarget).value)}
    /></label>
    <div class="buttons">
      <button type="submit" disabled=${disabled}>Save title</button>
      <button type="button" onClick=${onCancel}>Cancel</button>
    </div>
    <p class="caption">Spaces around the title are trimmed, and a title longer than 500 characters is cut.</p>
  </form>`;
}

/**
 * The two exports a session has: JSONL, which `acp-sessions import` reads back, and Markdown, to read.
 * @param {{ disabled: boolean, onExport: (format: "jsonl" | "markdown") => void, onCancel: () => void }} props
 */
function ExportChoices({ disabled, onExport, onCancel }) {
  return html`<div class="export" role="group" aria-labelledby="export-heading">
    <p id="export-heading">Download this session as a file:</p>
    <div class="buttons">
      <button type="button" disabled=${disabled} onClick=${() => onExport("jsonl")}>Download JSONL</button>
      <button type="button" disabled=${disabled} onClick=${() => onExport("markdown")}>Download Markdown</button>
      <button type="button" onClick=${onCancel}>Cancel</button>
    </div>
    <p class="caption">JSONL is the export format <code>acp-sessions import</code> reads back; Markdown is a transcript to read.</p>
  </div>`;
}

/** @param {Error} err */
function describe(err) {
  if (err instanceof ApiError && err.status === 404 && err.code !== undefined) {
    return "This session is not in the store: it was deleted, or it expired.";
  }
  return err.message;
}
