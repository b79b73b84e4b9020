import { vi } from "vitest";

/** Bytes copied by Buffer.concat while `run` runs (the spy calls the real one). */
export function bytesConcatenated(run: () => void): number {
  const concat = Buffer.concat;
  let copied = 0;
  const spy = vi.spyOn(Buffer, "concat").mockImplementation((list, totalLength) => {
    const joined = concat(list, totalLength);
    copied += joined.length;
    return joined;
  });
  try {
    run();
  } finally {
    spy.mockRestore();
  }
  return copied;
}
