// Times as a person reads them: "5 min ago" in lists, the full local time on hover and in the fields.
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";

/**
 * "just now", "5 min ago", "3 h ago", "2 days ago", then the date.
 * @param {number} then Unix ms
 * @param {number} now Unix ms
 */
export function ago(then, now) {
  const minutes = Math.floor(Math.max(0, now - then) / 60_000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.floor(hours / 24);
  if (days < 30) return days === 1 ? "1 day ago" : `${days} days ago`;
  return new Date(then).toLocaleDateString();
}

/**
 * "45 s", "30 min", "1 h", "1 day 12 h": a retention's idle age.
 * @param {number} ms
 */
export function duration(ms) {
  const units = /** @type {const} */ ([
    ["day", 86_400_000],
    ["h", 3_600_000],
    ["min", 60_000],
    ["s", 1000],
  ]);
  const parts = [];
  let rest = ms;
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n === 0) continue;
    parts.push(unit === "day" ? `${n} ${n === 1 ? "day" : "days"}` : `${n} ${unit}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.length === 0 ? `${ms} ms` : parts.join(" ");
}

/** The current time, moving on every half minute so "5 min ago" stays right while the page is open. */
export function useNow() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

/**
 * A time relative to now, with the full local time on hover.
 * @param {{ iso: string, now: number }} props
 */
export function Ago({ iso, now }) {
  const at = Date.parse(iso);
  return html`<time datetime=${iso} title=${new Date(at).toLocaleString()}>${ago(at, now)}</time>`;
}

/**
 * The full local time.
 * @param {{ iso: string }} props
 */
export function At({ iso }) {
  return html`<time datetime=${iso}>${new Date(iso).toLocaleString()}</time>`;
}
