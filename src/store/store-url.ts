import { statSync } from "node:fs";
import { sep } from "node:path";
import { StoreOpenError } from "./errors.js";

/** A store URL that can never name a durable store: a usage error, which the CLI exits with code 2. */
export class StoreUrlError extends StoreOpenError {}

/**
 * Refuses a `sqlite:` path that cannot keep sessions across a restart. SQLite keeps an empty name,
 * `:memory:` and a `file:` URI naming `:memory:` or `mode=memory` in memory only (and the store would
 * first create an empty file by that name), so a user asking for one was never asking for a file; a
 * directory cannot be a database file.
 */
export function refuseNonDurableSqlitePath(path: string): void {
  const shown = JSON.stringify(path);
  if (path === "") throw new StoreUrlError("sqlite store: no file given (expected sqlite:<path>)");
  if (namesInMemoryDatabase(path)) {
    throw new StoreUrlError(`sqlite store ${shown} is an in-memory database, lost on exit: give a file path (sqlite:<path>)`);
  }
  if (path.endsWith(sep) || path.endsWith("/") || isDirectory(path)) {
    throw new StoreUrlError(`sqlite store ${shown} names a directory: give a database file path (sqlite:<path>)`);
  }
}

function namesInMemoryDatabase(path: string): boolean {
  if (path === ":memory:") return true;
  if (!path.startsWith("file:")) return false;
  const query = path.indexOf("?");
  const file = path.slice("file:".length, query === -1 ? undefined : query);
  const params = new URLSearchParams(query === -1 ? "" : path.slice(query + 1));
  return file === ":memory:" || params.get("mode") === "memory";
}

/** A path that cannot be looked at is left for the store to open, and to report why it cannot. */
function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}
