export * from "./session-client.js";
export { NdjsonMessageReader, NdjsonMessageWriter } from "./ndjson-stream.js";
