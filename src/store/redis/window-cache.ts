import { ownedCopies } from "../owned-bytes.js";

/**
 * The last window of messages this sidecar read of each session, where it starts, and the revision it
 * was read at.
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
  /** What was asked: windowKeyOf in store.ts. */
  key: string;
  messages: Buffer[];
  /** The index of the first message in the session (fixed, like the messages, by the revision). */
  start: number;
  bytes: number;
}

/** A window as it was read: its messages and the index of the first. */
export type HeldWindow = Pick<Window, "messages" | "start">;

export class WindowCache {
  private readonly windows = new Map<string, Window>();
  private bytes = 0;
  /** The most recently read session: read again, it is already last in the eviction order. */
  private newest: string | undefined;

  /** This window, if it was read at this version. */
  get(sessionId: string, version: string, key: string): HeldWindow | undefined {
    const window = this.windows.get(sessionId);
    if (!window || window.version !== version || window.key !== key) return undefined;
    if (this.newest !== sessionId) {
      this.windows.delete(sessionId);
      this.windows.set(sessionId, window);
      this.newest = sessionId;
    }
    return window;
  }

  /** Keeps a window just read (copied: the replies' buffers are views of whole socket chunks). */
  set(sessionId: string, version: string, key: string, messages: readonly Buffer[], start: number): void {
    this.forget(sessionId);
    let bytes = 0;
    for (const m of messages) bytes += m.length;
    if (bytes > LARGEST_BYTES) return;
    this.windows.set(sessionId, { version, key, messages: ownedCopies(messages), start, bytes });
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
