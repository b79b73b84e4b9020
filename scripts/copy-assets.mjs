// Copies what tsc leaves out of dist/ but the compiled code reads at run time: the Redis store's Lua.
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";

const from = new URL("../src/store/redis/lua/", import.meta.url);
const to = new URL("../dist/src/store/redis/lua/", import.meta.url);

mkdirSync(to, { recursive: true });
for (const name of readdirSync(from)) {
  if (name.endsWith(".lua")) copyFileSync(new URL(name, from), new URL(name, to));
}
