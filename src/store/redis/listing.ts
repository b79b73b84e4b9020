/**
 * Listing sessions across buckets: each bucket's listing index is read newest first in batches, and
 * the batches are merged into pages in (score, bucket) order, newest first. A page's cursor is the
 * position of its last item.
 */
import { decodeCursor, encodeCursor } from "../cursor.js";
import { InvalidCursorError } from "../errors.js";
import type { ListPage, ListQuery, SessionRecord } from "../types.js";
import type { ListInput } from "./operations.js";

/** One bucket's next batch of matches, newest first (the list operation, its records decoded). */
export type ReadBatch = (
  bucket: number,
  input: ListInput,
) => Promise<{ exhausted: boolean; frontier: string; items: { score: number; session: SessionRecord }[] }>;

interface ListItem {
  score: number;
  bucket: number;
  session: SessionRecord;
}

/** One bucket's listing index, read newest first in batches during one list call. */
interface ListSource {
  bucket: number;
  index: "live" | "arch";
  /** Where the next batch starts (Redis score range syntax). */
  max: string;
  items: ListItem[];
  next: number;
  done: boolean;
}

export async function listAcrossBuckets(query: ListQuery, buckets: number, read: ReadBatch): Promise<ListPage> {
  const after = query.cursor === undefined ? undefined : cursorPosition(query.cursor, buckets);
  const archived = query.archived ?? "exclude";
  const indexes: ListSource["index"][] = archived === "only" ? ["arch"] : archived === "include" ? ["live", "arch"] : ["live"];
  const sources: ListSource[] = [];
  for (let bucket = 0; bucket < buckets; bucket++) {
    for (const index of indexes) {
      // Order is (score, bucket), newest first: a page resumes strictly after the cursor's item.
      const max = after === undefined ? "+inf" : bucket < after.bucket ? String(after.score) : `(${after.score}`;
      sources.push({ bucket, index, max, items: [], next: 0, done: false });
    }
  }
  const page: ListItem[] = [];
  for (;;) {
    // Each source is asked for a fair share (twice it, in case the page leans on a few buckets);
    // one that runs dry before the page is full is asked again.
    const need = query.limit + 1 - page.length;
    const want = Math.min(need, Math.max(4, Math.ceil((2 * need) / sources.length)));
    await Promise.all(sources.filter((s) => s.next === s.items.length && !s.done).map((s) => fill(s, want, query.cwd, read)));
    let best: ListSource | undefined;
    for (const s of sources) {
      if (s.next < s.items.length && (!best || newer(s.items[s.next]!, best.items[best.next]!))) best = s;
    }
    if (!best) return { sessions: page.map((item) => item.session) };
    // Another page only if another match exists, so the last page never comes back empty.
    if (page.length >= query.limit) {
      const last = page[page.length - 1];
      return { sessions: page.map((item) => item.session), nextCursor: last ? encodeCursor([last.score, last.bucket]) : query.cursor };
    }
    page.push(best.items[best.next++]!);
  }
}

/** The next batch of a listing source: `want` matches, scanning more entries when filtering by cwd. */
async function fill(source: ListSource, want: number, cwd: string | undefined, read: ReadBatch): Promise<void> {
  const budget = cwd === undefined ? want : Math.max(want, 256);
  const batch = await read(source.bucket, { index: source.index, max: source.max, want, budget, cwd });
  source.items = batch.items.map(({ score, session }) => ({ score, bucket: source.bucket, session }));
  source.next = 0;
  if (batch.exhausted) source.done = true;
  else source.max = `(${batch.frontier}`;
}

function cursorPosition(cursor: string, buckets: number): { score: number; bucket: number } {
  const position = decodeCursor(cursor);
  if (Array.isArray(position) && position.length === 2) {
    const [score, bucket] = position as unknown[];
    if (
      typeof score === "number" &&
      typeof bucket === "number" &&
      Number.isSafeInteger(score) &&
      Number.isSafeInteger(bucket) &&
      bucket >= 0 &&
      bucket < buckets
    )
      return { score, bucket };
  }
  throw new InvalidCursorError(cursor);
}

const newer = (a: ListItem, b: ListItem) => a.score > b.score || (a.score === b.score && a.bucket > b.bucket);
