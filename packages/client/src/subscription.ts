/*
 * A membership of the connection in one group, as the app sees it: typed handlers, an async
 * iterator, and the buffers in between.
 *
 *   daemon ─sig─▶ deliver() ──▶ backlog (raw)  ── until the first handler/iterator is attached
 *                                    │ flush (next microtask, so every handler registered in the
 *                                    ▼         same tick sees the first message)
 *                               dispatch(): decode + validate once ─▶ 'invalid' listeners
 *                                    ├──▶ signal handlers (synchronously)
 *                                    └──▶ queue (validated) ──▶ iterator, while one is active
 *
 * Buffers are bounded: at the bound the connection stops reading (see Connection#updateFlow), so
 * the daemon feels a slow consumer instead of the SDK growing without limit.
 */

import { decodePayload, type GroupClosedReason, kept, type SignalMessage } from '@chorus/protocol';
import { type AnyGroupContract, payloadError, type SignalName, type SignalPayload } from './contract.js';
import { type ChorusError, InvalidArgumentError, PayloadValidationError } from './errors.js';
import { Listeners } from './listeners.js';

/**
 * Where a signal comes from.
 *
 * @example
 * ```ts
 * sub.on('LevelChanged', (payload, meta) => console.log(meta.sender, meta.seq, payload.percent));
 * ```
 */
export interface SignalMeta {
  /** Bus sequence number (orders all signals of the bus). */
  readonly seq: number;
  /** Sequence number within the group. */
  readonly groupSeq: number;
  /** Unique name of the emitter (`:1.N`). */
  readonly sender: string;
  readonly group: string;
  readonly signal: string;
  /** A retained value replayed on join rather than a live emit. */
  readonly retained: boolean;
  /** A federated group's signal: its sequence number in the JetStream stream, the same on every host. */
  readonly fseq?: number;
}

/**
 * What an iterator yields: one variant per signal, so `switch (msg.signal)` narrows `msg.payload`.
 *
 * @example
 * ```ts
 * for await (const msg of sub) if (msg.signal === 'LevelChanged') console.log(msg.payload.percent);
 * ```
 */
export type SignalEnvelope<TContract extends AnyGroupContract = AnyGroupContract> = {
  [TSignal in SignalName<TContract>]: {
    readonly signal: TSignal;
    readonly payload: SignalPayload<TContract, TSignal>;
    readonly meta: SignalMeta;
  };
}[SignalName<TContract>];

/**
 * Why a subscription ended: the daemon's `gclosed` reason, `left` (after `leave()`), or
 * `disconnected` (the bus was closed, with no error, or lost, with the error).
 *
 * @example
 * ```ts
 * sub.on('closed', (reason: SubscriptionEndReason) => reason === 'owner-left' && reconnectLater());
 * ```
 */
export type SubscriptionEndReason = GroupClosedReason | 'left' | 'disconnected';

/**
 * What a subscription missed while the bus was reconnecting: every message of the group after
 * `lastSeq`/`lastGroupSeq` (the last ones delivered before the connection was lost) and before
 * `startSeq`/`startGroupSeq` (where the new membership starts). A daemon that restarted numbers
 * from 1 again, so compare the two sides as "before" and "after", not as one range.
 *
 * @example
 * ```ts
 * sub.on('gap', ({ lastGroupSeq, startGroupSeq }) => console.warn(`missed after ${lastGroupSeq}, resuming at ${startGroupSeq}`));
 * ```
 */
export interface SubscriptionGap {
  readonly group: string;
  /** Bus sequence number of the last message delivered before the loss; undefined if none was. */
  readonly lastSeq: number | undefined;
  /** The same within the group (undefined for a monitor, which spans groups). */
  readonly lastGroupSeq: number | undefined;
  /** The first bus sequence number the new membership can receive. */
  readonly startSeq: number;
  /** The same within the group (0 for a monitor). */
  readonly startGroupSeq: number;
  readonly reason: 'reconnected';
  /**
   * A federated group's subscription, replayed from the stream when it was joined again: only the
   * group's messages with `fseq` after `lastFseq` and before `startFseq` were missed (the stream no
   * longer held them, or they were beyond the daemon's `maxReplayMessages` or the queue's room);
   * everything after them was replayed, in order. A replay that missed nothing reports no gap.
   */
  readonly lastFseq?: number;
  /** See `lastFseq`: the replayed messages and then the live ones have a greater `fseq`. */
  readonly startFseq?: number;
  /** How many messages that was, when the daemon knows (not when the stream removed them). */
  readonly missed?: number;
}

/** What a federated join's `ok` says of its replay (`join.fseq`). */
export interface ReplayResult {
  /** The last stream sequence before the membership: live messages have a greater `fseq`. */
  readonly fseq: number;
  /** Messages after the `fseq` sent and up to this one were not replayed. */
  readonly missedTo: number | undefined;
  readonly missed: number | undefined;
}

/**
 * A membership in a group. Attach handlers with `on`, or iterate it (one iterator at a time), or
 * both. Messages received before the first handler or iterator are held, so none is missed; after
 * that, a message with neither a handler for its signal nor an active iterator is dropped.
 *
 * @example
 * ```ts
 * const sub = await bus.join(Battery);
 * sub.on('LevelChanged', ({ percent }) => console.log(percent));
 * sub.on('invalid', (error) => console.warn(error.issues));
 * sub.on('closed', (reason) => console.log('ended:', reason));
 * ```
 */
export interface Subscription<TContract extends AnyGroupContract = AnyGroupContract>
  extends AsyncIterable<SignalEnvelope<TContract>> {
  /** The group's name. */
  readonly group: string;
  /** The first bus sequence number this subscription can receive (from `join`'s answer or `welcome`). */
  readonly startSeq: number;
  /** The same within the group. */
  readonly startGroupSeq: number;
  /** Whether the subscription ended (left, group closed, bus closed or lost). */
  readonly ended: boolean;
  /**
   * The bus reconnected and the membership was joined again: what it may have missed. Reported
   * in order with the messages: after the last one of the lost connection, before the first of
   * the new one. Without a listener it goes unnoticed (the subscription goes on either way).
   */
  on(event: 'gap', handler: (gap: SubscriptionGap) => void): () => void;
  /**
   * A payload failed validation (or decoding); the message is skipped and the subscription goes on.
   * Without a listener such messages are dropped silently.
   */
  on(event: 'invalid', handler: (error: PayloadValidationError, meta: SignalMeta) => void): () => void;
  /** The subscription ended; `error` is set when the connection was lost. Registered late, it fires at once. */
  on(
    event: 'closed',
    handler: (reason: SubscriptionEndReason, error: ChorusError | undefined) => void,
  ): () => void;
  /**
   * Calls `handler` for each valid `signal`. Handlers run synchronously as messages arrive; a
   * throwing handler does not stop delivery (its error is rethrown asynchronously). Returns the
   * function that removes the handler.
   */
  on<TSignal extends SignalName<TContract>>(
    signal: TSignal,
    handler: (payload: SignalPayload<TContract, TSignal>, meta: SignalMeta) => void,
  ): () => void;
  /**
   * Leaves the group. Nothing is delivered afterwards, not even what was buffered; iterators finish.
   * Resolves once the daemon confirmed, or at once when the membership is already gone. Idempotent.
   */
  leave(): Promise<void>;
}

/** What a subscription needs from its bus. */
export interface SubscriptionHost {
  /** Buffer level changed: 0 below the bound, 1 at it, 2 at twice it (see Connection#updateFlow). */
  congestion(subscription: object, level: CongestionLevel): void;
  /** Sends `leave`; resolves when the membership is gone. */
  leave(group: string, subscription: object): Promise<void>;
  /**
   * An autojoined membership that the app never claimed with `bus.join()` holds
   * `maxHeldMessages`: it must not hold the bus up (see {@link SubscriptionImpl.holdUnclaimed}).
   */
  unclaimedOverflow?(subscription: SubscriptionImpl, held: number): void;
  /** A payload failed the contract and no `invalid` listener heard of it (once per signal). */
  unheard?(error: PayloadValidationError): void;
}

/** 0: room; 1: at the bound; 2: at twice the bound. */
export type CongestionLevel = 0 | 1 | 2;

/** Buffer bounds of one subscription (messages). */
export interface SubscriptionLimits {
  maxBufferedMessages: number;
  maxHeldMessages: number;
}

type RawSignal = { readonly message: SignalMessage; readonly payload: Uint8Array; readonly arrival: number };
/** A gap held in the backlog, so it reaches its listeners between the messages it separates. */
type HeldGap = { readonly gap: SubscriptionGap; readonly arrival: number };
type Envelope = { readonly signal: string; readonly payload: unknown; readonly meta: SignalMeta };
type Waiter = { resolve: (result: IteratorResult<Envelope>) => void; reject: (error: unknown) => void };
type End = { readonly reason: SubscriptionEndReason; readonly error: ChorusError | undefined };

/** Counts held signals in arrival order (process-wide), so held backlogs can be merged in wire order. */
let arrivals = 0;

/** The subscription; `Subscription<T>` is its public face. */
export class SubscriptionImpl implements Subscription {
  /** Subscriptions whose held messages go out in the next flush: one flush for all of them. */
  static readonly #flushing = new Set<SubscriptionImpl>();

  readonly group: string;
  #contract: AnyGroupContract | undefined;
  #startSeq = 0;
  #startGroupSeq = 0;
  readonly #host: SubscriptionHost;
  readonly #limits: SubscriptionLimits;

  #backlog: (RawSignal | HeldGap)[] = [];
  #consumed = false;
  #flushScheduled = false;

  readonly #handlers = new Map<string, Listeners<[unknown, SignalMeta]>>();
  readonly #invalid = new Listeners<[PayloadValidationError, SignalMeta]>();
  /** Signals whose invalid payloads were reported to the host, unheard: once each. */
  #unheard: Set<string> | undefined;
  readonly #closedListeners = new Listeners<[SubscriptionEndReason, ChorusError | undefined]>();
  readonly #gapListeners = new Listeners<[SubscriptionGap]>();

  #iterating = false;
  #queue: Envelope[] = [];
  #waiters: Waiter[] = [];

  /** False once left or ended: later signals are dropped. */
  #accepting = true;
  #end: End | undefined;
  #endAnnounced = false;
  #leaving: Promise<void> | undefined;
  #level: CongestionLevel = 0;
  /** Autojoined and not yet handed to the app by `bus.join()`. */
  #unclaimed = false;

  /** The last message accepted since the membership (re)started, for the next gap. */
  // Two numbers rather than an object: set once per delivered signal. #lastSeq -1: none yet.
  #lastSeq = -1;
  #lastGroupSeq = 0;
  /**
   * A federated group's: the last stream sequence received, or where the membership started (-1:
   * not federated, or not known). A reconnection sends it to be replayed what followed.
   */
  #fseq = -1;
  /**
   * Set while the membership is being joined again after a reconnection: signals that arrive
   * before the join's answer (a retained value) wait here, behind the gap that answer reports.
   */
  #suspended: { message: SignalMessage; payload: Uint8Array }[] | undefined;

  constructor(
    group: string,
    contract: AnyGroupContract | undefined,
    host: SubscriptionHost,
    limits: SubscriptionLimits,
  ) {
    this.group = group;
    this.#contract = contract;
    this.#host = host;
    this.#limits = limits;
  }

  get startSeq(): number {
    return this.#startSeq;
  }

  get startGroupSeq(): number {
    return this.#startGroupSeq;
  }

  get ended(): boolean {
    return this.#end !== undefined;
  }

  /** A federated group's last stream sequence received (or the membership's start); -1: none. */
  get fseq(): number {
    return this.#fseq;
  }

  /** Where the membership starts (from `join`'s answer or `welcome.joined`; `fseq`: a federated group's). */
  start(startSeq: number, startGroupSeq: number, fseq?: number): void {
    this.#startSeq = startSeq;
    this.#startGroupSeq = startGroupSeq;
    if (fseq !== undefined && fseq > this.#fseq) this.#fseq = fseq;
  }

  /**
   * An autojoined subscription is handed to the app by `bus.join(target)`; the target's contract (or
   * none, for a plain name) then validates everything, including the messages held so far.
   */
  claim(contract: AnyGroupContract | undefined): void {
    this.#contract = contract;
    this.#unclaimed = false;
  }

  /**
   * Autojoined (`connect({ join })`): held until `bus.join()` claims it. Held past
   * `maxHeldMessages` it reports `unclaimedOverflow` instead of pausing the connection: a
   * forgotten `join()` must cost the app that membership, never stall the group's emitters.
   */
  holdUnclaimed(): void {
    this.#unclaimed = true;
  }

  /**
   * The connection was lost (or a new one is joining again): until `rejoined`, signals wait.
   * Anything that waited from an earlier attempt belongs to a connection that is gone.
   */
  suspend(): void {
    this.#suspended = [];
  }

  /**
   * The membership was joined again, starting at these numbers (`startGroupSeq` undefined for a
   * monitor). Reports the gap in order, then delivers what arrived meanwhile. Returns the gap.
   */
  rejoined(startSeq: number, startGroupSeq: number | undefined, fseq?: number): SubscriptionGap {
    const gap = this.#gap(startSeq, startGroupSeq);
    this.#restart(startSeq, startGroupSeq, fseq, gap);
    return gap;
  }

  /**
   * A federated membership joined again with a replay: the missed messages the daemon could not
   * replay are the gap (none: no gap); the replayed ones follow, then the live ones.
   */
  replayed(startSeq: number, startGroupSeq: number, replay: ReplayResult): SubscriptionGap | undefined {
    const { missedTo, missed } = replay;
    const lastFseq = this.#fseq;
    const gap =
      missedTo === undefined
        ? undefined
        : {
            ...this.#gap(startSeq, startGroupSeq),
            lastFseq,
            startFseq: missedTo + 1,
            ...(missed === undefined ? {} : { missed }),
          };
    // Reported: a later replay starts after it. The replayed messages move it on as they come.
    // A missedTo below it: the stream never reached it (it was created again); count from there.
    if (missedTo !== undefined) this.#fseq = missedTo;
    this.#restart(startSeq, startGroupSeq, undefined, gap);
    return gap;
  }

  #gap(startSeq: number, startGroupSeq: number | undefined): SubscriptionGap {
    const delivered = this.#lastSeq >= 0;
    return {
      group: this.group,
      lastSeq: delivered ? this.#lastSeq : undefined,
      lastGroupSeq: startGroupSeq === undefined || !delivered ? undefined : this.#lastGroupSeq,
      startSeq,
      startGroupSeq: startGroupSeq ?? 0,
      reason: 'reconnected',
    };
  }

  /** Starts again: the gap (if any) in order, then what arrived meanwhile. */
  #restart(
    startSeq: number,
    startGroupSeq: number | undefined,
    fseq: number | undefined,
    gap: SubscriptionGap | undefined,
  ): void {
    this.#lastSeq = -1;
    this.start(startSeq, startGroupSeq ?? 0, fseq);
    const waiting = this.#suspended ?? [];
    this.#suspended = undefined;
    if (this.#accepting && gap !== undefined) {
      if (!this.#consumed || this.#backlog.length > 0 || SubscriptionImpl.#flushing.size > 0) {
        // [GUARANTEE: order] behind what is held, ahead of what the new connection brings.
        this.#backlog.push({ gap, arrival: ++arrivals });
        if (this.#consumed) this.#scheduleFlush();
      } else {
        this.#gapListeners.emit(gap);
      }
    }
    for (const { message, payload } of waiting) this.deliver(message, payload);
  }

  /** A signal for this membership arrived (called by the bus, in wire order). */
  deliver(message: SignalMessage, payload: Uint8Array): void {
    if (!this.#accepting) return;
    if (this.#suspended !== undefined) {
      // Held past this read: its own bytes, not a view of the read buffer.
      this.#suspended.push({ message, payload: kept(payload) });
      return;
    }
    if (message.fseq === undefined || message.seq > 0) {
      this.#lastSeq = message.seq;
      this.#lastGroupSeq = message.gseq;
    }
    // A federated group's: a replayed signal (seq 0) too, so that the next replay follows it. Not a
    // retained value: it comes before the replayed ones with a later fseq, and would skip them.
    if (message.fseq !== undefined && message.r !== true && message.fseq > this.#fseq)
      this.#fseq = message.fseq;
    if (!this.#consumed || this.#backlog.length > 0 || SubscriptionImpl.#flushing.size > 0) {
      // [GUARANTEE: order] once anything is held, later messages queue behind it (also behind
      // what other subscriptions are about to flush).
      this.#backlog.push({ message, payload: kept(payload), arrival: ++arrivals });
      this.#updateLevel();
      if (this.#consumed) this.#scheduleFlush();
      return;
    }
    this.#dispatch(message, payload);
  }

  /** The membership is over (group closed, bus closed or lost); what is buffered is still delivered. */
  end(reason: SubscriptionEndReason, error?: ChorusError): void {
    if (this.#end !== undefined) return;
    this.#accepting = false;
    this.#suspended = undefined;
    this.#end = { reason, error };
    // Nothing more can arrive, so a full buffer must not keep the connection paused.
    this.#updateLevel();
    this.#maybeAnnounceEnd();
  }

  on(event: string, handler: (...args: never[]) => void): () => void {
    if (event === 'invalid') {
      return this.#invalid.add(handler as (error: PayloadValidationError, meta: SignalMeta) => void);
    }
    if (event === 'closed') {
      const typed = handler as (reason: SubscriptionEndReason, error: ChorusError | undefined) => void;
      const end = this.#end;
      if (this.#endAnnounced && end !== undefined) {
        // Registered after the end: tell it anyway, on a microtask as if it had just happened,
        // unless it is removed before that.
        const late = new Listeners<[SubscriptionEndReason, ChorusError | undefined]>();
        const remove = late.add(typed);
        queueMicrotask(() => late.emit(end.reason, end.error));
        return remove;
      }
      const remove = this.#closedListeners.add(typed);
      this.#maybeAnnounceEnd();
      return remove;
    }
    if (event === 'gap') return this.#gapListeners.add(handler as (gap: SubscriptionGap) => void);
    let handlers = this.#handlers.get(event);
    if (handlers === undefined) {
      handlers = new Listeners();
      this.#handlers.set(event, handlers);
    }
    const remove = handlers.add(handler as (payload: unknown, meta: SignalMeta) => void);
    this.#consume();
    return remove;
  }

  leave(): Promise<void> {
    this.#leaving ??= this.#leave();
    return this.#leaving;
  }

  async #leave(): Promise<void> {
    if (this.#end !== undefined) return;
    this.#accepting = false;
    this.#backlog = [];
    this.#queue = [];
    this.#suspended = undefined;
    this.#end = { reason: 'left', error: undefined };
    this.#updateLevel();
    this.#maybeAnnounceEnd();
    await this.#host.leave(this.group, this);
  }

  [Symbol.asyncIterator](): AsyncIterator<Envelope> {
    // One iterator at a time: two would each get a random half of the messages.
    if (this.#iterating)
      throw new InvalidArgumentError(`${this.group}: the subscription is already being iterated`);
    this.#iterating = true;
    this.#consume();
    let finished = false;
    let errorReported = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      this.#iterating = false;
      // [why] nobody reads the queue any more; keeping it would keep reading paused forever.
      this.#queue = [];
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const waiter of waiters) waiter.resolve({ done: true, value: undefined });
      this.#updateLevel();
    };
    return {
      next: (): Promise<IteratorResult<Envelope>> => {
        if (finished) return Promise.resolve({ done: true, value: undefined });
        const envelope = this.#queue.shift();
        if (envelope !== undefined) {
          this.#updateLevel();
          return Promise.resolve({ done: false, value: envelope });
        }
        if (this.#endAnnounced) {
          const error = this.#end?.error;
          finish();
          if (error !== undefined && !errorReported) {
            errorReported = true;
            return Promise.reject(error);
          }
          return Promise.resolve({ done: true, value: undefined });
        }
        return new Promise<IteratorResult<Envelope>>((resolve, reject) => {
          this.#waiters.push({
            resolve,
            reject: (error) => {
              errorReported = true;
              finish();
              reject(error);
            },
          });
        });
      },
      return: (): Promise<IteratorResult<Envelope>> => {
        finish();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  /** A handler or an iterator was attached: what is held gets delivered on the next microtask. */
  #consume(): void {
    if (this.#consumed) return;
    this.#consumed = true;
    if (this.#backlog.length > 0 || this.#end !== undefined) this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    const flushing = SubscriptionImpl.#flushing;
    if (flushing.size === 0) queueMicrotask(() => SubscriptionImpl.#flush());
    flushing.add(this);
  }

  /**
   * Delivers what the scheduled subscriptions hold, merged by arrival: handlers attached to
   * several subscriptions in one tick see their held messages in wire order, not one group's
   * backlog after the other's. [GUARANTEE: order]
   */
  static #flush(): void {
    const subs = [...SubscriptionImpl.#flushing];
    SubscriptionImpl.#flushing.clear();
    const held: [SubscriptionImpl, RawSignal | HeldGap][] = [];
    for (const sub of subs) {
      sub.#flushScheduled = false;
      for (const raw of sub.#backlog) held.push([sub, raw]);
      sub.#backlog = [];
    }
    held.sort((a, b) => a[1].arrival - b[1].arrival);
    for (const [sub, raw] of held) {
      // A handler may leave() mid-flush; the rest of that backlog is then dropped like the queue.
      if (sub.#end?.reason === 'left') continue;
      if ('gap' in raw) sub.#gapListeners.emit(raw.gap);
      else sub.#dispatch(raw.message, raw.payload);
    }
    for (const sub of subs) {
      sub.#updateLevel();
      sub.#maybeAnnounceEnd();
    }
  }

  #dispatch(message: SignalMessage, payload: Uint8Array): void {
    const meta: SignalMeta = {
      seq: message.seq,
      groupSeq: message.gseq,
      sender: message.from,
      group: message.g,
      signal: message.sig,
      retained: message.r === true,
      ...(message.fseq === undefined ? {} : { fseq: message.fseq }),
    };
    let value: unknown;
    try {
      value = decodePayload(payload);
    } catch (cause) {
      const issue = { code: 'invalid_encoding', path: [], message: 'the payload is not valid MessagePack' };
      this.#reportInvalid(new PayloadValidationError(message.g, message.sig, [issue], { cause }), meta);
      return;
    }
    const contract = this.#contract;
    if (contract !== undefined) {
      // checkPayload inlined for the valid case: this runs once per delivered signal.
      const result = contract.schemaFor(message.sig)?.safeParse(value);
      if (result?.success !== true) {
        this.#reportInvalid(payloadError(contract, message.sig, result?.error), meta);
        return;
      }
      value = result.data;
    }
    this.#handlers.get(message.sig)?.emit(value, meta);
    if (!this.#iterating) return;
    const envelope: Envelope = { signal: message.sig, payload: value, meta };
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve({ done: false, value: envelope });
      return;
    }
    this.#queue.push(envelope);
    this.#updateLevel();
  }

  /**
   * A payload that failed the contract goes to the `invalid` listeners; with none, the host hears
   * of it once per signal, so that it is never dropped without a trace.
   */
  #reportInvalid(error: PayloadValidationError, meta: SignalMeta): void {
    if (this.#invalid.size > 0) {
      this.#invalid.emit(error, meta);
      return;
    }
    this.#unheard ??= new Set();
    if (this.#unheard.has(meta.signal)) return;
    this.#unheard.add(meta.signal);
    this.#host.unheard?.(error);
  }

  /** Tells iterators and `closed` listeners, once everything held before the end was delivered. */
  #maybeAnnounceEnd(): void {
    const end = this.#end;
    if (end === undefined || this.#endAnnounced) return;
    // Held messages come first: an autojoined group that closed before bus.join() claimed it
    // still delivers what it received, then ends.
    if (this.#backlog.length > 0 || this.#flushScheduled) return;
    this.#endAnnounced = true;
    // Waiters exist only while the queue is empty, so they get the end directly.
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      if (end.error === undefined) waiter.resolve({ done: true, value: undefined });
      else waiter.reject(end.error);
    }
    this.#closedListeners.emit(end.reason, end.error);
  }

  #updateLevel(): void {
    // [GUARANTEE: isolation] an unclaimed autojoin is dropped at its bound, never a cause of backpressure.
    if (this.#unclaimed && this.#accepting && this.#backlog.length >= this.#limits.maxHeldMessages) {
      const held = this.#backlog.length;
      this.#unclaimed = false;
      this.#accepting = false;
      this.#backlog = [];
      this.#end = { reason: 'left', error: undefined };
      this.#endAnnounced = true; // nobody holds it to be told
      this.#host.unclaimedOverflow?.(this, held);
      return;
    }
    let level: CongestionLevel = 0;
    if (this.#accepting) {
      const fill = Math.max(
        this.#backlog.length / this.#limits.maxHeldMessages,
        this.#queue.length / this.#limits.maxBufferedMessages,
      );
      // Hysteresis: once at the bound, stay "full" until half drained, so reading does not flap
      // between pause and resume on every message.
      if (fill >= 2) level = 2;
      else if (fill >= 1 || (this.#level > 0 && fill > 0.5)) level = 1;
    }
    if (level === this.#level) return;
    this.#level = level;
    this.#host.congestion(this, level);
  }
}
