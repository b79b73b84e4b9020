/**
 * Text as UTF-8 bytes in an allocation of their own, for bytes kept long. Buffer.from puts small
 * strings in shared 8 KiB slabs, and one long-lived message would keep its whole slab alive after
 * every neighbour is deleted.
 */
export function ownedBytes(text: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  bytes.write(text);
  return bytes;
}

/**
 * Copies of `items` in one allocation of their own, for bytes a cache keeps and drops together:
 * Buffer.from puts small strings in shared pool slabs, and a buffer read off a socket is a view of
 * its whole chunk; either would let a few cached messages keep far more memory alive.
 */
export function ownedCopies(items: readonly (string | Buffer)[]): Buffer[] {
  let total = 0;
  for (const item of items) total += typeof item === "string" ? Buffer.byteLength(item) : item.length;
  const block = Buffer.allocUnsafeSlow(total);
  const out = new Array<Buffer>(items.length);
  let offset = 0;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const end = offset + (typeof item === "string" ? block.write(item, offset) : item.copy(block, offset));
    out[i] = block.subarray(offset, end);
    offset = end;
  }
  return out;
}
