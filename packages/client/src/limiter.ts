/*
 * A limiter with a FIFO of waiters: bounds how many emits await the daemon's answer, and how many
 * bytes they hold.
 */

/** One in line for a slot of a {@link Limiter}. */
export interface LimiterWaiter {
  /** Bytes it will hold once granted (its frame's size; 0 for one that only keeps its place). */
  readonly bytes: number;
  /**
   * A slot is free, called from `release()`: true to take it, false to hand it on to the next
   * waiter (a waiter that needs the slot only to keep its place in line, or has nothing to send).
   */
  granted(): boolean;
  /** The limiter failed: no slot will come. */
  failed(error: unknown): void;
}

/**
 * At most `max` holders at once, holding at most `maxBytes` together (one holder alone may hold
 * more: a frame bigger than the bound still goes, by itself). Slots freed by `release` go to the
 * waiters in order, and `tryAcquire` fails while anyone waits, so slots are granted in call order
 * (emits keep their order).
 *
 * Waiters are objects told synchronously, not promises: a queued emit is sent from within the
 * `release()` its predecessor's answer triggers, with no promise and no microtask in between.
 */
export class Limiter {
  readonly #max: number;
  readonly #maxBytes: number;
  #active = 0;
  #bytes = 0;
  readonly #waiters = new WaiterQueue();
  #failure: { error: unknown } | undefined;

  constructor(max: number, maxBytes = Number.POSITIVE_INFINITY) {
    this.#max = max;
    this.#maxBytes = maxBytes;
  }

  get active(): number {
    return this.#active;
  }

  /** Bytes the active holders hold. */
  get activeBytes(): number {
    return this.#bytes;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Set once `fail` was called: the error every waiter was told. */
  get failure(): { readonly error: unknown } | undefined {
    return this.#failure;
  }

  /** Takes a slot for `bytes` now if there is room and nobody is waiting. */
  tryAcquire(bytes = 0): boolean {
    if (this.#failure !== undefined || this.#waiters.length > 0 || !this.#fits(bytes)) return false;
    this.#active++;
    this.#bytes += bytes;
    return true;
  }

  /** Puts `waiter` in line for a slot; it is told at once (`failed`) if the limiter failed. */
  wait(waiter: LimiterWaiter): void {
    if (this.#failure !== undefined) waiter.failed(this.#failure.error);
    else this.#waiters.push(waiter);
  }

  /**
   * Gives back `slots` slots (one unless said) taken for `bytes` in all; the waiters that now fit
   * are granted, in order.
   */
  release(bytes = 0, slots = 1): void {
    this.#active = Math.max(0, this.#active - slots);
    this.#bytes = Math.max(0, this.#bytes - bytes);
    // A loop rather than recursion: waiters that pass the slot on do not grow the stack.
    for (let next = this.#waiters.peek(); next !== undefined; next = this.#waiters.peek()) {
      if (this.#failure !== undefined || !this.#fits(next.bytes)) return;
      this.#waiters.shift();
      this.#active++;
      this.#bytes += next.bytes;
      if (next.granted()) continue;
      // Handed on: it needed no slot (only its place in line) or had nothing left to send.
      this.#active--;
      this.#bytes -= next.bytes;
    }
  }

  /** Tells every waiter, and every later one, that the limiter failed with `error`. */
  fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = { error };
    for (let next = this.#waiters.shift(); next !== undefined; next = this.#waiters.shift()) {
      next.failed(error);
    }
  }

  #fits(bytes: number): boolean {
    if (this.#active >= this.#max) return false;
    return this.#active === 0 || this.#bytes + bytes <= this.#maxBytes;
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

  peek(): LimiterWaiter | undefined {
    return this.#items[this.#head];
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
