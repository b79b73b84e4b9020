import type { SessionClient } from "../client/index.js";
import { exportSessions, type ExportFormat } from "../cli/export.js";
import type { Logger } from "../log.js";

/**
 * One session's export as a download: the bytes `acp-sessions export --format <format> <id>` writes (the
 * same writer, paging with session/export, which is not an access), streamed as they are made and sent as
 * an attachment, so that no browser ever renders stored content as a page of this origin.
 */

export const DOWNLOADS: Record<ExportFormat, { type: string; extension: string }> = {
  jsonl: { type: "application/jsonl; charset=utf-8", extension: "jsonl" },
  markdown: { type: "text/markdown; charset=utf-8", extension: "md" },
};

/** The text queued for a slow reader before the writer waits for it. */
const QUEUED_BYTES = 1024 * 1024;

/**
 * Resolves once the export has written its first bytes; a failure before them (an unknown session) rejects,
 * for the API to answer as any other error. A failure later, or the session removed or changed while it was
 * read, can only cut the download short: the page then says it failed.
 */
export async function exportDownload(sidecar: SessionClient, sessionId: string, format: ExportFormat, log: Logger): Promise<Response> {
  const pipe = new DownloadPipe();
  const run = exportSessions(sidecar, format, [sessionId], pipe).then((result) => {
    if (result.gone.length > 0 || result.cut.length > 0) throw new Error(`session ${sessionId} changed while it was exported`);
  });
  run.then(
    () => pipe.end(),
    (err: unknown) => {
      if (!pipe.started) return;
      log.warn(`inspector: the export of ${sessionId} was cut short: ${(err as Error).message}`);
      pipe.fail(err);
    },
  );
  await Promise.race([pipe.firstWrite, run]);
  return new Response(pipe.body, {
    headers: {
      "Content-Type": DOWNLOADS[format].type,
      "Content-Disposition": `attachment; filename="${downloadName(sessionId, format)}"`,
    },
  });
}

/** A file name any system takes: the session id with anything unusual replaced. */
export function downloadName(sessionId: string, format: ExportFormat): string {
  return `acp-session-${sessionId.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 100)}.${DOWNLOADS[format].extension}`;
}

/** What the export writer writes into: a web stream the response reads, holding the writer back while it is full. */
class DownloadPipe {
  /** The reader went away (the page closed, or the download was cancelled): the writer stops. */
  closed = false;
  started = false;
  readonly body: ReadableStream<Uint8Array>;
  readonly firstWrite: Promise<void>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private wake: (() => void) | undefined;
  private markStarted!: () => void;
  private readonly encoder = new TextEncoder();

  constructor() {
    this.firstWrite = new Promise((resolve) => (this.markStarted = resolve));
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => this.resume(),
        cancel: () => {
          this.closed = true;
          this.resume();
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark: QUEUED_BYTES }),
    );
  }

  async write(text: string): Promise<void> {
    if (this.closed) return;
    this.started = true;
    this.markStarted();
    this.controller.enqueue(this.encoder.encode(text));
    if ((this.controller.desiredSize ?? 0) <= 0) await new Promise<void>((resolve) => (this.wake = resolve));
  }

  end(): void {
    if (!this.closed) this.controller.close();
    this.closed = true;
  }

  fail(err: unknown): void {
    if (!this.closed) this.controller.error(err);
    this.closed = true;
  }

  private resume(): void {
    this.wake?.();
    this.wake = undefined;
  }
}
