import type { Piece } from "../transport/frame-writer.js";

/**
 * Bounds the bytes of answers in progress: started, not yet written. A request cannot be sized before
 * it runs, and a remote store's reply sits in memory however late it is written, so each request is
 * charged what its method's answers have recently taken (the largest, forgotten slowly), and once it
 * has answered, what its answer takes. A method not answered yet may take anything: it runs alone. So
 * does any request when nothing else is charged, so that an answer larger than the budget still goes out.
 */
export class AnswerBudget {
  private readonly expected = new Map<string, number>();
  private charged = 0;

  constructor(private readonly limit: number) {}

  /** What a request of `method` is charged when it starts. */
  expect(method: string): number {
    return this.expected.get(method) ?? this.limit;
  }

  fits(bytes: number): boolean {
    return this.charged === 0 || this.charged + bytes <= this.limit;
  }

  charge(bytes: number): void {
    this.charged += bytes;
  }

  release(bytes: number): void {
    this.charged -= bytes;
  }

  /** Records an answer of `method` of `bytes`; a smaller answer lowers the expectation by a 64th. */
  learn(method: string, bytes: number): void {
    const before = this.expected.get(method);
    this.expected.set(method, before === undefined ? bytes : Math.max(bytes, before - Math.floor(before / 64)));
  }
}

/** An answer's size as charged: text counts one byte per UTF-16 unit, the most common case. */
export function answerBytes(pieces: readonly Piece[]): number {
  let bytes = 0;
  for (const piece of pieces) bytes += piece.length;
  return bytes;
}
