import { ownedCopies } from "../owned-bytes.js";

/**
 * The last window of messages this sidecar read of each session, with the revision it was read at.
 * A session's messages change only with its revision, so a later read of the same window at the same
 * revision may skip sending them again: the store asks Redis for them only when its copy is stale.
 * Bounded by bytes, least recently read first out.
 */
const CAPACITY_BYTES = 16 * 2 ** 20;
/** Windows bigger than this are not kept: one would push out many small ones. */
const LARGEST_BYTES = 256 * 1024;

interface Window {
  /** Which copy of the session it was read from: its revision and record version (windowVersion in store.ts). */
  version: string;
  /** What was asked: offset, limit and afterMessageId. */
  key: string;
  messages: Buffer[];
  bytes: number;
}

export class WindowCache {
  private readonly windows = new Map<string, Window>();
  private bytes = 0;
  /** The most recently read session: read again, it is already last in the eviction order. */
  private newest: string | undefined;

  /** The messages of this window, if they were read at this version. */
  get(sessionId: string, version: string, key: string): Buffer[] | undefined {
    const window = this.windows.get(sessionId);
    if (!window || window.version !== version || window.key !== key) return undefined;
    if (this.newest !== sessionId) {
      this.windows.delete(sessionId);
      this.windows.set(sessionId, window);
      this.newest = sessionId;
    }
    return window.messages;
  }

  /** Keeps a window just read (copied: the replies' buffers are views of whole socket chunks). */
  set(sessionId: string, version: string, key: string, messages: readonly Buffer[]): void {
    this.forget(sessionId);
    let bytes = 0;
    for (const m of messages) bytes += m.length;
    if (bytes > LARGEST_BYTES) return;
    this.windows.set(sessionId, { version, key, messages: ownedCopies(messages), bytes });
    this.newest = sessionId;
    this.bytes += bytes;
    while (this.bytes > CAPACITY_BYTES) this.forget(this.windows.keys().next().value!);
  }

  forget(sessionId: string): void {
    const window = this.windows.get(sessionId);
    if (!window) return;
    this.bytes -= window.bytes;
    this.windows.delete(sessionId);
    if (this.newest === sessionId) this.newest = undefined;
  }
}
