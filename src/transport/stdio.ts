import { fstatSync } from "node:fs";
import { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";

/**
 * The process's stdout as a stream that reports backpressure. Node writes to a pipe on fd 1
 * synchronously on Linux, so a client that stops reading would freeze the whole event loop (timers,
 * signals); a socket over the same fd writes asynchronously and says when to wait for 'drain'.
 */
export function openStdout(): Writable {
  try {
    const stat = fstatSync(1);
    if (stat.isFIFO() || stat.isSocket()) return new Socket({ fd: 1, readable: false, writable: true });
  } catch {
    // fd 1 not inspectable: fall back to process.stdout.
  }
  return process.stdout;
}

export function openStdin(): Readable {
  return process.stdin;
}
