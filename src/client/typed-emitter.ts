type Listener<Args extends unknown[]> = (...args: Args) => void;

/** An event emitter whose event names and listener arguments are checked; only its owner emits. */
export class TypedEmitter<Events extends { [E in keyof Events]: unknown[] }> {
  readonly #listeners = new Map<keyof Events, { listener: unknown; once: boolean }[]>();

  on<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    return this.#add(event, listener, false);
  }

  once<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    return this.#add(event, listener, true);
  }

  off<E extends keyof Events>(event: E, listener: Listener<Events[E]>): this {
    const entries = this.#listeners.get(event);
    const index = entries?.findIndex((entry) => entry.listener === listener) ?? -1;
    if (index >= 0) entries!.splice(index, 1);
    return this;
  }

  protected emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const entries = this.#listeners.get(event);
    if (!entries) return;
    // A listener that adds or removes listeners must not change who hears this event.
    for (const entry of [...entries]) {
      if (entry.once) entries.splice(entries.indexOf(entry), 1);
      (entry.listener as Listener<Events[E]>)(...args);
    }
  }

  #add<E extends keyof Events>(event: E, listener: Listener<Events[E]>, once: boolean): this {
    const entries = this.#listeners.get(event) ?? [];
    entries.push({ listener, once });
    this.#listeners.set(event, entries);
    return this;
  }
}
