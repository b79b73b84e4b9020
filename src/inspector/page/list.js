// The session list: filters for cwd and archived, newest sessions first, a page at a time as far as the
// store goes.
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { listSessions } from "./api.js";
import { Ago } from "./time.js";
/** @import { SessionInfo } from "../../client/types.js" */

const PAGE = 50;

/** How often the shown list looks for new sessions. */
const POLL_MS = 2000;

/** @typedef {{ cwd: string, archived: "exclude" | "include" | "only" }} Filters */

/** @type {Filters} */
export const NO_FILTERS = { cwd: "", archived: "exclude" };

/**
 * @param {number} count
 * @param {string} one
 */
export const plural = (count, one) => `${count} ${one}${count === 1 ? "" : "s"}`;

/** @param {{ filters: Filters, onFilters: (filters: Filters) => void, now: number }} props */
export function SessionList({ filters, onFilters, now }) {
  const [draft, setDraft] = useState(filters);
  const [sessions, setSessions] = useState(/** @type {SessionInfo[]} */ ([]));
  const [cursor, setCursor] = useState(/** @type {string | undefined} */ (undefined));
  const [loading, setLoading] = useState(true);
  const [problem, setProblem] = useState(/** @type {string | undefined} */ (undefined));
  const [generation, setGeneration] = useState(0);

  // Only the latest load may fill the list: an answer for filters since changed is dropped.
  const latest = useRef(0);

  /** @param {string | undefined} after */
  const load = async (after) => {
    const request = ++latest.current;
    setLoading(true);
    setProblem(undefined);
    try {
      const page = await listSessions({ cwd: filters.cwd.trim(), archived: filters.archived, cursor: after, limit: PAGE });
      if (request !== latest.current) return;
      setSessions((shown) => (after === undefined ? page.sessions : [...shown, ...page.sessions]));
      setCursor(page.nextCursor);
    } catch (err) {
      if (request === latest.current) setProblem(/** @type {Error} */ (err).message);
    } finally {
      if (request === latest.current) setLoading(false);
    }
  };
  useEffect(() => {
    setSessions([]);
    setCursor(undefined);
    void load(undefined);
  }, [filters, generation]);

  // New sessions have no subscription to follow: the first page is read again every POLL_MS, and what it
  // holds is merged in (new sessions on top, shown ones brought up to date), leaving later pages as they are.
  useEffect(() => {
    const timer = setInterval(async () => {
      const request = latest.current;
      try {
        const page = await listSessions({ cwd: filters.cwd.trim(), archived: filters.archived, limit: PAGE });
        if (request === latest.current) setSessions((shown) => merged(shown, page.sessions));
      } catch {
        // A failed poll is retried by the next one; the list stays as shown.
      }
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [filters]);

  /** @param {Event} event */
  const apply = (event) => {
    event.preventDefault();
    onFilters({ ...draft });
  };

  return html`<section aria-labelledby="list-heading">
    <h2 id="list-heading">Sessions</h2>
    <form class="filters" onSubmit=${apply} aria-label="Filters">
      <label
        >Working directory
        <input
          type="text"
          name="cwd"
          placeholder="/path/to/project (all when empty)"
          value=${draft.cwd}
          onInput=${(/** @type {InputEvent} */ e) => setDraft({ ...draft, cwd: /** @type {HTMLInputElement} */ (e.currentTarget).value })}
      /></label>
      <label
        >Archived sessions
        <select
          name="archived"
          value=${draft.archived}
          onChange=${(/** @type {Event} */ e) =>
            setDraft({ ...draft, archived: /** @type {Filters["archived"]} */ (/** @type {HTMLSelectElement} */ (e.currentTarget).value) })}
        >
          <option value="exclude">Leave out</option>
          <option value="include">Include</option>
          <option value="only">Only these</option>
        </select></label
      >
      <div class="buttons">
        <button type="submit">Apply filters</button>
        <button type="button" onClick=${() => setGeneration(generation + 1)}>Refresh</button>
      </div>
    </form>
    ${problem !== undefined && html`<p class="problem" role="alert">${problem}</p>`}
    ${
      sessions.length === 0 && !loading && problem === undefined
        ? html`<p>
            ${filters.cwd.trim() !== "" || filters.archived !== "exclude" ? "No sessions match these filters." : "No sessions in this store."}
          </p>`
        : html`<p class="caption">Newest sessions first; ${plural(sessions.length, "session")} shown.</p>`
    }
    <ul class="sessions">
      ${sessions.map((session) => html`<${SessionRow} key=${session.sessionId} session=${session} now=${now} />`)}
    </ul>
    ${loading && html`<p class="status" role="status">Loading…</p>`}
    ${!loading && cursor !== undefined && html`<button type="button" onClick=${() => load(cursor)}>Load more sessions</button>`}
  </section>`;
}

/**
 * The shown list with a fresh first page merged in: sessions not shown yet go on top, in the page's order.
 * @param {SessionInfo[]} shown
 * @param {SessionInfo[]} first
 */
function merged(shown, first) {
  const fresh = new Map(first.map((session) => [session.sessionId, session]));
  const known = new Set(shown.map((session) => session.sessionId));
  const added = first.filter((session) => !known.has(session.sessionId));
  return [...added, ...shown.map((session) => fresh.get(session.sessionId) ?? session)];
}

/** @param {{ session: SessionInfo, now: number }} props */
function SessionRow({ session, now }) {
  return html`<li class="session-row">
    <a class="session-link" href=${`#/session/${encodeURIComponent(session.sessionId)}`}>
      <span class=${session.title === null ? "session-title untitled" : "session-title"}>${session.title ?? "Untitled session"}</span>
    </a>
    <${Marks} archived=${session.archived} pinned=${session.pinned} fork=${session.parentSessionId !== null} />
    <div class="session-meta">
      <span class="cwd">${session.cwd}</span>
      <span>${plural(session.messageCount, "message")}</span>
      <span>last activity <${Ago} iso=${session.updatedAt} now=${now} /></span>
    </div>
  </li>`;
}

/** @param {{ archived: boolean, pinned: boolean, fork: boolean }} props */
export function Marks({ archived, pinned, fork }) {
  return html`<span class="marks">
    ${archived && html`<span class="mark mark-archived">Archived</span>`} ${pinned && html`<span class="mark mark-pinned">Pinned</span>`}
    ${fork && html`<span class="mark mark-fork">Fork</span>`}
  </span>`;
}
