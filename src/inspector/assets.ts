import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A file the server sends as it is. */
export interface Asset {
  body: Buffer;
  type: string;
}

export interface PageAssets {
  /** By URL path: the page's own modules and style under /page/, Preact and htm under /vendor/. */
  files: Map<string, Asset>;
  /** The page itself, for `GET /`. */
  html: string;
  /** CSP hashes (`sha256-…`) of the page's one inline script, its import map. */
  scriptHashes: string[];
}

/**
 * Preact and htm as their own packages publish them for `import`, resolved from node_modules at run time:
 * they ship through `dependencies`, so the package carries no copy of its own to fall out of date.
 */
const VENDOR = {
  preact: "/vendor/preact.mjs",
  "preact/hooks": "/vendor/preact-hooks.mjs",
  htm: "/vendor/htm.mjs",
  "htm/preact": "/vendor/htm-preact.mjs",
} as const;

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** The page's modules, beside this file: copied from src/inspector/page/ into dist/ by the build. */
const PAGE_DIR = new URL("./page/", import.meta.url);

/** Reads everything the page needs, once, at start-up: a missing file fails here, not in a browser. */
export function loadPageAssets(readOnly: boolean): PageAssets {
  const files = new Map<string, Asset>();
  if (!existsSync(new URL("main.js", PAGE_DIR))) {
    throw new Error(`the inspector's page is missing from ${fileURLToPath(PAGE_DIR)}: run npm run build`);
  }
  for (const name of readdirSync(PAGE_DIR)) {
    const type = TYPES[extension(name)];
    if (type) files.set(`/page/${name}`, { body: readFileSync(new URL(name, PAGE_DIR)), type });
  }
  for (const [specifier, path] of Object.entries(VENDOR)) {
    files.set(path, { body: readFileSync(fileURLToPath(import.meta.resolve(specifier))), type: TYPES[".mjs"]! });
  }
  // An import map must be inline (Chromium loads no external one), so the CSP allows it by its hash.
  const importMap = JSON.stringify({ imports: VENDOR });
  return {
    files,
    html: pageHtml(importMap, readOnly),
    scriptHashes: [`sha256-${createHash("sha256").update(importMap).digest("base64")}`],
  };
}

function pageHtml(importMap: string, readOnly: boolean): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="acp-sessions-read-only" content="${readOnly}">
<title>acp-sessions inspector</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/page/style.css">
<script type="importmap">${importMap}</script>
<script type="module" src="/page/main.js"></script>
</head>
<body>
<div id="app"><noscript>The inspector is a JavaScript page: allow scripts for this address.</noscript></div>
</body>
</html>
`;
}

function extension(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? "" : name.slice(dot);
}
