import type { Item } from './message.js';
import { QUEUE_CEILING_FACTOR } from './options.js';
import type { Connection } from './records.js';

/**
 * The bound on what the bus queues to a connection on its own, where no `onFull` applies (replies,
 * the bus's signals, notices, a join's retained values). Such items may take a queue past
 * maxQueueBytes, and then:
 *
 *   bytes ≤ maxQueueBytes                         fine
 *   maxQueueBytes < bytes, since the first tick   `over`: evicted after stallTimeoutMs unless a
 *                                                  take brings it back under maxQueueBytes
 *   bytes + item > QUEUE_CEILING_FACTOR × max     `overflowed` (capped items only): gets nothing
 *                                                  more, evicted once the current operation is over
 *
 * `connection.over ⇔ connection ∈ #over` and `connection.overflowed ⇔ connection ∈ #overflow`
 * while it lives; a removed connection is forgotten by both.
 */
export class QueueBound<TPayload> {
  /** Connections whose queue the bus itself took over maxQueueBytes: each on its stall clock. */
  readonly #over = new Set<Connection<TPayload>>();
  /** Connections past their queue's ceiling, evicted in settle (never in the middle of a fan-out). */
  readonly #overflow = new Set<Connection<TPayload>>();

  /** Whether a connection waits to be evicted for passing its ceiling. */
  get overflowing(): boolean {
    return this.#overflow.size > 0;
  }

  /** The next connection to evict for passing its ceiling. */
  firstOverflowed(): Connection<TPayload> | undefined {
    if (this.#overflow.size === 0) return undefined;
    for (const connection of this.#overflow) return connection;
    return undefined;
  }

  /** Called after the bus queued an item on its own: a queue now over maxQueueBytes starts its clock. */
  counted(connection: Connection<TPayload>): void {
    if (!connection.over && connection.queue.bytes > connection.maxQueueBytes) {
      connection.over = true;
      this.#over.add(connection);
    }
  }

  /**
   * Whether an item that others can send without limit (bus signals, posts) may be queued: never
   * past the ceiling. A connection it would take past it is marked for eviction and gets nothing
   * more, since eviction drops its queue.
   */
  admits(connection: Connection<TPayload>, item: Item<TPayload>): boolean {
    // [GUARANTEE: memory] these never take a queue past QUEUE_CEILING_FACTOR × maxQueueBytes (one item if empty).
    if (connection.gone || connection.overflowed) return false;
    const queue = connection.queue;
    if (queue.length > 0 && queue.bytes + item.size > connection.maxQueueBytes * QUEUE_CEILING_FACTOR) {
      connection.overflowed = true;
      this.#overflow.add(connection);
      return false;
    }
    return true;
  }

  /** Called after a take: a queue back within maxQueueBytes stops its clock. */
  taken(connection: Connection<TPayload>): void {
    if (connection.over && connection.queue.bytes <= connection.maxQueueBytes) {
      connection.over = false;
      connection.overSince = undefined;
      this.#over.delete(connection);
    }
  }

  /**
   * Adds to `into` the connections over maxQueueBytes for `timeoutMs`, counted from the first
   * tick that saw them over (so never early, at most one tick late).
   */
  overdue(now: number, timeoutMs: number, into: Set<Connection<TPayload>>): void {
    // [GUARANTEE: memory] a queue the bus took over maxQueueBytes must come back within stallTimeoutMs.
    for (const connection of this.#over) {
      if (connection.overSince === undefined) connection.overSince = now;
      else if (now - connection.overSince >= timeoutMs) into.add(connection);
    }
  }

  forget(connection: Connection<TPayload>): void {
    this.#over.delete(connection);
    this.#overflow.delete(connection);
  }
}
