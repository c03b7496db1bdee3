/*
 * Runs tasks one after another in the order they were added, so that what the bridge emits
 * keeps the order D-Bus delivered it in, even when a task has to wait (a Get for an invalidated
 * property). A failed task is reported and does not stop the ones behind it.
 */
export class SerialQueue {
  #tail: Promise<void> = Promise.resolve();
  #size = 0;
  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Tasks added and not yet finished (the one running included). */
  get size(): number {
    return this.#size;
  }

  push(task: () => unknown): Promise<void> {
    this.#size++;
    const run = this.#tail
      .then(task)
      .then(
        () => {},
        (error: unknown) => this.#onError(error),
      )
      .finally(() => {
        this.#size--;
      });
    this.#tail = run;
    return run;
  }

  /** Resolves when everything added so far has run. */
  idle(): Promise<void> {
    return this.#tail;
  }
}
