import type { Readable, Writable } from "node:stream";
import {
  AbstractMessageReader,
  AbstractMessageWriter,
  type DataCallback,
  type Disposable,
  type Message,
  type MessageWriter,
} from "vscode-jsonrpc/node";
import { NdjsonReader } from "../transport/ndjson-reader.js";

/** vscode-jsonrpc's reader over newline-delimited JSON, framed by the same reader the sidecar uses. */
export class NdjsonMessageReader extends AbstractMessageReader {
  constructor(
    private readonly readable: Readable,
    private readonly maxMessageBytes = 32 * 1024 * 1024,
  ) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    const lines = new NdjsonReader(
      {
        frame: (body) => {
          try {
            callback(JSON.parse(body.toString("utf8")) as Message);
          } catch (err) {
            this.fireError(err);
          }
        },
        oversize: (bytes) => this.fireError(new Error(`a message of ${bytes} bytes exceeds the limit of ${this.maxMessageBytes}`)),
      },
      this.maxMessageBytes,
    );
    const onData = (chunk: Buffer) => lines.push(chunk);
    const onEnd = () => {
      lines.end();
      this.fireClose();
    };
    const onError = (err: Error) => this.fireError(err);
    this.readable.on("data", onData);
    this.readable.on("end", onEnd);
    this.readable.on("error", onError);
    return {
      dispose: () => {
        this.readable.off("data", onData);
        this.readable.off("end", onEnd);
        this.readable.off("error", onError);
      },
    };
  }
}

/** vscode-jsonrpc's writer: one JSON message per line. */
export class NdjsonMessageWriter extends AbstractMessageWriter implements MessageWriter {
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
