/*
 * A set of event handlers where one throwing handler cannot break delivery to the others, nor
 * the read loop that called it.
 */

/** Handlers of one event. `emit` calls them in registration order. */
export class Listeners<TArgs extends unknown[]> {
  readonly #handlers = new Set<(...args: TArgs) => void>();

  get size(): number {
    return this.#handlers.size;
  }

  /** Adds `handler`; returns the function that removes it. */
  add(handler: (...args: TArgs) => void): () => void {
    // A wrapper per registration, so registering the same function twice calls it twice and each
    // returned remover removes exactly its own registration.
    const entry = (...args: TArgs): void => handler(...args);
    this.#handlers.add(entry);
    return () => {
      this.#handlers.delete(entry);
    };
  }

  emit(...args: TArgs): void {
    for (const handler of [...this.#handlers]) {
      try {
        handler(...args);
      } catch (error) {
        // As EventTarget does: the error surfaces as an uncaught exception, delivery goes on.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
