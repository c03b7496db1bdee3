import type { EngineError } from './errors.js';
import type { LazyFields } from './filter.js';
import type { Accepted, ConnectionId, EmitInput, EmitOutcome } from './message.js';
import type { Connection, Group, PendingEmit } from './records.js';

/** What flow control asks of the engine that owns it. */
export interface FlowHost<TPayload> {
  /** Tries a blocked emit again: accepted, blocked again, or thrown (its group closed, …). */
  attempt(pending: PendingEmit<TPayload>): EmitOutcome;
  /** Evicts one connection past its queue's ceiling; false if there is none. */
  evictOverflowed(): boolean;
  /** Reports a blocked emit's outcome to its sender, which is still connected. */
  settled(sender: ConnectionId, outcome: Accepted | EngineError): void;
}

/**
 * Blocked emits (`onFull: 'block'`) and the stall clocks of the recipients they wait on.
 *
 *   #pending   every blocked emit, oldest first: room goes to them in the order they blocked
 *   #retry ⊆ #pending (at the next settle)   those whose recipients or group changed since
 *
 * A blocked emit is linked to the recipients that had no room (see records.ts); a recipient's
 * stall clock runs while it holds up at least one and has taken nothing since.
 */
export class FlowControl<TPayload> {
  readonly #host: FlowHost<TPayload>;
  readonly #pending = new Set<PendingEmit<TPayload>>();
  /** Blocked emits to try again once the current operation is over (never re-entrantly). */
  readonly #retry = new Set<PendingEmit<TPayload>>();
  #settling = false;

  constructor(host: FlowHost<TPayload>) {
    this.#host = host;
  }

  /** Whether blocked emits wait to be tried again. */
  get retrying(): boolean {
    return this.#retry.size > 0;
  }

  /** Blocked emits waiting for room. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * A new emit (`pending` undefined) or a retried one found `full` recipients: it waits on
   * them, and the clocks of those not already holding something up start at `now`.
   */
  block(
    sender: Connection<TPayload>,
    group: Group<TPayload>,
    input: EmitInput<TPayload>,
    fields: LazyFields,
    pending: PendingEmit<TPayload> | undefined,
    full: Connection<TPayload>[],
    now: number,
  ): void {
    const waiting = pending ?? { sender, group, input, fields, waitingOn: [] };
    const before = waiting.waitingOn;
    waiting.waitingOn = full;
    for (const connection of full) {
      connection.blocking.add(waiting);
      connection.stalledSince ??= now;
    }
    for (const connection of before) if (!full.includes(connection)) release(connection, waiting);
    if (pending === undefined) {
      sender.pending = waiting;
      this.#pending.add(waiting);
    }
  }

  /** The group's members changed or it closed: its blocked emits are tried again. */
  retryGroup(group: Group<TPayload>): void {
    for (const pending of this.#pending) if (pending.group === group) this.#retry.add(pending);
  }

  /** `connection` took from its queue: the emits it held up are tried again, its clock stops. */
  taken(connection: Connection<TPayload>): void {
    connection.stalledSince = undefined;
    for (const pending of connection.blocking) this.#retry.add(pending);
  }

  /** `connection` is going: its own blocked emit goes with it, unreported. */
  cancel(connection: Connection<TPayload>): void {
    const own = connection.pending;
    if (own === undefined) return;
    connection.pending = undefined;
    this.#pending.delete(own);
    this.#retry.delete(own);
    for (const c of own.waitingOn) release(c, own);
  }

  /** `connection` is gone: the emits it held up are tried again without it. */
  unblock(connection: Connection<TPayload>): void {
    for (const pending of connection.blocking) this.#retry.add(pending);
    connection.blocking.clear();
  }

  /** Adds to `into` the recipients that have held up a blocked emit for `timeoutMs` without taking. */
  stalled(now: number, timeoutMs: number, into: Set<Connection<TPayload>>): void {
    for (const pending of this.#pending) {
      for (const connection of pending.waitingOn) {
        if (connection.stalledSince !== undefined && now - connection.stalledSince >= timeoutMs) {
          into.add(connection);
        }
      }
    }
  }

  /**
   * Tries blocked emits again, oldest first, until none can make progress, and evicts the
   * connections past their queue's ceiling: here, once the operation that overfilled them is
   * over, so that no eviction's own signals and notices cut into the middle of a fan-out.
   */
  settle(): void {
    if (this.#settling) return;
    this.#settling = true;
    try {
      for (;;) {
        while (this.#retry.size > 0) {
          let progressed = false;
          for (const pending of this.#pending) {
            if (!this.#retry.has(pending)) continue;
            this.#retry.delete(pending);
            progressed = true;
            this.#retryOne(pending);
          }
          if (!progressed) this.#retry.clear();
        }
        // Evicting one may retry emits or overfill others: so one at a time, then retry again.
        if (!this.#host.evictOverflowed()) break;
      }
    } finally {
      this.#settling = false;
    }
  }

  #retryOne(pending: PendingEmit<TPayload>): void {
    const { sender } = pending;
    let outcome: EmitOutcome | EngineError;
    try {
      outcome = this.#host.attempt(pending);
    } catch (error) {
      outcome = error as EngineError;
    }
    if (!(outcome instanceof Error) && outcome.status === 'blocked') return;
    for (const connection of pending.waitingOn) release(connection, pending);
    this.#pending.delete(pending);
    if (sender.pending === pending) sender.pending = undefined;
    if (!sender.gone) this.#host.settled(sender.id, outcome);
  }
}

/** `connection` no longer holds up `pending`; its stall clock stops once it holds up nothing. */
function release<TPayload>(connection: Connection<TPayload>, pending: PendingEmit<TPayload>): void {
  connection.blocking.delete(pending);
  if (connection.blocking.size === 0) connection.stalledSince = undefined;
}
