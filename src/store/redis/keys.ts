/**
 * Where the Redis store keeps things. Sessions are spread over a fixed number of buckets; every key of
 * bucket b starts with `<prefix>{b<b>}:`, so Redis Cluster keeps a bucket in one slot and every script,
 * which touches one bucket, runs on one node. A session lives in the bucket its id hashes to, except
 * a fork: it lives with its lineage's root (see store.ts), and an alias in its own id's bucket says where.
 *
 * Keys of one bucket, after its key prefix:
 *   s:<id>       the session (hash), with its own history segment's parent, base and freed count
 *   a:<id>       alias: the bucket a fork lives in, kept in the bucket its id hashes to
 *   g:<seg>      the same three for a segment whose session is gone while forks still read it (hash)
 *   m:<seg>      the segment's messages, as stored JSON (list)
 *   d:<seg>      per message: its role's first letter and its id (list), to trim by turns and free ids
 *   i:<seg>      message id → absolute position (hash), for retries and afterMessageId; its entry
 *                under '' (never an id) and the session's field `wide` keep both as hash tables
 *   c:<seg>      the forks' segments reading this one, scored by where they start (sorted set)
 *   live, arch   the listing indexes, active and archived, scored by creation (sorted sets)
 *   idle         idle deadlines, Redis server clock ms (sorted set)
 *   born         restored sessions (listed as created when restored) by createdAt, scored as the
 *                listing indexes are, for the lifetime cap (sorted set)
 *   events       expiries, for every sidecar to announce (stream)
 *   changes      changes to watched sessions, for subscribed sidecars (stream; lua/feed.lua)
 * A segment is named after the session that created it and appends to it; it outlives that session
 * while forks still read it. One a truncate leaves to forks is renamed <id>#<revision> (lua/history.lua).
 */
/** Recorded with the data: 2 keeps a session's version whole (ve) where 1 kept its parts (fv, score, nc). */
export const LAYOUT_VERSION = "2";

export class KeyLayout {
  readonly config: string;
  private readonly bucketPrefixes: string[];

  constructor(
    readonly prefix: string,
    readonly buckets: number,
  ) {
    this.config = `${prefix}config`;
    this.bucketPrefixes = Array.from({ length: buckets }, (_, b) => `${prefix}{b${b}}:`);
  }

  /** The bucket an id hashes to: FNV-1a over its UTF-8 bytes. Part of the layout: never change it. */
  home(sessionId: string): number {
    let hash = 0x811c9dc5;
    for (let i = 0; i < sessionId.length; i++) {
      const code = sessionId.charCodeAt(i);
      // An ASCII id (every UUID) is its own UTF-8; anything else is hashed from its encoding.
      if (code >= 0x80) return this.homeOfBytes(Buffer.from(sessionId, "utf8"));
      hash = Math.imul(hash ^ code, 0x01000193);
    }
    return (hash >>> 0) % this.buckets;
  }

  private homeOfBytes(bytes: Buffer): number {
    let hash = 0x811c9dc5;
    for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
    return (hash >>> 0) % this.buckets;
  }

  /** Every key of bucket `b` starts with this. */
  bucket(b: number): string {
    return this.bucketPrefixes[b]!;
  }

  session(b: number, sessionId: string): string {
    return `${this.bucketPrefixes[b]}s:${sessionId}`;
  }

  alias(b: number, sessionId: string): string {
    return `${this.bucketPrefixes[b]}a:${sessionId}`;
  }

  index(b: number, name: "live" | "arch" | "idle" | "events" | "changes"): string {
    return `${this.bucketPrefixes[b]}${name}`;
  }

  /** A SCAN MATCH pattern for every key under the prefix. */
  pattern(): string {
    return `${this.prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
  }

  /** Keys that are not session data: the layout record, the expiry and change streams (capped, not per session). */
  isBookkeeping(key: string): boolean {
    return key === this.config || key.endsWith("}:events") || key.endsWith("}:changes");
  }
}
