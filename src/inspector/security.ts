import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";

/**
 * The inspector's guards, each a Hono middleware that refuses with a one-line plain-text reason, so a
 * person whose setup is wrong can see what to fix. A page on localhost that can delete data is what DNS
 * rebinding and cross-site requests aim at (MCP Inspector CVE-2025-49596, Vitest CVE-2025-24964).
 */

/** The only loopback address the inspector binds; a wildcard would serve the whole network. */
export const LOOPBACK = "127.0.0.1";

/** The `Host` values a browser sends for this server: anything else reached it by another name. */
export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
}

/** Every request, static files included: a rebound DNS name resolving to 127.0.0.1 must get nothing of the page. */
export function hostCheck(port: number): MiddlewareHandler {
  const hosts = allowedHosts(port);
  return async (c, next) => {
    const host = c.req.header("host")?.toLowerCase();
    if (host === undefined || !hosts.includes(host)) {
      const named = host === undefined ? "no Host header" : `Host ${JSON.stringify(host)}`;
      return refuse(c, 421, `${named} is not ${hosts.join(", ")}: open http://${hosts[0]}/ (DNS rebinding protection).`);
    }
    await next();
  };
}

/**
 * API calls carry the run's token as `Authorization: Bearer <token>`; the page reads it from the URL fragment.
 * On `queryTokenPath` only, the event stream's, it may come as `?token=`: `EventSource` cannot set a header.
 */
export function tokenCheck(token: string, queryTokenPath?: string): MiddlewareHandler {
  return async (c, next) => {
    const bearer = /^Bearer (.+)$/.exec(c.req.header("authorization") ?? "")?.[1];
    const sent = bearer ?? (c.req.path === queryTokenPath ? c.req.query("token") : undefined);
    if (sent === undefined) return refuse(c, 401, "no token: open the URL `acp-sessions inspect` printed, with its #token=… part.");
    if (!tokensEqual(sent, token)) {
      return refuse(c, 401, "wrong token: it changes each run; open the URL this run of `acp-sessions inspect` printed.");
    }
    await next();
  };
}

/** Compares in constant time: hashing first gives both sides one length, so not even that leaks. */
export function tokensEqual(sent: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(sent), digest(expected));
}

/** Whether a request can change anything: every method but the reading ones. */
export function isChange(method: string): boolean {
  return !["GET", "HEAD", "OPTIONS"].includes(method);
}

/**
 * A change must come from the inspector's own page: a matching `Origin`, or, without one, `Sec-Fetch-Site:
 * same-origin`. A page elsewhere cannot forge either header.
 */
export function originCheck(port: number): MiddlewareHandler {
  const origins = allowedHosts(port).map((host) => `http://${host}`);
  return async (c, next) => {
    if (!isChange(c.req.method)) return next();
    const origin = c.req.header("origin");
    const site = c.req.header("sec-fetch-site");
    if (origin !== undefined && !origins.includes(origin.toLowerCase())) {
      return refuse(c, 403, `Origin ${JSON.stringify(origin)} is not ${origins.join(", ")}: changes come from the inspector's page only.`);
    }
    if (site !== undefined && site !== "same-origin") {
      return refuse(c, 403, `Sec-Fetch-Site is ${JSON.stringify(site)}: changes come from the inspector's page only.`);
    }
    if (origin === undefined && site === undefined) {
      return refuse(c, 403, "no Origin header (nor Sec-Fetch-Site: same-origin): changes come from the inspector's page only.");
    }
    await next();
  };
}

/** `--read-only`: the server refuses every change, whatever the page shows. */
export function readOnlyCheck(): MiddlewareHandler {
  return async (c, next) => {
    if (isChange(c.req.method)) return refuse(c, 403, "the inspector runs with --read-only: nothing may change the store.");
    await next();
  };
}

/**
 * Headers on every answer, refusals included. No script runs unless it is a file of ours or hashed here;
 * stored content reaches the page as data, so the policy is a second wall, not the first. Never a CORS
 * header: no other origin may read an answer.
 */
export function securityHeaders(scriptHashes: readonly string[]): MiddlewareHandler {
  const policy = [
    "default-src 'none'",
    `script-src 'self' ${scriptHashes.map((hash) => `'${hash}'`).join(" ")}`,
    "style-src 'self'",
    // Images from stored `image` blocks are shown as data: URLs.
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    // The page never assigns markup; should anything try, the browser throws instead of parsing it.
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ].join("; ");
  return async (c, next) => {
    await next();
    const headers = c.res.headers;
    headers.set("Content-Security-Policy", policy);
    headers.set("X-Content-Type-Options", "nosniff");
    headers.set("Referrer-Policy", "no-referrer");
    headers.set("Cache-Control", "no-store");
    headers.set("X-Frame-Options", "DENY");
    headers.set("Cross-Origin-Opener-Policy", "same-origin");
    headers.set("Cross-Origin-Resource-Policy", "same-origin");
  };
}

/** A refusal: its status and one line saying why, as plain text. */
export function refuse(c: Context, status: 401 | 403 | 404 | 413 | 421, reason: string): Response {
  return c.text(`Refused: ${reason}\n`, status);
}
