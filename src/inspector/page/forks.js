// A session's place in its fork tree: the parent it came from (by title) and the forks made from it.
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { listSessions } from "./api.js";
import { Ago } from "./time.js";
/** @import { Session, SessionInfo } from "../../client/types.js" */

/** Sessions read per listing page while looking. */
const SCAN_PAGE = 1000;

/**
 * @typedef {{ done: boolean, scanned: number, parent?: SessionInfo, forks: SessionInfo[], error?: string }} Family
 */

/**
 * The protocol has no lookup of a session's forks, so the forks, and the parent with its title, are found
 * by reading the whole listing, archived sessions included, a page at a time: listing is not an access.
 * @param {string} sessionId
 * @param {string | null} parentSessionId
 * @param {number} generation bumped to look again
 */
function useFamily(sessionId, parentSessionId, generation) {
  const [family, setFamily] = useState(/** @type {Family} */ ({ done: false, scanned: 0, forks: [] }));
  useEffect(() => {
    let stopped = false;
    const scan = async () => {
      /** @type {string | undefined} */
      let cursor;
      /** @type {SessionInfo | undefined} */
      let parent;
      /** @type {SessionInfo[]} */
      const forks = [];
      let scanned = 0;
      do {
        const page = await listSessions({ archived: "include", limit: SCAN_PAGE, cursor });
        if (stopped) return;
        for (const session of page.sessions) {
          if (session.sessionId === parentSessionId) parent = session;
          if (session.parentSessionId === sessionId) forks.push(session);
        }
        scanned += page.sessions.length;
        cursor = page.nextCursor;
        setFamily({ done: cursor === undefined, scanned, parent, forks: [...forks] });
      } while (cursor !== undefined);
    };
    setFamily({ done: false, scanned: 0, forks: [] });
    scan().catch((/** @type {Error} */ err) => {
      if (!stopped) setFamily((family) => ({ ...family, done: true, error: err.message }));
    });
    return () => {
      stopped = true;
    };
  }, [sessionId, parentSessionId, generation]);
  return family;
}

/** @param {{ session: Session, generation: number, now: number }} props */
export function ForkFamily({ session, generation, now }) {
  const family = useFamily(session.sessionId, session.parentSessionId, generation);
  return html`<section class="family" aria-labelledby="family-heading">
    <h3 id="family-heading">Fork tree</h3>
    ${session.parentSessionId !== null && html`<${ParentLine} session=${session} family=${family} />`}
    ${
      family.forks.length > 0
        ? html`<p>Forks of this session:</p>
            <ul class="forks">
              ${family.forks.map(
                (fork) =>
                  html`<li>
                    <a href=${`#/session/${encodeURIComponent(fork.sessionId)}`}>${fork.title ?? "Untitled session"}</a>${", created "}<${Ago}
                      iso=${fork.createdAt}
                      now=${now}
                    />${fork.archived ? " (archived)" : ""}
                  </li>`,
              )}
            </ul>`
        : family.done && html`<p>No forks of this session.</p>`
    }
    ${!family.done && html`<p class="status" role="status">Looking for forks: ${family.scanned} sessions read…</p>`}
    ${family.error !== undefined && html`<p class="problem">Could not look for forks: ${family.error}</p>`}
  </section>`;
}

/** @param {{ session: Session, family: Family }} props */
function ParentLine({ session, family }) {
  const at = session.forkedAtMessageId === null ? " at its start" : html` at message <code class="id">${session.forkedAtMessageId}</code>`;
  if (family.parent) {
    const href = `#/session/${encodeURIComponent(family.parent.sessionId)}`;
    return html`<p>Forked from <a href=${href}>${family.parent.title ?? "Untitled session"}</a>${at}.</p>`;
  }
  const id = html`<code class="id">${session.parentSessionId}</code>`;
  return family.done
    ? html`<p>Forked from session ${id}${at}; that session is no longer in the store.</p>`
    : html`<p>Forked from session ${id}${at}.</p>`;
}
