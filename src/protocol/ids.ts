import { v4 as uuidv4 } from "uuid";

/**
 * A random UUID (v4) as one flat string. uuid builds its text by concatenation, which V8 keeps as a
 * tree of a dozen pieces, several times the size of the text, until something flattens it; a session
 * or a message keeps its id for as long as it lives, so it gets a flat copy.
 */
export function flatUuid(): string {
  return Buffer.from(uuidv4(), "latin1").toString("latin1");
}
