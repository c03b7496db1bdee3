/*
 * A counting limiter with a FIFO of waiters: bounds how many emits await the daemon's answer.
 */

/** One in line for a slot of a {@link Limiter}. */
export interface LimiterWaiter {
  /**
   * A slot is free, called from `release()`: true to take it, false to hand it on to the next
   * waiter (a waiter that needs the slot only to keep its place in line, or has nothing to send).
   */
  granted(): boolean;
  /** The limiter failed: no slot will come. */
  failed(error: unknown): void;
}

/**
 * At most `max` holders at once. A released slot goes straight to the oldest waiter, and
 * `tryAcquire` fails while anyone waits, so slots are granted in call order (emits keep their order).
 *
 * Waiters are objects told synchronously, not promises: a queued emit is sent from within the
 * `release()` its predecessor's answer triggers, with no promise and no microtask in between.
 */
export class Limiter {
  readonly #max: number;
  #active = 0;
  readonly #waiters = new WaiterQueue();
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

  /** Set once `fail` was called: the error every waiter was told. */
  get failure(): { readonly error: unknown } | undefined {
    return this.#failure;
  }

  /** Takes a slot now if one is free and nobody is waiting. */
  tryAcquire(): boolean {
    if (this.#failure !== undefined || this.#active >= this.#max || this.#waiters.length > 0) return false;
    this.#active++;
    return true;
  }

  /** Puts `waiter` in line for a slot; it is told at once (`failed`) if the limiter failed. */
  wait(waiter: LimiterWaiter): void {
    if (this.#failure !== undefined) waiter.failed(this.#failure.error);
    else this.#waiters.push(waiter);
  }

  release(): void {
    // Hand the slot over instead of freeing it: a concurrent tryAcquire must not jump the queue.
    // A loop rather than recursion: waiters that pass the slot on do not grow the stack.
    for (let next = this.#waiters.shift(); next !== undefined; next = this.#waiters.shift()) {
      if (next.granted()) return;
    }
    if (this.#active > 0) this.#active--;
  }

  /** Tells every waiter, and every later one, that the limiter failed with `error`. */
  fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = { error };
    for (let next = this.#waiters.shift(); next !== undefined; next = this.#waiters.shift()) {
      next.failed(error);
    }
  }
}

/*
 * A FIFO that does not shift an array: `shift()` on a long JS array moves every element, and
 * with a window of emits beyond maxInFlight the line is hundreds long. Items are read from
 * `#head`; the array is compacted once the consumed part is half of it.
 *
 *   #items: [ consumed ... | head → oldest ... newest ]
 */
class WaiterQueue {
  #items: (LimiterWaiter | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: LimiterWaiter): void {
    this.#items.push(item);
  }

  shift(): LimiterWaiter | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined; // no reference kept to what left the line
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}
