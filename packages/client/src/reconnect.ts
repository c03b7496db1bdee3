/*
 * Reconnection: the bus's connection and its life, as one state machine. It owns the current
 * connection, holds the app's requests while there is none (held-requests.ts), and puts back
 * on each new connection what the bus had, part by part.
 *
 *   connecting ──welcomed──▶ open ──lost──▶ reconnecting ──restored──▶ open
 *       │                     │                 │
 *       └── failed ───────────┴── closed ───────┴── closed, or gave up ──▶ ended
 *
 *   open ──lost──▶ reconnecting: requests in flight reject, new ones are held, subscriptions are
 *                  suspended, calls being served are aborted; 'disconnected'
 *     ┌──▶ wait backoffDelay(attempt) ('reconnecting') ─▶ dial ─▶ hello (+ joins) ─▶ restore:
 *     │      request names ─▶ create groups ─▶ join the other memberships   (pipelined, in order)
 *     └── failed (attempts left) ◀┘                                        │
 *   ended ◀── maxAttempts, or a refusal that cannot change ('reconnectFailed')
 *   open  ◀── restored: the held requests go out in call order; 'reconnected', 'gap'
 */

import {
  ErrorCode,
  type JoinResult,
  type JoinSpec,
  type Limits,
  type Reply,
  type Welcome,
} from '@chorus/protocol';
import { backoffDelay, isFinalFailure } from './backoff.js';
import type { BusEventSink, Reconnector } from './bus-types.js';
import { Connection, type ConnectionListener, type RequestMessage } from './connection.js';
import { BusError, type ChorusError, ConnectionClosedError, isChorusError, TimeoutError } from './errors.js';
import { HeldRequests, type Link, type WaitBounds } from './held-requests.js';
import type { Settings } from './options.js';
import type { CongestionLevel, SubscriptionGap, SubscriptionImpl } from './subscription.js';
import type { Transport } from './transports/transport.js';
import { type HelloFields, helloMessage } from './wire-requests.js';

// The pure parts (backoff, which failures are final) live in backoff.ts; re-exported for the
// tests that import them from here.
export { backoffDelay } from './backoff.js';

/**
 * What the reconnection puts back, part by part (each implemented by its own module: names.ts,
 * groups.ts, memberships.ts, monitor-mode.ts, service.ts); #restore says in which order.
 */
export interface ReconnectionParts {
  readonly names: {
    /** The waitForName watch, if a reconnection's hello must join it again. */
    helloJoin(): JoinSpec | undefined;
    /** Requests each name again (one step per name). */
    restore(connection: Connection): Promise<void>[];
    /** Joins the watch again unless the hello did. */
    restoreWatch(connection: Connection, inHello: boolean): Promise<void>[];
    reopened(): void;
  };
  readonly groups: {
    lost(error: ChorusError): void;
    /** Creates each owned group again (one step per group). */
    restore(connection: Connection): Promise<void>[];
  };
  readonly memberships: {
    /** What the first hello joins (`connect({ join })`). */
    autoJoins(): JoinSpec[];
    /** The first welcome. */
    welcomed(joined: readonly JoinResult[]): void;
    /** Every welcome of a federated daemon: the connection's `origin`. */
    connected(origin: string): void;
    suspend(): void;
    /** What a reconnection's hello joins again. */
    helloJoins(): { specs: JoinSpec[]; subs: (SubscriptionImpl | undefined)[] };
    rejoinedInHello(
      sub: SubscriptionImpl,
      startSeq: number,
      startGroupSeq: number,
    ): SubscriptionGap | undefined;
    /** Joins again what the hello did not (one step per membership). */
    restore(
      connection: Connection,
      inHello: ReadonlySet<SubscriptionImpl | undefined>,
      gaps: SubscriptionGap[],
    ): Promise<void>[];
    leaveStale(connection: Connection, inHello: ReadonlySet<SubscriptionImpl | undefined>): void;
    /** The groups whose memberships still wait for their group. */
    pending(): string[];
    retryPending(): void;
  };
  readonly monitor: {
    readonly active: boolean;
    suspend(): void;
    restore(connection: Connection): Promise<SubscriptionGap>;
  };
  readonly services: { abortAll(reason: string): void };
}

/** What the reconnection needs from the bus. */
export interface ReconnectionHost {
  readonly settings: Settings;
  /** How to reconnect; undefined: the bus ends with its first connection. */
  readonly reconnector: Reconnector | undefined;
  readonly events: BusEventSink;
  /** What every connection reports that is not about the connection itself. */
  readonly listener: Pick<ConnectionListener, 'signal' | 'groupClosed' | 'invoke' | 'abort' | 'error'>;
  /** The bus ended: everything ends with `error` (undefined after `close()`). */
  ended(error: ChorusError | undefined): void;
  /** A new connection became the current one (the first, or a reconnection's). */
  attached(): void;
}

/**
 * `connecting`: the first handshake; `open`; `reconnecting`: the connection was lost, a new one is
 * being opened and restored (app requests are held); `ended`: for good.
 */
type State = 'connecting' | 'open' | 'reconnecting' | 'ended';

/** One reconnection attempt's handshake: what its hello joins, and what the welcome told. */
type Reopening = {
  readonly specs: JoinSpec[];
  /** The subscription each spec joins again (undefined: the waitForName watch). */
  readonly subs: (SubscriptionImpl | undefined)[];
  readonly gaps: SubscriptionGap[];
  lastSeq: number | undefined;
  startSeq: number;
};

/** The connection of one bus, through its losses. */
export class Reconnection implements Link {
  readonly #host: ReconnectionHost;
  #parts!: ReconnectionParts;
  /** The current connection: replaced by a new one each time the bus reconnects. */
  #connection!: Connection;
  #state: State = 'connecting';
  /** `close()` or `abort()` was called: nothing reconnects any more. */
  #closing = false;
  /** Aborts the reconnection in progress (its backoff wait, its transport, its handshake). */
  readonly #stop = new AbortController();
  #hello: HelloFields = {};
  /** App requests made while reconnecting, sent in call order once the bus is restored. */
  readonly #held = new HeldRequests();
  /** Set while a reconnection's handshake is in flight; the welcome fills it in. */
  #reopening: Reopening | undefined;
  /** The last bus sequence number received, for the bus's gap. */
  #lastSeq: number | undefined;
  /** Congestion levels of the subscriptions, replayed to each new connection. */
  readonly #congested = new Map<object, CongestionLevel>();
  #name = '';
  #limits: Readonly<Limits> = { maxFrameBytes: 0, maxQueueBytes: 0 };

  constructor(host: ReconnectionHost) {
    this.#host = host;
  }

  /**
   * Takes the first connection, over `transport`, and the parts to restore after a loss. Apart
   * from the constructor because the parts send through this reconnection (`Link`).
   */
  start(transport: Transport, parts: ReconnectionParts): void {
    this.#parts = parts;
    this.#attach(transport);
  }

  get name(): string {
    return this.#name;
  }

  get limits(): Readonly<Limits> {
    return this.#limits;
  }

  get connection(): Connection {
    return this.#connection;
  }

  get live(): Connection | undefined {
    return this.#state === 'reconnecting' ? undefined : this.#connection;
  }

  /** Whether the bus was closed (or is closing): nothing new may start. */
  get over(): boolean {
    return this.#closing || this.#state === 'ended';
  }

  /** The first handshake: sends `hello` (with the autojoins) and waits for the welcome. */
  async open(hello: HelloFields): Promise<void> {
    this.#hello = hello;
    await this.#connection.open(helloMessage(hello, this.#parts.memberships.autoJoins()));
  }

  /** The first handshake is done: from now on a lost connection is reconnected rather than the end. */
  opened(): void {
    if (this.#state === 'connecting') this.#state = 'open';
  }

  /** `close()` begins: nothing reconnects any more. */
  stop(): void {
    this.#closing = true;
    this.#stop.abort();
  }

  /** Closes the connection (after what it has sent is answered). */
  async close(): Promise<void> {
    this.stop();
    // While reconnecting there is no connection to drain: what waits for one fails now.
    if (this.#state === 'reconnecting') this.#end(undefined);
    await this.#connection.close();
  }

  /** Ends the connection at once (a failed or cancelled connect). */
  abort(error: ChorusError): Promise<void> {
    this.stop();
    const closed = this.#connection.abort(error);
    this.#end(error);
    return closed;
  }

  whenOpen<T>(send: (connection: Connection) => T | Promise<T>, bounds?: WaitBounds): Promise<T> {
    if (this.#state !== 'reconnecting') {
      try {
        return Promise.resolve(send(this.#connection));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#held.hold(send, bounds);
  }

  request(message: RequestMessage, payload?: Uint8Array): Promise<Reply> {
    return this.whenOpen((connection) => connection.request(message, payload));
  }

  readonly congestion = (sub: object, level: CongestionLevel): void => {
    if (level === 0) this.#congested.delete(sub);
    else this.#congested.set(sub, level);
    // A new connection must read its handshake and the answers of the restore: it gets the levels
    // once it is open (see #reopened).
    if (this.#state !== 'reconnecting') this.#connection.setCongestion(sub, level);
  };

  /** Makes the connection over `transport` the current one. */
  #attach(transport: Transport): Connection {
    const { listener } = this.#host;
    const route = listener.signal;
    const connection: Connection = new Connection(
      transport,
      {
        welcome: (message) => this.#onWelcome(message),
        signal: (message, payload) => {
          // A federated group's replayed signal (seq 0) has no place in the bus order.
          if (message.seq > 0) this.#lastSeq = message.seq;
          route(message, payload);
        },
        groupClosed: listener.groupClosed,
        invoke: listener.invoke,
        abort: listener.abort,
        error: listener.error,
        closed: (error) => this.#onClosed(connection, error),
      },
      this.#host.settings,
    );
    this.#connection = connection;
    this.#host.attached();
    return connection;
  }

  #onWelcome(message: Welcome): void {
    this.#name = message.name;
    this.#limits = message.limits;
    if (message.origin !== undefined) this.#parts.memberships.connected(message.origin);
    const reopening = this.#reopening;
    if (reopening === undefined) {
      this.#parts.memberships.welcomed(message.joined);
      return;
    }
    this.#reopening = undefined;
    reopening.lastSeq = this.#lastSeq;
    reopening.startSeq = message.seq + 1;
    this.#lastSeq = undefined;
    // Before any later frame is handled: each gap comes ahead of the messages of the new membership.
    for (const result of message.joined) {
      const sub = reopening.subs[reopening.specs.findIndex((spec) => spec.g === result.g)];
      if (sub === undefined) continue;
      const gap = this.#parts.memberships.rejoinedInHello(sub, result.startSeq, result.startGroupSeq);
      if (gap !== undefined) reopening.gaps.push(gap);
    }
  }

  #onClosed(connection: Connection, error: ChorusError | undefined): void {
    // A connection that failed while the bus reconnects: the attempt sees its requests fail.
    if (connection !== this.#connection || this.#state === 'reconnecting' || this.#state === 'ended') return;
    if (
      error !== undefined &&
      this.#state === 'open' &&
      !this.#closing &&
      this.#host.reconnector !== undefined &&
      !isFinalFailure(error)
    ) {
      this.#lost(error);
      return;
    }
    this.#end(error);
  }

  /** The bus is over: everything ends with `error` (undefined after `close()`). */
  #end(error: ChorusError | undefined): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.#stop.abort();
    this.#held.fail(error ?? new ConnectionClosedError('the bus was closed'));
    this.#host.ended(error);
  }

  /** The connection was lost and the bus reconnects: what lives on the bus is suspended. */
  #lost(error: ChorusError): void {
    this.#state = 'reconnecting';
    const { groups, services, memberships, monitor } = this.#parts;
    groups.lost(error);
    services.abortAll('disconnected');
    memberships.suspend();
    monitor.suspend();
    this.#host.events.emit('disconnected', error);
    void this.#reconnect(error);
  }

  async #reconnect(cause: ChorusError): Promise<void> {
    const settings = this.#host.reconnector?.settings;
    if (settings === undefined) return;
    let last = cause;
    let attempt = 0;
    while (attempt < settings.maxAttempts) {
      attempt++;
      const delayMs = backoffDelay(attempt, settings);
      this.#host.events.emit('reconnecting', attempt, delayMs, last);
      if (!(await this.#sleep(delayMs))) return;
      try {
        // A hello refused for its joins (a group not created again yet, a join the policy now
        // refuses) is tried again at once without them: the memberships are then joined one by one.
        if (!(await this.#reopen(true))) await this.#reopen(false);
        return;
      } catch (error) {
        if (this.#closing || this.#state !== 'reconnecting') return;
        last = isChorusError(error)
          ? error
          : new ConnectionClosedError(`cannot reconnect: ${String(error)}`, { cause: error });
        if (isFinalFailure(last)) break;
      }
    }
    const failure = new ConnectionClosedError(
      `gave up reconnecting after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${last.message}`,
      { cause: last },
    );
    this.#host.events.emit('reconnectFailed', failure);
    this.#end(failure);
    void this.#connection.abort(failure);
  }

  /** Waits `ms`; false if the bus was closed meanwhile. */
  #sleep(ms: number): Promise<boolean> {
    const stop = this.#stop.signal;
    if (stop.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        stop.removeEventListener('abort', done);
        resolve(!stop.aborted);
      };
      const timer = setTimeout(done, ms);
      stop.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * One attempt: a new transport, the handshake, the restore, all within `timeoutMs`. Resolves
   * true once the bus is open again; false when a hello with joins was refused (try without);
   * rejects with why the attempt failed.
   */
  async #reopen(withJoins: boolean): Promise<boolean> {
    const reconnector = this.#host.reconnector;
    if (reconnector === undefined) throw new ConnectionClosedError('this bus does not reconnect');
    const attempt = new AbortController();
    const stop = (): void =>
      attempt.abort(new ConnectionClosedError('the bus was closed while reconnecting'));
    if (this.#stop.signal.aborted) stop();
    this.#stop.signal.addEventListener('abort', stop, { once: true });
    const { timeoutMs } = this.#host.settings;
    const timer =
      timeoutMs > 0
        ? setTimeout(
            () => attempt.abort(new TimeoutError(`not reconnected within ${timeoutMs} ms`, timeoutMs)),
            timeoutMs,
          )
        : undefined;
    let connection: Connection | undefined;
    const onAbort = (): void => {
      void connection?.abort(attempt.signal.reason as ChorusError);
    };
    attempt.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const transport = await reconnector.dial(attempt.signal);
      if (attempt.signal.aborted) {
        void transport.close().catch(() => undefined);
        throw attempt.signal.reason;
      }
      connection = this.#attach(transport);
      const { specs, subs } = withJoins ? this.#rejoinSpecs() : { specs: [], subs: [] };
      const reopening: Reopening = { specs, subs, gaps: [], lastSeq: undefined, startSeq: 0 };
      this.#reopening = reopening;
      try {
        await connection.open(helloMessage(this.#hello, specs));
      } catch (error) {
        const refused = error instanceof BusError && error.code !== ErrorCode.VERSION_MISMATCH;
        if (specs.length > 0 && refused && !attempt.signal.aborted) return false;
        throw error;
      }
      const inHello = new Set(subs);
      await this.#restore(connection, inHello, reopening.gaps);
      if (connection.ended || attempt.signal.aborted) {
        throw attempt.signal.reason ?? new ConnectionClosedError('the connection was lost while restoring');
      }
      this.#reopened(reopening);
      return true;
    } finally {
      this.#reopening = undefined;
      clearTimeout(timer);
      this.#stop.signal.removeEventListener('abort', stop);
      attempt.signal.removeEventListener('abort', onAbort);
    }
  }

  /** What the hello of a reconnection joins: the memberships, and the waitForName watch. */
  #rejoinSpecs(): { specs: JoinSpec[]; subs: (SubscriptionImpl | undefined)[] } {
    const { specs, subs } = this.#parts.memberships.helloJoins();
    const watch = this.#parts.names.helloJoin();
    if (watch !== undefined) {
      specs.push(watch);
      subs.push(undefined);
    }
    return { specs, subs };
  }

  /**
   * Puts back on the new connection what the bus had: a monitor watches again; otherwise the
   * names are requested again, then the groups created again, then the memberships not joined
   * by the hello are joined. Pipelined (sent in that order, answered in that order): the daemon
   * handles a connection's frames in order, so each step finds what the ones before it made.
   * The order matters: under `groupsRequireName` only the primary owner of a name may create
   * groups under it, and a membership of a group of our own needs the group. A refusal concerns
   * its item only; a lost connection rejects (the attempt failed).
   */
  async #restore(
    connection: Connection,
    inHello: ReadonlySet<SubscriptionImpl | undefined>,
    gaps: SubscriptionGap[],
  ): Promise<void> {
    const { names, groups, memberships, monitor } = this.#parts;
    if (monitor.active) {
      gaps.push(await monitor.restore(connection));
      return;
    }
    const steps: Promise<void>[] = [
      // Names before groups (issue 11): a create before its name is refused under groupsRequireName.
      ...names.restore(connection),
      ...groups.restore(connection),
      ...memberships.restore(connection, inHello, gaps),
      ...names.restoreWatch(connection, inHello.has(undefined)),
    ];
    const outcomes = await Promise.allSettled(steps);
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    memberships.leaveStale(connection, inHello);
  }

  /** The new connection is restored: open for the app again. */
  #reopened(reopening: Reopening): void {
    this.#state = 'open';
    for (const [sub, level] of this.#congested) this.#connection.setCongestion(sub, level);
    this.#held.release(this.#connection);
    const { events } = this.#host;
    const { memberships, names } = this.#parts;
    events.emit('reconnected', this.#name);
    events.emit('gap', {
      reason: 'reconnected',
      lastSeq: reopening.lastSeq,
      startSeq: reopening.startSeq,
      groups: reopening.gaps,
      pending: memberships.pending(),
    });
    memberships.retryPending();
    // An owner may have appeared while we were away, unseen by the watch of a waitForName.
    names.reopened();
  }
}
