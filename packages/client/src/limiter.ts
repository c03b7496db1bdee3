/*
 * A counting limiter with a FIFO of waiters: bounds how many emits await the daemon's answer.
 */

type Waiter = { resolve: () => void; reject: (error: unknown) => void };

/**
 * At most `max` holders at once. A released slot goes straight to the oldest waiter, and
 * `tryAcquire` fails while anyone waits, so slots are granted in call order (emits keep their order).
 */
export class Limiter {
  readonly #max: number;
  #active = 0;
  #waiters: Waiter[] = [];
  #failure: { error: unknown } | undefined;

  constructor(max: number) {
    this.#max = max;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Takes a slot now if one is free and nobody is waiting. */
  tryAcquire(): boolean {
    if (this.#failure !== undefined || this.#active >= this.#max || this.#waiters.length > 0) return false;
    this.#active++;
    return true;
  }

  /** Waits for a slot; rejects once the limiter failed. */
  acquire(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure.error);
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  release(): void {
    const next = this.#waiters.shift();
    // Hand the slot over instead of freeing it: a concurrent tryAcquire must not jump the queue.
    if (next !== undefined) next.resolve();
    else if (this.#active > 0) this.#active--;
  }

  /** Rejects every waiter and every later acquire with `error`. */
  fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = { error };
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}
