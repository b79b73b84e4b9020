import { PassThrough } from "node:stream";
import { SessionClient } from "../client/index.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { serve } from "../main.js";
import { VERSION } from "../version.js";

export interface InProcessSidecar {
  client: SessionClient;
  /** Ends the connection; resolves once the sidecar has answered everything and closed its store. */
  close(): Promise<void>;
}

/**
 * The sidecar itself, on the configured store, in this process: the inspector reaches the store only
 * through the protocol, as every other client does, over a pair of in-memory streams.
 */
export async function startSidecar(config: Config, log: Logger): Promise<InProcessSidecar> {
  const toSidecar = new PassThrough();
  const fromSidecar = new PassThrough();
  const server = await serve(config, { stdin: toSidecar, stdout: fromSidecar, log }, VERSION);
  void server.done.then(() => fromSidecar.end());
  // The page asks for windows of a session, but one message may be large: the sidecar's own limits apply.
  const client = SessionClient.connect(fromSidecar, toSidecar, { maxReceiveBytes: Infinity });
  try {
    await client.initialize();
  } catch (err) {
    server.stop();
    throw err;
  }
  return {
    client,
    close: async () => {
      await client.close();
      await server.done;
    },
  };
}
