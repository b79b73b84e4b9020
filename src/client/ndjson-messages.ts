import type { Readable, Writable } from "node:stream";
import { AbstractMessageReader, AbstractMessageWriter, type DataCallback, type Disposable, type Message } from "vscode-jsonrpc/node";
import { DEFAULT_CONFIG } from "../config.js";
import { NdjsonReader } from "../transport/ndjson-reader.js";
import { MessageTooLargeError } from "./errors.js";

/** The client's default limit on one received message, the same as the sidecar's on what it receives. */
export const DEFAULT_MAX_MESSAGE_BYTES = DEFAULT_CONFIG.maxMessageBytes;

/**
 * vscode-jsonrpc's reader over newline-delimited JSON, framed by the sidecar's own line reader. A line
 * over `maxMessageBytes` is dropped without being buffered and reported as a `MessageTooLargeError`.
 */
export class NdjsonMessageReader extends AbstractMessageReader {
  /** Messages handed on so far. */
  received = 0;

  constructor(
    private readonly readable: Readable,
    private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
  ) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    const lines = new NdjsonReader(
      {
        frame: (body) => {
          let message: Message;
          try {
            message = JSON.parse(body.toString("utf8")) as Message;
          } catch (err) {
            this.fireError(new Error("the sidecar sent a line that is not JSON", { cause: err }));
            return;
          }
          this.received++;
          callback(message);
        },
        oversize: (bytes) => this.fireError(new MessageTooLargeError(bytes, this.maxMessageBytes)),
      },
      this.maxMessageBytes,
    );
    const onData = (chunk: Buffer) => lines.push(chunk);
    const onEnd = () => {
      lines.end();
      this.fireClose();
    };
    const onClose = () => this.fireClose();
    const onError = (err: Error) => this.fireError(err);
    this.readable.on("data", onData).on("end", onEnd).on("close", onClose).on("error", onError);
    return {
      dispose: () => {
        this.readable.off("data", onData).off("end", onEnd).off("close", onClose).off("error", onError);
      },
    };
  }
}

/** vscode-jsonrpc's writer: one JSON message per line; a write resolves once the stream has taken it. */
export class NdjsonMessageWriter extends AbstractMessageWriter {
  constructor(private readonly writable: Writable) {
    super();
    writable.on("error", (err) => this.fireError(err));
    writable.on("close", () => this.fireClose());
  }

  write(message: Message): Promise<void> {
    return new Promise((resolve, reject) => {
      this.writable.write(JSON.stringify(message) + "\n", (err) => (err ? reject(err) : resolve()));
    });
  }

  end(): void {
    this.writable.end();
  }
}
