/*
 * A set of event handlers where one throwing handler cannot break delivery to the others, nor
 * the read loop that called it.
 */

/** Handlers of one event. `emit` calls them in registration order. */
export class Listeners<TArgs extends unknown[]> {
  // Copy-on-write: add/remove replace the array, so emit iterates a snapshot without copying it
  // (it runs once per delivered signal) and handlers added or removed meanwhile take effect from
  // the next emit.
  #entries: readonly { readonly handler: (...args: TArgs) => void }[] = [];

  get size(): number {
    return this.#entries.length;
  }

  /** Adds `handler`; returns the function that removes it. */
  add(handler: (...args: TArgs) => void): () => void {
    // An entry per registration, so registering the same function twice calls it twice and each
    // returned remover removes exactly its own registration.
    const entry = { handler };
    this.#entries = [...this.#entries, entry];
    return () => {
      this.#entries = this.#entries.filter((other) => other !== entry);
    };
  }

  emit(...args: TArgs): void {
    const entries = this.#entries;
    for (let i = 0; i < entries.length; i++) {
      try {
        (entries[i] as (typeof entries)[number]).handler(...args);
      } catch (error) {
        // As EventTarget does: the error surfaces as an uncaught exception, delivery goes on.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
