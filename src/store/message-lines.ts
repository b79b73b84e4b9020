/**
 * Messages carried as one block of bytes, their stored JSON one per line (the change logs of the shared
 * stores): JSON text never holds a raw newline, since JSON.stringify escapes it inside strings.
 */
const NEWLINE = 10;
const LINE_BREAK = Buffer.from("\n");

export function joinLines(messages: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  messages.forEach((m, i) => {
    if (i > 0) parts.push(LINE_BREAK);
    parts.push(m);
  });
  return Buffer.concat(parts);
}

/** The messages of a block, each a view of its bytes (no copy). */
export function splitLines(bytes: Buffer | null | undefined): Buffer[] {
  if (!bytes || bytes.length === 0) return [];
  const out: Buffer[] = [];
  let from = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, from)) {
    out.push(bytes.subarray(from, at));
    from = at + 1;
  }
  out.push(bytes.subarray(from));
  return out;
}
