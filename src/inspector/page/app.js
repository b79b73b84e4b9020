// The page's frame: which view the address asks for (the list, or one session), and notices that
// outlive a change of view ("Deleted …").
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { readOnly } from "./api.js";
import { Conversation } from "./conversation.js";
import { NO_FILTERS, SessionList } from "./list.js";
import { useNow } from "./time.js";

/** @typedef {{ view: "list" } | { view: "session", sessionId: string }} Route */

/** @returns {Route} */
function currentRoute() {
  const match = /^#\/session\/(.+)$/.exec(location.hash);
  if (!match) return { view: "list" };
  try {
    return { view: "session", sessionId: decodeURIComponent(match[1] ?? "") };
  } catch {
    return { view: "list" };
  }
}

export function App() {
  const [route, setRoute] = useState(currentRoute);
  const [filters, setFilters] = useState(NO_FILTERS);
  const [notice, setNotice] = useState(/** @type {string | undefined} */ (undefined));
  // A notice set just before navigating is shown on the view navigated to, and cleared on the next one.
  const pendingNotice = useRef(/** @type {string | undefined} */ (undefined));
  const now = useNow();

  useEffect(() => {
    const onHashChange = () => {
      setNotice(pendingNotice.current);
      pendingNotice.current = undefined;
      setRoute(currentRoute());
    };
    addEventListener("hashchange", onHashChange);
    return () => removeEventListener("hashchange", onHashChange);
  }, []);

  /**
   * @param {string} hash
   * @param {string} text
   */
  const navigate = (hash, text) => {
    pendingNotice.current = text;
    location.hash = hash;
  };

  return html`<header class="top">
      <h1><a href="#/">acp-sessions inspector</a></h1>
      ${readOnly && html`<span class="mark mark-read-only">Read-only</span>`}
    </header>
    <main>
      ${notice !== undefined && html`<p class="notice" role="status">${notice}</p>`}
      ${
        route.view === "session"
          ? html`<${Conversation} key=${route.sessionId} sessionId=${route.sessionId} now=${now} onNavigate=${navigate} />`
          : html`<${SessionList} filters=${filters} onFilters=${setFilters} now=${now} />`
      }
    </main>`;
}
