import { existsSync, readFileSync } from "node:fs";

/** The nearest package.json above this module: ours, whether it runs from src/ (tests) or dist/src/. */
function packageJsonUrl(): URL {
  for (let dir = new URL(".", import.meta.url); ; dir = new URL("..", dir)) {
    const candidate = new URL("package.json", dir);
    if (existsSync(candidate)) return candidate;
    if (dir.pathname === "/") throw new Error(`no package.json above ${import.meta.url}`);
  }
}

/** This package's version, as package.json gives it. */
export const VERSION = (JSON.parse(readFileSync(packageJsonUrl(), "utf8")) as { version: string }).version;
