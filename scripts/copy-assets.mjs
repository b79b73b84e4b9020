// Copies what tsc leaves out of dist/ but the compiled code reads at run time: the Redis store's Lua,
// and the inspector's page (plain ES modules and a style sheet, served as written).
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";

/** Copies the files of `dir` (under src/) whose names end with one of `extensions`. */
function copy(dir, extensions) {
  const from = new URL(`../src/${dir}/`, import.meta.url);
  const to = new URL(`../dist/src/${dir}/`, import.meta.url);
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    if (extensions.some((extension) => name.endsWith(extension))) copyFileSync(new URL(name, from), new URL(name, to));
  }
}

copy("store/redis/lua", [".lua"]);
copy("inspector/page", [".js", ".css"]);
