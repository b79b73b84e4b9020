/**
 * The Redis store's one Lua script, `batch`: it runs a sequence of operations on one bucket in order,
 * atomically, so that the operations a sidecar starts in one event-loop turn cost one script call
 * (batcher.ts). It is assembled from the files of lua/: the helpers, each operation's body as a
 * function, and the loop that runs a batch of them. The files are read once, on first use, from next
 * to this module (the build copies them: tsc leaves them out).
 */
import { readFileSync } from "node:fs";
import { StoreOpenError } from "../errors.js";

/** The operations, each the file lua/<name>.lua: what each reads and answers is in operations.ts. */
export const OPERATION_NAMES = [
  "create",
  "update",
  "append",
  "get",
  "read",
  "has",
  "archive",
  "remove",
  "fork",
  "truncate",
  "expire",
  "count",
  "due",
  "list",
  "title",
  "restore",
  "subscribe",
  "watch",
] as const;

export type OperationName = (typeof OPERATION_NAMES)[number];

/** The helpers' files, in this order: each defines what the later ones use. */
const HELPERS = ["shared", "base", "arguments", "session", "history", "window", "lifecycle", "feed", "changes"];

const LUA_FOLDER = new URL("./lua/", import.meta.url);

/** The text of lua/<name>.lua. */
export function luaFile(name: string): string {
  const url = new URL(`${name}.lua`, LUA_FOLDER);
  try {
    return readFileSync(url, "utf8");
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new StoreOpenError(`redis store: cannot read its Lua script ${url.pathname} (${why})`);
  }
}

let assembled: string | undefined;

/** The batch script's text, read and assembled on the first call. */
export function batchScript(): string {
  return (assembled ??= assemble());
}

function assemble(): string {
  // Each operation's body becomes a function only when a batch first runs it (batch.lua).
  const branches = OPERATION_NAMES.map(
    (name, i) => `  ${i === 0 ? "if" : "elseif"} name == '${name}' then return function()\n${luaFile(name)}\n  end`,
  );
  const makeOperation = ["local function make_operation(name)", ...branches, "  end", "end"].join("\n");
  return [...HELPERS.map(luaFile), makeOperation, luaFile("batch")].join("\n");
}
