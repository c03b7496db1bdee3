/*
 * A monitor connection's view of the bus: a copy of every signal (of the chosen groups), in bus
 * order, decoded but not validated (a monitor knows no contracts). Buffering and backpressure are a
 * subscription's (see subscription.ts): at the bound reading pauses, and the daemon evicts a monitor
 * that stays full rather than slowing anyone down.
 */

import { kept, type SignalMessage } from '@chorus/protocol';
import type { ChorusError, PayloadValidationError } from './errors.js';
import {
  type SignalMeta,
  type SubscriptionEndReason,
  type SubscriptionGap,
  type SubscriptionHost,
  SubscriptionImpl,
  type SubscriptionLimits,
} from './subscription.js';

/**
 * One signal seen by a monitor.
 *
 * @example
 * ```ts
 * for await (const { group, signal, payload, meta } of monitor) console.log(meta.seq, group, signal, payload);
 * ```
 */
export interface MonitoredSignal {
  readonly group: string;
  readonly signal: string;
  /** The decoded payload (MessagePack → JS), not validated. */
  readonly payload: unknown;
  readonly meta: SignalMeta;
}

/**
 * What a monitor connection receives: every signal of the bus (or of the chosen groups), in bus
 * order. Iterate it (one iterator at a time). Made by `bus.becomeMonitor()` or `connect({ monitor })`.
 *
 * @example
 * ```ts
 * const bus = await connect({ monitor: { groups: ['org.example.Battery'] } });
 * for await (const message of bus.monitor!) console.log(message.meta.seq, message.signal, message.payload);
 * ```
 */
export interface Monitor extends AsyncIterable<MonitoredSignal> {
  /** The groups watched; undefined: all of them (including `org.chorus.Bus`). */
  readonly groups: readonly string[] | undefined;
  /** Whether the monitor ended (the bus was closed or lost, or it was evicted). */
  readonly ended: boolean;
  /** A payload could not be decoded; the message is skipped. */
  on(event: 'invalid', handler: (error: PayloadValidationError, meta: SignalMeta) => void): () => void;
  /** The monitor ended; `error` is set when the connection was lost (or evicted). */
  on(
    event: 'closed',
    handler: (reason: SubscriptionEndReason, error: ChorusError | undefined) => void,
  ): () => void;
  /**
   * The bus reconnected and is a monitor again: signals after `lastSeq` and before `startSeq`
   * were not seen (group `'*'`; the group numbers do not apply).
   */
  on(event: 'gap', handler: (gap: SubscriptionGap) => void): () => void;
}

type Raw = { readonly message: SignalMessage; readonly payload: Uint8Array };

/** The monitor; `Monitor` is its public face. */
export class MonitorImpl implements Monitor {
  readonly groups: readonly string[] | undefined;
  readonly #sub: SubscriptionImpl;
  readonly #watched: ReadonlySet<string> | undefined;
  /** Signals received between sending `monitor` and its `ok` (undefined once started). */
  #early: Raw[] | undefined = [];

  constructor(groups: readonly string[] | undefined, host: SubscriptionHost, limits: SubscriptionLimits) {
    this.groups = groups === undefined ? undefined : Object.freeze([...groups]);
    this.#watched = groups === undefined ? undefined : new Set(groups);
    this.#sub = new SubscriptionImpl('*', undefined, host, limits);
  }

  get ended(): boolean {
    return this.#sub.ended;
  }

  /** Whether a signal of `group` is the monitor's. */
  watches(group: string): boolean {
    return this.#watched === undefined || this.#watched.has(group);
  }

  deliver(message: SignalMessage, payload: Uint8Array): void {
    if (this.#early !== undefined) this.#early.push({ message, payload: kept(payload) });
    else this.#sub.deliver(message, payload);
  }

  /** The daemon confirmed: what arrived meanwhile is the start of the stream. */
  start(startSeq: number): void {
    const early = this.#early ?? [];
    this.#early = undefined;
    this.#sub.start(startSeq, 0);
    for (const { message, payload } of early) this.#sub.deliver(message, payload);
  }

  /** The daemon refused: hands back what arrived meanwhile (it belongs to the memberships). */
  abandon(): Raw[] {
    const early = this.#early ?? [];
    this.#early = undefined;
    this.#sub.end('left');
    return early;
  }

  end(reason: SubscriptionEndReason, error?: ChorusError): void {
    this.#sub.end(reason, error);
  }

  /** The connection was lost: nothing arrives until the monitor is restarted. */
  suspend(): void {
    this.#sub.suspend();
  }

  /** A new connection is a monitor again from `startSeq`: reports the gap. */
  restarted(startSeq: number): SubscriptionGap {
    return this.#sub.rejoined(startSeq, undefined);
  }

  on(event: 'invalid' | 'closed' | 'gap', handler: (...args: never[]) => void): () => void {
    return this.#sub.on(event, handler);
  }

  [Symbol.asyncIterator](): AsyncIterator<MonitoredSignal> {
    const inner = this.#sub[Symbol.asyncIterator]();
    return {
      next: async (): Promise<IteratorResult<MonitoredSignal>> => {
        const result = await inner.next();
        if (result.done === true) return { done: true, value: undefined };
        const { signal, payload, meta } = result.value;
        return { done: false, value: { group: meta.group, signal, payload, meta } };
      },
      return: async (): Promise<IteratorResult<MonitoredSignal>> => {
        await inner.return?.();
        return { done: true, value: undefined };
      },
    };
  }
}
