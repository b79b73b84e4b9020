import { fstatSync } from "node:fs";
import { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";

/**
 * Output the client has not read yet, past which the sidecar stops reading input. Large enough that a
 * pipelined burst does not stop and restart input on every chunk; small enough to bound memory.
 */
const OUTPUT_HIGH_WATER_MARK = 1024 * 1024;

/**
 * The process's stdout as a stream that reports backpressure. Node writes to a pipe on fd 1
 * synchronously on Linux, so a client that stops reading would freeze the whole event loop (timers,
 * signals); a socket over the same fd writes asynchronously and says when to wait for 'drain'.
 */
export function openStdout(): Writable {
  try {
    const stat = fstatSync(1);
    if (stat.isFIFO() || stat.isSocket()) {
      // writableHighWaterMark is a stream option Socket passes on, though its typings omit it.
      return new Socket({ fd: 1, readable: false, writable: true, writableHighWaterMark: OUTPUT_HIGH_WATER_MARK } as ConstructorParameters<
        typeof Socket
      >[0]);
    }
  } catch {
    // fd 1 not inspectable: fall back to process.stdout.
  }
  return process.stdout;
}

export function openStdin(): Readable {
  return process.stdin;
}
