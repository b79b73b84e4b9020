import { randomUUID } from "node:crypto";

/**
 * A random UUID (v4) as one flat string. randomUUID builds its text by concatenation, which V8 keeps
 * as a tree of a dozen pieces, several times the size of the text, until something flattens it; a
 * session or a message keeps its id for as long as it lives, so it gets a flat copy.
 */
export function flatUuid(): string {
  return Buffer.from(randomUUID(), "latin1").toString("latin1");
}
