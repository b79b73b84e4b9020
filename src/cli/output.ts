import { once } from "node:events";
import { createWriteStream, openSync } from "node:fs";
import type { Writable } from "node:stream";
import { openStdout } from "../transport/stdio.js";

/**
 * A long output written as it is made: to stdout, or to a file created with mode 0600 (sessions hold
 * whatever was said in them). Each write waits while the stream is backed up, so a slow reader holds
 * the writer back rather than letting the text pile up in memory.
 */
export class Output {
  /** The reader of stdout went away (`export | head`): nothing more is written, and that is no failure. */
  private gone = false;
  private failure: Error | undefined;

  private constructor(
    private readonly stream: Writable,
    private readonly file: boolean,
  ) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE" && !file) this.gone = true;
      else this.failure = err;
    });
  }

  /** stdout, or the file at `path` (created, or emptied): a file that cannot be opened fails here. */
  static open(path: string | undefined): Output {
    if (path === undefined) return new Output(openStdout(), false);
    return new Output(createWriteStream(path, { fd: openSync(path, "w", 0o600) }), true);
  }

  get closed(): boolean {
    return this.gone;
  }

  async write(text: string): Promise<void> {
    this.check();
    if (this.gone || this.stream.write(text)) return;
    try {
      await once(this.stream, "drain");
    } catch {
      // The stream failed meanwhile: the listener above has recorded how.
    }
    this.check();
  }

  /** Resolves once everything written is out: the file closed, or stdout handed it all over. */
  async close(): Promise<void> {
    if (this.file) {
      this.stream.end();
      await once(this.stream, "close");
    } else if (!this.gone) {
      await new Promise<void>((resolve) => this.stream.write("", () => resolve()));
    }
    this.check();
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }
}
