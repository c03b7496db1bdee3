import type { Message, OutboundItem } from '@chorus/core';
import { chunksOfItems } from './outbound-frames.js';

/** What the scheduler writes for: a session that moves its queued items into its socket. */
export interface Flushable {
  flush(): void;
}

/**
 * Turns the engine's queues into socket writes: a session with something to write is flushed
 * once per event-loop turn, so a burst becomes one write per connection, and connections whose
 * batches are the same frames share the bytes written for them (chunksOf).
 */
export class WriteScheduler<TSession extends Flushable> {
  /** Sessions with queued items to write; flushed once per event-loop turn, so writes batch. */
  readonly #dirty = new Set<TSession>();
  #flushScheduled = false;
  /** True while #flushAll runs: the only time a batch's chunks may be kept for the next session. */
  #flushing = false;
  /**
   * The last batch written in this flush pass, kept for the next session: a fan-out queues the
   * same message objects to every member, so their batches are usually the same.
   *
   *   #batchItems   [m1, m2, m3, BIG, m4]      items as taken, compared by identity, in order
   *   #batchChunks  [m1+m2+m3, BIG, m4]        what was written for them
   *
   * Holds at most one batch and is released at the end of the pass. A chunk is never written to
   * after it was handed to a socket, which may hold it until it is flushed.
   */
  #batchItems: readonly OutboundItem<Uint8Array>[] | undefined;
  #batchChunks: readonly Uint8Array[] | undefined;
  /**
   * Signals encoded straight into a chunk of this pass, whose `wire` points there meanwhile: a
   * session of the same pass with another batch copies those bytes instead of encoding them again.
   * Taken back at the end of the pass, so that no queued message keeps a chunk alive (a small
   * frame must not pin a large chunk: the daemon's PIN_RATIO rule).
   */
  readonly #lent: Message<Uint8Array>[] = [];
  readonly #lend = (item: Message<Uint8Array>, frame: Uint8Array): void => {
    item.wire = frame;
    this.#lent.push(item);
  };

  /** `session` has queued items: it is flushed in this turn's pass (the next one, if none is running). */
  schedule(session: TSession): void {
    this.#dirty.add(session);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flushAll());
  }

  #flushAll(): void {
    this.#flushScheduled = false;
    this.#flushing = true;
    try {
      // Flushing takes from queues, which can unblock emits and make other sessions dirty:
      // keep going until nothing is left for this turn.
      for (const session of this.#dirty) {
        this.#dirty.delete(session);
        session.flush();
      }
    } finally {
      this.#flushing = false;
      this.#batchItems = undefined;
      this.#batchChunks = undefined;
      for (const item of this.#lent) item.wire = undefined;
      this.#lent.length = 0;
    }
  }

  /**
   * What to write for a batch of items, in order (outbound-frames.ts, chunksOfItems): the chunks
   * of the previous session of this pass when its batch was the same items, so that one copy
   * serves them all.
   */
  chunksOf(items: readonly OutboundItem<Uint8Array>[]): readonly Uint8Array[] {
    const last = this.#batchItems;
    // [GUARANTEE: encode once] the same items are the same bytes: frames are never mutated.
    if (last !== undefined && sameItems(last, items)) return this.#batchChunks as readonly Uint8Array[];
    const chunks = chunksOfItems(items, this.#flushing ? this.#lend : undefined);
    if (this.#flushing) {
      this.#batchItems = items;
      this.#batchChunks = chunks;
    }
    return chunks;
  }

  /** `session` is gone: it is not flushed any more. */
  forget(session: TSession): void {
    this.#dirty.delete(session);
  }
}

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
