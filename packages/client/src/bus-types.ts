/*
 * The bus's public face: the `Bus` interface and the options and events it takes. `BusImpl`
 * (bus.ts) implements it by handing off to one module per concept.
 */

import type { Limits } from '@chorus/protocol';
import type {
  BusStats,
  ConnectionInfo,
  GroupInfo,
  NameInfo,
  NameReleaseResult,
  NameRequestResult,
} from './bus-contract.js';
import type { AnyGroupContract, MethodInput, MethodName, MethodOutput, SignalName } from './contract.js';
import type { ChorusError, PublishError } from './errors.js';
import type { FilterInput } from './filter.js';
import type { CreateGroupOptions, EmitArgs, EmitResult, Group } from './group.js';
import type { Monitor } from './monitor.js';
import type { ReconnectSettings } from './options.js';
import type { MethodHandlers, Service, UntypedMethodHandler } from './service.js';
import type { SignalMeta, Subscription, SubscriptionGap } from './subscription.js';
import type { Transport } from './transports/transport.js';

/**
 * Options of `bus.join`.
 *
 * @example
 * ```ts
 * await bus.join(Battery, { filter: [{ signal: 'LevelChanged' }, { sender: ':1.4' }] });
 * ```
 */
export interface JoinOptions<TContract extends AnyGroupContract = AnyGroupContract> {
  /** Receive only matching signals (one filter, or several of which any may match). */
  filter?: FilterInput<TContract> | undefined;
}

/**
 * Options of `bus.call`.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * await bus.call(Battery, 'GetLevel', {}, { timeoutMs: 1000, signal: controller.signal, waitForService: true });
 * ```
 */
export interface CallOptions {
  /**
   * The caller's deadline (ms): the call rejects with TimeoutError (TIMEOUT) and the service is
   * told to abort. Default `connect({ callTimeoutMs })` (25 s); 0 = no deadline. With
   * `waitForService`, the time spent waiting counts.
   */
  timeoutMs?: number | undefined;
  /** Abandons the call: it rejects with AbortError (ABORTED) and the service is told to abort. */
  signal?: AbortSignal | undefined;
  /** The name to call (well-known or unique `:1.N`); default: the contract's name. */
  destination?: string | undefined;
  /**
   * When nobody owns the destination (SERVICE_UNKNOWN), wait for an owner (race-free, as
   * `waitForName`) and call again, up to `timeoutMs` (default: the call's whole deadline).
   */
  waitForService?: boolean | { readonly timeoutMs?: number | undefined } | undefined;
}

/**
 * Flags of `bus.requestName`, as in D-Bus.
 *
 * @example
 * ```ts
 * await bus.requestName('org.example.Battery', { allowReplacement: true, doNotQueue: true });
 * ```
 */
export interface RequestNameOptions {
  /** Another connection asking with `replaceExisting` may take the name from us. */
  allowReplacement?: boolean | undefined;
  /** Take the name from its owner if the owner allowed replacement. */
  replaceExisting?: boolean | undefined;
  /** Do not wait in the name's queue: resolve `exists` instead of `in-queue`. */
  doNotQueue?: boolean | undefined;
}

/**
 * Options of `bus.waitForName`.
 *
 * @example
 * ```ts
 * const owner = await bus.waitForName('org.example.Battery', { timeoutMs: 5000 });
 * ```
 */
export interface WaitForNameOptions {
  /** Give up after this long (ms) with TimeoutError. Default 0: wait until the signal aborts. */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * What the bus missed while it reconnected (its `gap` event): the bus sequence numbers after
 * `lastSeq` and before `startSeq`, and the gap of each subscription joined again. A daemon that
 * restarted numbers from 1 again, so `startSeq` may be below `lastSeq`.
 *
 * @example
 * ```ts
 * bus.on('gap', ({ lastSeq, startSeq, groups }) => console.warn(`missed ${lastSeq} → ${startSeq} in`, groups.map((g) => g.group)));
 * ```
 */
export interface BusGap {
  readonly reason: 'reconnected';
  /** The last bus sequence number received before the connection was lost; undefined if none. */
  readonly lastSeq: number | undefined;
  /** The first bus sequence number the new connection can receive (`welcome.seq + 1`). */
  readonly startSeq: number;
  /** The gaps of the subscriptions joined again (each also reported on its subscription). */
  readonly groups: readonly SubscriptionGap[];
  /**
   * Groups whose subscriptions could not be joined again yet, because nobody has created the
   * group again (its owner has not reconnected): the bus keeps trying, with backoff, and each
   * subscription reports its gap once joined.
   */
  readonly pending: readonly string[];
}

/** How a bus opens a new transport after losing its connection, and how long it keeps trying. */
export interface Reconnector {
  readonly settings: ReconnectSettings;
  /** Opens a transport to the same address; rejects with the signal's reason once it aborts. */
  dial(signal: AbortSignal): Promise<Transport>;
}

/**
 * A connection to the bus. Made by `connect()`.
 *
 * @example
 * ```ts
 * const bus = await connect();
 * const sub = await bus.join(Battery);
 * for await (const { payload } of sub) console.log(payload.percent);
 * await bus.close();
 * ```
 */
export interface Bus {
  /** This connection's unique name on the bus, `:1.N`. */
  readonly name: string;
  /** The daemon's limits from the handshake (`maxFrameBytes`, `maxQueueBytes`, ...). */
  readonly limits: Readonly<Limits>;
  /**
   * Settles when the bus has ended: with undefined after `close()`, else with why it ended
   * (ConnectionClosedError, a fatal BusError such as SLOW_CONSUMER, ...). A bus that reconnects
   * ends only when it gives up (`reconnectFailed`), with a ConnectionClosedError. Never rejects.
   */
  readonly closed: Promise<ChorusError | undefined>;
  /** Creates a typed group owned by this connection; sends the contract's JSON Schema for tools. */
  createGroup<TContract extends AnyGroupContract>(
    contract: TContract,
    options?: CreateGroupOptions,
  ): Promise<Group<TContract>>;
  /** Creates an untyped group (payloads are `unknown`, nothing is validated). */
  createGroup(name: string, options?: CreateGroupOptions): Promise<Group>;
  /**
   * Joins a typed group. A group autojoined by `connect({ join })` is returned at once (no round
   * trip), with the messages held since the handshake delivered first.
   */
  join<TContract extends AnyGroupContract>(
    contract: TContract,
    options?: JoinOptions<TContract>,
  ): Promise<Subscription<TContract>>;
  /** Joins a group by name (payloads are `unknown`, nothing is validated). */
  join(name: string, options?: JoinOptions): Promise<Subscription>;
  /** Emits into a group this connection may emit in (see the group's `emitters`); validated first. */
  emit<TContract extends AnyGroupContract, TSignal extends SignalName<TContract>>(
    contract: TContract,
    signal: TSignal,
    ...payload: EmitArgs<TContract, TSignal>
  ): Promise<EmitResult>;
  /** Emits by group name, without validation. */
  emit(group: string, signal: string, payload?: unknown): Promise<EmitResult>;
  /**
   * Publishes: an emit the daemon does not answer when it accepts it (as NATS's publish).
   * Returns undefined once sent, or a promise to await when the window (`maxInFlight`,
   * `maxInFlightBytes`) is full or the bus is reconnecting. Validated first (throws
   * PayloadValidationError); the daemon's refusals come later, in order, as PublishErrors on
   * `on('publishError')`. See `Group.publish`.
   */
  publish<TContract extends AnyGroupContract, TSignal extends SignalName<TContract>>(
    contract: TContract,
    signal: TSignal,
    ...payload: EmitArgs<TContract, TSignal>
  ): Promise<void> | undefined;
  /** Publishes by group name, without validation. */
  publish(group: string, signal: string, payload?: unknown): Promise<void> | undefined;
  /**
   * Resolves once the daemon has handled every publish, emit and request sent before it (a
   * round trip); the PublishErrors of those publishes have been reported by then.
   */
  flush(): Promise<void>;
  /** A round trip to the daemon. */
  ping(): Promise<void>;
  /**
   * Asks for a well-known name (as D-Bus RequestName). Calls to the name go to its primary owner;
   * queued owners take over in order. `NameAcquired` (see `on('nameAcquired')`) arrives before the
   * answer when the name became ours. Serving a contract does not request its name: do both.
   */
  requestName(name: string, options?: RequestNameOptions): Promise<NameRequestResult>;
  /** Gives a name up (or leaves its queue); the next in its queue takes over. */
  releaseName(name: string): Promise<NameReleaseResult>;
  /** The unique name of the name's primary owner, or null (a unique name resolves to itself if connected). */
  getNameOwner(name: string): Promise<string | null>;
  /** The well-known names on the bus, with owner and queue. */
  listNames(): Promise<NameInfo[]>;
  /**
   * Resolves with the owner's unique name as soon as `name` has an owner (at once if it has one).
   * Race-free: the watch on `NameOwnerChanged` is in place before the owner is asked for, so an
   * owner appearing in between is not missed. Rejects with TimeoutError or AbortError.
   */
  waitForName(name: string, options?: WaitForNameOptions): Promise<string>;
  // The untyped overloads of serve and call come first: the typed ones, tried last when nothing
  // matches, then report what is wrong (a handler, a method name, an input) instead of "not a string".
  /** Serves untyped methods under `name` (inputs unknown, nothing validated). */
  serve(name: string, handlers: Readonly<Record<string, UntypedMethodHandler>>): Service;
  /**
   * Answers calls to the contract's methods: input validated before the handler runs (INVALID_ARGS),
   * output validated before it leaves (INVALID_REPLY), unknown methods answered UNKNOWN_METHOD, a
   * thrown error sent as REMOTE_ERROR (name and message, never the stack). Does not request the
   * name: call `requestName(Contract.name)` too.
   */
  serve<TContract extends AnyGroupContract>(
    contract: TContract,
    handlers: MethodHandlers<TContract>,
  ): Service;
  /** Calls a method by destination name, untyped (nothing validated; for tools). */
  call(destination: string, method: string, input?: unknown, options?: CallOptions): Promise<unknown>;
  /**
   * Calls a method of the contract on the owner of `options.destination ?? contract.name`. The
   * input is validated before sending (InvalidArgsError), the output after receiving
   * (InvalidReplyError). Rejects with ServiceUnknownError, UnknownMethodError, InvalidArgsError,
   * InvalidReplyError, TimeoutError, AbortError, NoReplyError or RemoteError (codes as on the wire).
   */
  call<TContract extends AnyGroupContract, TMethod extends MethodName<TContract>>(
    contract: TContract,
    method: TMethod,
    input: MethodInput<TContract, TMethod>,
    options?: CallOptions,
  ): Promise<MethodOutput<TContract, TMethod>>;
  /** The groups on the bus (owner, member count, options, published schema, sequence number). */
  listGroups(): Promise<GroupInfo[]>;
  /** The connections on the bus (unique name, transport, groups, names, queued bytes, monitor). */
  listConnections(): Promise<ConnectionInfo[]>;
  /** The JSON Schema a group's creator published (see `createGroup`); rejects UNKNOWN_GROUP. */
  getGroupSchema(group: string): Promise<unknown>;
  /** The daemon's counters since it started. */
  getStats(): Promise<BusStats>;
  /**
   * Turns this connection into a monitor: from now on it receives a copy of every signal (of
   * `groups`, if given) in bus order, and can send nothing but pings. Its memberships end, its
   * groups close, its services stop, and its names are given up. See also `connect({ monitor })`.
   */
  becomeMonitor(groups?: readonly string[]): Promise<Monitor>;
  /** The monitor stream, once this connection is a monitor; undefined before. */
  readonly monitor: Monitor | undefined;
  /** Non-fatal connection-level errors (an `err` without serial, an unreadable frame). Returns the remover. */
  on(event: 'error', handler: (error: ChorusError) => void): () => void;
  /**
   * A well-known name became ours (`nameAcquired`) or stopped being ours (`nameLost`): the bus's
   * `NameAcquired`/`NameLost` signals, which reach this connection without joining `org.chorus.Bus`.
   */
  on(event: 'nameAcquired' | 'nameLost', handler: (name: string, meta: SignalMeta) => void): () => void;
  /**
   * The connection was lost (not by `close()`) and the bus is about to reconnect. Until it has,
   * requests in flight reject with ConnectionClosedError (an emit among them may or may not
   * have been delivered), new requests wait for the new connection, and subscriptions stay open.
   */
  on(event: 'disconnected', handler: (error: ChorusError) => void): () => void;
  /** Attempt `attempt` (from 1) starts in `delayMs`; `error` is why the bus is not connected. */
  on(
    event: 'reconnecting',
    handler: (attempt: number, delayMs: number, error: ChorusError) => void,
  ): () => void;
  /**
   * Connected again under a new unique `name`, with the names requested again, the groups created
   * again and the subscriptions joined again (see `gap`); the requests that waited go out now.
   */
  on(event: 'reconnected', handler: (name: string) => void): () => void;
  /** The bus gave up reconnecting (`maxAttempts`, or a refusal that cannot change); it has ended. */
  on(event: 'reconnectFailed', handler: (error: ChorusError) => void): () => void;
  /** After `reconnected`: what the bus missed while it was away. */
  on(event: 'gap', handler: (gap: BusGap) => void): () => void;
  /**
   * A name requested before the connection was lost was requested again: `result` is the
   * daemon's answer (`nameAcquired` fires too when the name is ours again), or `error` if it
   * refused (the name is then forgotten).
   */
  on(
    event: 'nameRequest',
    handler: (name: string, result: NameRequestResult | undefined, error: ChorusError | undefined) => void,
  ): () => void;
  /**
   * The daemon refused a publish (INVALID_PAYLOAD, NOT_PERMITTED, QUEUE_FULL, ...): `error.group`
   * and `error.signal` say which, `error.code` why; in the order the publishes were sent. Without
   * a handler here, PublishErrors go to `on('error')`.
   */
  on(event: 'publishError', handler: (error: PublishError) => void): () => void;
  /**
   * Closes the connection: subscriptions end (iterators finish after what they hold), emits not yet
   * sent reject, requests already sent get their answers, method calls still waiting are cancelled
   * (ConnectionClosedError), calls being served are aborted, then the transport closes.
   */
  close(): Promise<void>;
}

/** A group named by its contract (typed) or by its name (untyped). */
export type GroupTarget = AnyGroupContract | string;

export function groupName(target: GroupTarget): string {
  return typeof target === 'string' ? target : target.name;
}

export function contractOf(target: GroupTarget): AnyGroupContract | undefined {
  return typeof target === 'string' ? undefined : target;
}

/** The bus's events, each with its handler's arguments: what `Bus.on` takes (documented there). */
export type BusEvents = {
  error: [error: ChorusError];
  nameAcquired: [name: string, meta: SignalMeta];
  nameLost: [name: string, meta: SignalMeta];
  disconnected: [error: ChorusError];
  reconnecting: [attempt: number, delayMs: number, error: ChorusError];
  reconnected: [name: string];
  reconnectFailed: [error: ChorusError];
  gap: [gap: BusGap];
  nameRequest: [name: string, result: NameRequestResult | undefined, error: ChorusError | undefined];
  publishError: [error: PublishError];
};

/** Where the bus's parts report its events (the bus's one emitter). */
export interface BusEventSink {
  emit<TEvent extends keyof BusEvents>(event: TEvent, ...args: BusEvents[TEvent]): void;
}
