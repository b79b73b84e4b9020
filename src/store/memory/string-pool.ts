/**
 * One copy of each recently seen string, for values many sessions repeat (a project's cwd, the
 * client's capabilities as JSON): each request brings a copy of its own, which a session would
 * otherwise keep for as long as it lives. Bounded in count and length, so a client sending ever new or
 * huge values cannot make it hold much; a value pushed out is merely kept twice.
 */
export class StringPool {
  private readonly strings = new Map<string, string>();

  constructor(
    private readonly capacity = 64,
    private readonly maxLength = 1024,
  ) {}

  intern(value: string): string {
    if (value.length > this.maxLength) return value;
    const kept = this.strings.get(value);
    if (kept !== undefined) return kept;
    if (this.strings.size >= this.capacity) this.strings.delete(this.strings.keys().next().value!);
    this.strings.set(value, value);
    return value;
  }
}
