/*
 * The typed API over one Connection: contracts, validation, subscriptions and owned groups.
 */

import {
  type AbortMessage,
  decodePayload,
  ErrorCode,
  encodePayload,
  type GroupClosedNotice,
  type GroupClosedReason,
  type GroupOptions,
  type Hello,
  type InvokeMessage,
  isProtocolError,
  type JoinSpec,
  type Limits,
  PROTOCOL_VERSION,
  type Reply,
  type SignalMessage,
  type Welcome,
  type Filter as WireFilter,
} from '@chorus/protocol';
import {
  BUS_NAME,
  BusContract,
  type BusStats,
  type ConnectionInfo,
  type GroupInfo,
  type NameInfo,
  type NameReleaseResult,
  type NameRequestResult,
} from './bus-contract.js';
import { ContractCheck } from './compat/contract-check.js';
import { type CallMessage, Connection, type RequestMessage, type SentCall } from './connection.js';
import {
  type AnyGroupContract,
  checkPayload,
  checkValue,
  type MethodInput,
  type MethodName,
  type MethodOutput,
  type MethodSchema,
  type SignalName,
} from './contract.js';
import {
  AbortError,
  BusError,
  type CallTarget,
  type ChorusError,
  ClientErrorCode,
  ConnectionClosedError,
  callErrorFromWire,
  InvalidArgsError,
  InvalidArgumentError,
  InvalidReplyError,
  isChorusError,
  PayloadValidationError,
  ProtocolViolationError,
  ServiceUnknownError,
  TimeoutError,
  UnknownMethodError,
  type ValidationIssue,
} from './errors.js';
import { type FilterInput, matchesFilters, sameFilters, toWireFilters } from './filter.js';
import {
  type CreateGroupOptions,
  checkGroupOptions,
  type EmitArgs,
  type EmitResult,
  type Group,
  type GroupCreation,
  GroupImpl,
} from './group.js';
import { Listeners } from './listeners.js';
import { type Monitor, MonitorImpl } from './monitor.js';
import { type AutoJoin, checkMonitorGroups, type ReconnectSettings, type Settings } from './options.js';
import { backoffDelay, isFinalFailure } from './reconnect.js';
import { type MethodHandlers, type Service, ServiceRegistry, type UntypedMethodHandler } from './service.js';
import {
  type CongestionLevel,
  type SignalMeta,
  type Subscription,
  type SubscriptionGap,
  SubscriptionImpl,
} from './subscription.js';
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
   * Closes the connection: subscriptions end (iterators finish after what they hold), emits not yet
   * sent reject, requests already sent get their answers, method calls still waiting are cancelled
   * (ConnectionClosedError), calls being served are aborted, then the transport closes.
   */
  close(): Promise<void>;
}

type GroupTarget = AnyGroupContract | string;

/**
 * `connecting`: the first handshake; `open`; `reconnecting`: the connection was lost, a new one is
 * being opened and restored (app requests wait); `ended`: for good.
 */
type BusState = 'connecting' | 'open' | 'reconnecting' | 'ended';

/** An app request waiting for the connection to be back. */
type Waiting = { run(connection: Connection): void; fail(error: unknown): void };

/** Bounds of a wait for the connection: the request's own AbortSignal and deadline. */
type WaitBounds = {
  readonly signal?: AbortSignal | undefined;
  readonly deadline?: number | undefined;
  readonly timeout?: (() => ChorusError) | undefined;
};

/** One reconnection attempt's handshake: what its hello joins, and what the welcome told. */
type Reopening = {
  readonly specs: JoinSpec[];
  /** The subscription each spec joins again (undefined: the waitForName watch). */
  readonly subs: (SubscriptionImpl | undefined)[];
  readonly gaps: SubscriptionGap[];
  lastSeq: number | undefined;
  startSeq: number;
};

/** The bus; `Bus` is its public face. */
export class BusImpl implements Bus {
  /** The current connection: replaced by a new one each time the bus reconnects. */
  #connection!: Connection;
  readonly #settings: Settings;
  readonly #reconnector: Reconnector | undefined;
  #state: BusState = 'connecting';
  /** `close()` or `abort()` was called: nothing reconnects any more. */
  #closing = false;
  /** Aborts the reconnection in progress (its backoff wait, its transport, its handshake). */
  readonly #stop = new AbortController();
  #hello: { readonly token?: string | undefined; readonly client?: string | undefined } = {};
  /** App requests made while reconnecting, sent in call order once the bus is restored. */
  #waiting: Waiting[] = [];
  /** Method calls among `#waiting` (they count against maxPendingCalls). */
  #callsWaiting = 0;
  /** The filters of every membership the daemon confirmed: what a reconnection joins again. */
  readonly #joinedWith = new WeakMap<SubscriptionImpl, WireFilter[] | undefined>();
  /** Names requested and not released, with their flags: what a reconnection requests again. */
  readonly #names = new Map<string, RequestNameOptions>();
  /** Subscriptions whose group did not exist yet after a reconnection: joined again with backoff. */
  readonly #pendingRejoins = new Set<SubscriptionImpl>();
  #rejoinTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set while a reconnection's handshake is in flight; the welcome fills it in. */
  #reopening: Reopening | undefined;
  /** Why the lost connection took our groups with it, should one not be created again. */
  #lossReason: GroupClosedReason = 'owner-left';
  /** The last bus sequence number received, for the bus's gap. */
  #lastSeq: number | undefined;
  /** Congestion levels of the subscriptions, replayed to each new connection. */
  readonly #congested = new Map<object, CongestionLevel>();
  readonly #disconnected = new Listeners<[ChorusError]>();
  readonly #reconnecting = new Listeners<[number, number, ChorusError]>();
  readonly #reconnected = new Listeners<[string]>();
  readonly #reconnectFailed = new Listeners<[ChorusError]>();
  readonly #gaps = new Listeners<[BusGap]>();
  readonly #nameRequests = new Listeners<[string, NameRequestResult | undefined, ChorusError | undefined]>();
  readonly #autoJoin: { readonly sub: SubscriptionImpl; readonly filters: WireFilter[] | undefined }[] = [];
  #name = '';
  #limits: Readonly<Limits> = { maxFrameBytes: 0, maxQueueBytes: 0 };
  /** Routing: the membership each group's signals go to. */
  readonly #members = new Map<string, SubscriptionImpl>();
  /** Autojoined memberships not yet claimed by `join()`. */
  readonly #held = new Map<
    string,
    { readonly sub: SubscriptionImpl; readonly filters: WireFilter[] | undefined }
  >();
  readonly #owned = new Map<string, GroupImpl>();
  /** Inboxes of owned `sendToPeer` groups: members' signals come to the owner without a membership. */
  readonly #inboxes = new Map<string, SubscriptionImpl>();
  readonly #leaving = new Map<string, Promise<void>>();
  readonly #errors = new Listeners<[ChorusError]>();
  /** Typed joins and calls compared with what their group publishes (compat/contract-check.ts). */
  readonly #contractCheck = new ContractCheck((group) => this.getGroupSchema(group));
  readonly closed: Promise<ChorusError | undefined>;
  #resolveClosed!: (error: ChorusError | undefined) => void;
  readonly #services: ServiceRegistry;
  /** Serials of the method calls awaiting their answer, with their connection (bounded by maxPendingCalls). */
  readonly #calls = new Map<number, Connection>();
  readonly #nameAcquired = new Listeners<[string, SignalMeta]>();
  /**
   * waitForName waiters give up when told: the connection ended (error undefined after close()),
   * or it became a monitor (its membership of org.chorus.Bus is gone).
   */
  readonly #ended = new Listeners<[ChorusError | undefined]>();
  readonly #nameLost = new Listeners<[string, SignalMeta]>();
  /** waitForName: the callbacks waiting for each name to get an owner. */
  readonly #nameWaiters = new Map<string, Set<(owner: string) => void>>();
  /**
   * The membership of org.chorus.Bus (filtered to NameOwnerChanged) the bus holds for waitForName
   * while the app has none; shared by every waiter, left when the last one is done.
   */
  #watch: { refs: number; readonly joined: Promise<void>; live: boolean } | undefined;
  #watchLeaving: Promise<void> | undefined;
  /** Filters of the app's own membership of org.chorus.Bus (joined or autojoined). */
  #busFilters: WireFilter[] | undefined;
  /** Set from the moment `monitor` is sent: from then on every signal it watches goes to it. */
  #monitor: MonitorImpl | undefined;
  #monitorReady: Promise<Monitor> | undefined;
  #monitorActive = false;

  /** `reconnector`: how to reconnect; undefined: the bus ends with its first connection. */
  constructor(
    transport: Transport,
    settings: Settings,
    autoJoin: readonly AutoJoin[],
    reconnector?: Reconnector,
  ) {
    this.#settings = settings;
    this.#reconnector = reconnector;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#services = new ServiceRegistry({
      send: (message, payload) => this.#connection.notify(message, payload),
    });
    this.#attach(transport);
    for (const entry of autoJoin) {
      const target = typeof entry === 'object' && 'group' in entry ? entry.group : entry;
      const filter = typeof entry === 'object' && 'group' in entry ? entry.filter : undefined;
      const name = groupName(target);
      if (this.#held.has(name)) throw new InvalidArgumentError(`${name} is listed twice in join`);
      const sub = this.#subscription(name, contractOf(target));
      const held = { sub, filters: toWireFilters(filter) };
      if (name === BUS_NAME) this.#busFilters = held.filters;
      this.#autoJoin.push(held);
      this.#held.set(name, held);
      this.#joinedWith.set(sub, held.filters);
      // Routed from the start: signals may follow the welcome in the very same chunk.
      this.#members.set(name, sub);
    }
  }

  /** Sends `hello`; resolves once welcomed (and, for a monitor, once the daemon made it one). */
  async handshake(hello: {
    token?: string | undefined;
    client?: string | undefined;
    monitor?: { readonly groups: readonly string[] | undefined } | undefined;
  }): Promise<this> {
    this.#hello = { token: hello.token, client: hello.client };
    const join = this.#autoJoin.map(({ sub, filters }) => joinSpec(sub.group, filters));
    await this.#connection.open(this.#helloMessage(join));
    if (hello.monitor !== undefined) await this.becomeMonitor(hello.monitor.groups);
    // From now on a lost connection is reconnected rather than the end.
    if (this.#state === 'connecting') this.#state = 'open';
    return this;
  }

  /** Ends the connection at once (a failed or cancelled connect). */
  abort(error: ChorusError): Promise<void> {
    this.#closing = true;
    this.#stop.abort();
    const closed = this.#connection.abort(error);
    this.#end(error);
    return closed;
  }

  get name(): string {
    return this.#name;
  }

  get limits(): Readonly<Limits> {
    return this.#limits;
  }

  get monitor(): Monitor | undefined {
    return this.#monitorActive ? this.#monitor : undefined;
  }

  on(event: 'error', handler: (error: ChorusError) => void): () => void;
  on(event: 'nameAcquired' | 'nameLost', handler: (name: string, meta: SignalMeta) => void): () => void;
  on(event: 'disconnected' | 'reconnectFailed', handler: (error: ChorusError) => void): () => void;
  on(
    event: 'reconnecting',
    handler: (attempt: number, delayMs: number, error: ChorusError) => void,
  ): () => void;
  on(event: 'reconnected', handler: (name: string) => void): () => void;
  on(event: 'gap', handler: (gap: BusGap) => void): () => void;
  on(
    event: 'nameRequest',
    handler: (name: string, result: NameRequestResult | undefined, error: ChorusError | undefined) => void,
  ): () => void;
  on(event: string, handler: (...args: never[]) => void): () => void {
    switch (event) {
      case 'error':
        return this.#errors.add(handler as (error: ChorusError) => void);
      case 'nameAcquired':
        return this.#nameAcquired.add(handler as (name: string, meta: SignalMeta) => void);
      case 'nameLost':
        return this.#nameLost.add(handler as (name: string, meta: SignalMeta) => void);
      case 'disconnected':
        return this.#disconnected.add(handler as (error: ChorusError) => void);
      case 'reconnecting':
        return this.#reconnecting.add(
          handler as (attempt: number, delayMs: number, error: ChorusError) => void,
        );
      case 'reconnected':
        return this.#reconnected.add(handler as (name: string) => void);
      case 'reconnectFailed':
        return this.#reconnectFailed.add(handler as (error: ChorusError) => void);
      case 'gap':
        return this.#gaps.add(handler as (gap: BusGap) => void);
      case 'nameRequest':
        return this.#nameRequests.add(
          handler as (
            name: string,
            result: NameRequestResult | undefined,
            error: ChorusError | undefined,
          ) => void,
        );
      default:
        throw new InvalidArgumentError(`unknown bus event '${String(event)}'`);
    }
  }

  createGroup<TContract extends AnyGroupContract>(
    contract: TContract,
    options?: CreateGroupOptions,
  ): Promise<Group<TContract>>;
  createGroup(name: string, options?: CreateGroupOptions): Promise<Group>;
  async createGroup(target: GroupTarget, options: CreateGroupOptions = {}): Promise<unknown> {
    this.#assertNotMonitor();
    const name = groupName(target);
    const contract = contractOf(target);
    const o = groupOptions(options);
    const schema = contract?.jsonSchema();
    const creation = { o, schema };
    await this.#request(createMessage(name, creation));
    let inbox: SubscriptionImpl | undefined;
    if (options.sendToPeer === true) {
      // Not a membership: leaving it only stops local delivery.
      inbox = new SubscriptionImpl(
        name,
        contract,
        { congestion: this.#congestion, leave: async () => {} },
        this.#settings,
      );
      this.#inboxes.set(name, inbox);
    }
    const group = new GroupImpl(
      name,
      contract,
      inbox,
      {
        emit: (group, groupContract, signal, payload) => this.#emit(group, groupContract, signal, payload),
        close: (group) => this.#closeGroup(group),
      },
      creation,
    );
    this.#owned.set(name, group);
    return group;
  }

  join<TContract extends AnyGroupContract>(
    contract: TContract,
    options?: JoinOptions<TContract>,
  ): Promise<Subscription<TContract>>;
  join(name: string, options?: JoinOptions): Promise<Subscription>;
  async join(target: GroupTarget, options: JoinOptions = {}): Promise<unknown> {
    this.#assertNotMonitor();
    const name = groupName(target);
    const contract = contractOf(target);
    const filters = toWireFilters(options.filter);
    const held = this.#held.get(name);
    if (held !== undefined) {
      // The membership exists since the handshake; its filters cannot change without a round trip.
      if (options.filter !== undefined && !sameFilters(filters, held.filters)) {
        throw new InvalidArgumentError(
          `${name} was autojoined with other filters; join it with the same ones or none`,
        );
      }
      this.#held.delete(name);
      held.sub.claim(contract);
      return held.sub;
    }
    // An autojoined group was checked by connect(), before any of its messages could be held.
    if (contract !== undefined) await this.#contractCheck.beforeJoin(contract);
    const leaving = this.#leaving.get(name);
    if (leaving !== undefined) await leaving;
    if (name === BUS_NAME) {
      if (this.#watchLeaving !== undefined) await this.#watchLeaving;
      if (this.#watch !== undefined) {
        // One membership per group: the bus holds it for waitForName until the last waiter is done.
        throw new BusError(
          ErrorCode.ALREADY_MEMBER,
          `${BUS_NAME} is joined by waitForName (or a call waiting for its service); join it before waiting, and the waiters will use your membership`,
        );
      }
    }
    if (this.#members.has(name)) {
      // What the daemon would answer, without the round trip (and without disturbing the routing).
      throw new BusError(ErrorCode.ALREADY_MEMBER, `already a member of ${name}`);
    }
    const sub = this.#subscription(name, contract);
    // Routed before the request: the daemon may replay a retained value before its `ok`.
    this.#members.set(name, sub);
    try {
      const reply = await this.#request({ t: 'join', ...joinSpec(name, filters) });
      sub.start(resultNumber(reply, 'startSeq'), resultNumber(reply, 'startGroupSeq'));
      this.#joinedWith.set(sub, filters);
      if (name === BUS_NAME) this.#busFilters = filters;
      return sub;
    } catch (error) {
      if (this.#members.get(name) === sub) this.#members.delete(name);
      throw error;
    }
  }

  emit<TContract extends AnyGroupContract, TSignal extends SignalName<TContract>>(
    contract: TContract,
    signal: TSignal,
    ...payload: EmitArgs<TContract, TSignal>
  ): Promise<EmitResult>;
  emit(group: string, signal: string, payload?: unknown): Promise<EmitResult>;
  emit(target: GroupTarget, signal: string, payload?: unknown): Promise<EmitResult> {
    return this.#emit(groupName(target), contractOf(target), signal, payload);
  }

  async ping(): Promise<void> {
    await this.#request({ t: 'ping' });
  }

  async requestName(name: string, options: RequestNameOptions = {}): Promise<NameRequestResult> {
    const { result } = await this.call(BusContract, 'RequestName', nameRequestInput(name, options));
    // Owned or queued: a reconnection asks again, with the same flags.
    if (result === 'exists') this.#names.delete(name);
    else this.#names.set(name, { ...options });
    return result;
  }

  async releaseName(name: string): Promise<NameReleaseResult> {
    // At once: a reconnection before the answer must not ask for it again.
    this.#names.delete(name);
    return (await this.call(BusContract, 'ReleaseName', { name })).result;
  }

  async getNameOwner(name: string): Promise<string | null> {
    return (await this.call(BusContract, 'GetNameOwner', { name })).owner;
  }

  async listNames(): Promise<NameInfo[]> {
    return (await this.call(BusContract, 'ListNames', {})).names;
  }

  async listGroups(): Promise<GroupInfo[]> {
    return (await this.call(BusContract, 'ListGroups', {})).groups;
  }

  async listConnections(): Promise<ConnectionInfo[]> {
    return (await this.call(BusContract, 'ListConnections', {})).connections;
  }

  async getGroupSchema(group: string): Promise<unknown> {
    return (await this.call(BusContract, 'GetGroupSchema', { group })).schema;
  }

  getStats(): Promise<BusStats> {
    return this.call(BusContract, 'GetStats', {});
  }

  waitForName(name: string, options: WaitForNameOptions = {}): Promise<string> {
    const { signal } = options;
    const timeoutMs = options.timeoutMs ?? 0;
    try {
      this.#assertNotMonitor();
      checkTimeout('timeoutMs', timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted)
      return Promise.reject(new AbortError('waitForName was aborted', { cause: signal.reason }));
    return new Promise<string>((resolve, reject) => {
      const lookup = new AbortController();
      let release: (() => void) | undefined;
      let done = false;
      const finish = (settle: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        removeEnded();
        removeWaiter();
        lookup.abort();
        release?.();
        settle();
      };
      // [GUARANTEE: race-free wait] the local waiter exists before the join is sent, and
      // the membership exists (its `ok` came back) before the owner is asked for: an owner that
      // appears at any point after the join is seen, either in GetNameOwner's answer or as a signal.
      const removeWaiter = this.#addNameWaiter(name, (owner) => finish(() => resolve(owner)));
      const onAbort = (): void =>
        finish(() => reject(new AbortError('waitForName was aborted', { cause: signal?.reason })));
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer =
        timeoutMs > 0
          ? setTimeout(
              () =>
                finish(() =>
                  reject(new TimeoutError(`${name} got no owner within ${timeoutMs} ms`, timeoutMs)),
                ),
              timeoutMs,
            )
          : undefined;
      const removeEnded = this.#ended.add((error) =>
        finish(() =>
          reject(error ?? new ConnectionClosedError('the bus was closed while waiting for a name')),
        ),
      );
      void (async () => {
        for (;;) {
          try {
            if (release === undefined) {
              const watch = await this.#acquireNameWatch(name);
              if (done) {
                watch();
                return;
              }
              release = watch;
            }
            const { owner } = await this.call(
              BusContract,
              'GetNameOwner',
              { name },
              { signal: lookup.signal },
            );
            if (owner !== null) finish(() => resolve(owner));
            return;
          } catch (error) {
            // The connection was lost on the way: ask again once the bus is back (a watch already
            // in place is joined again by the reconnection itself).
            if (
              done ||
              this.#state !== 'reconnecting' ||
              !isChorusError(error, ClientErrorCode.CONNECTION_CLOSED)
            )
              throw error;
            await this.#whenOpen(() => undefined, { signal: lookup.signal });
          }
        }
      })().catch((error: unknown) => finish(() => reject(error)));
    });
  }

  serve(name: string, handlers: Readonly<Record<string, UntypedMethodHandler>>): Service;
  serve<TContract extends AnyGroupContract>(
    contract: TContract,
    handlers: MethodHandlers<TContract>,
  ): Service;
  serve(target: GroupTarget, handlers: object): Service {
    this.#assertNotMonitor();
    if (this.#closing || this.#state === 'ended')
      throw new ConnectionClosedError('the bus connection is closed');
    if (typeof handlers !== 'object' || handlers === null) {
      throw new InvalidArgumentError('serve needs an object of handlers, one per method');
    }
    return this.#services.add(groupName(target), contractOf(target), handlers);
  }

  call(destination: string, method: string, input?: unknown, options?: CallOptions): Promise<unknown>;
  call<TContract extends AnyGroupContract, TMethod extends MethodName<TContract>>(
    contract: TContract,
    method: TMethod,
    input: MethodInput<TContract, TMethod>,
    options?: CallOptions,
  ): Promise<MethodOutput<TContract, TMethod>>;
  async call(
    target: GroupTarget,
    method: string,
    input?: unknown,
    options: CallOptions = {},
  ): Promise<unknown> {
    this.#assertNotMonitor();
    const contract = contractOf(target);
    const destination = options.destination ?? groupName(target);
    const where: CallTarget = { destination, method };
    const timeoutMs = options.timeoutMs ?? this.#settings.callTimeoutMs;
    checkTimeout('timeoutMs', timeoutMs);
    const waitForService = options.waitForService;
    const waitMs =
      typeof waitForService === 'object' && waitForService.timeoutMs !== undefined
        ? waitForService.timeoutMs
        : undefined;
    if (waitMs !== undefined) checkTimeout('waitForService.timeoutMs', waitMs);
    let schemas: MethodSchema | undefined;
    if (contract !== undefined) {
      schemas = contract.methodFor(method);
      if (schemas === undefined)
        throw new UnknownMethodError(`${contract.name} has no method '${method}'`, where);
      const check = checkValue(schemas.input, input);
      if (!check.ok) {
        throw new InvalidArgsError(
          describeIssues(`invalid input for ${contract.name}.${method}`, check.issues),
          where,
          check.issues,
        );
      }
      // An aborted call sends nothing, not even the check's question.
      if (options.signal?.aborted !== true) await this.#contractCheck.beforeCall(contract, method);
    }
    let bytes: Uint8Array;
    try {
      // The value as given (the schema's input form) goes on the wire; the service parses it again.
      bytes = encodePayload(input);
    } catch (cause) {
      const issues = [
        { code: 'invalid_encoding', path: [], message: 'the input cannot be encoded as MessagePack' },
      ];
      throw new InvalidArgsError(`the input of ${destination}.${method} cannot be encoded`, where, issues, {
        cause,
      });
    }
    const message: CallMessage = { t: 'call', dest: destination, m: method };
    if (contract !== undefined) message.g = contract.name;
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : undefined;
    // Waiting counts against the call's own deadline, so it never outlasts it.
    const waitDeadline =
      waitMs !== undefined && waitMs > 0
        ? Math.min(Date.now() + waitMs, deadline ?? Number.POSITIVE_INFINITY)
        : deadline;
    // Bounded: an owner may appear and vanish again before the call reaches it.
    for (let attempt = 1; ; attempt++) {
      let answer: Uint8Array;
      try {
        answer = await this.#callOnce(message, bytes, where, timeoutMs, deadline, options.signal);
      } catch (error) {
        if (contract !== undefined) this.#contractCheck.callFailed(contract.name, error);
        if (
          !(error instanceof ServiceUnknownError) ||
          waitForService === undefined ||
          waitForService === false
        )
          throw error;
        if (attempt >= MAX_SERVICE_WAITS) throw error;
        const left = waitDeadline === undefined ? 0 : waitDeadline - Date.now();
        if (waitDeadline !== undefined && left <= 0) throw error;
        try {
          await this.waitForName(destination, {
            timeoutMs: waitDeadline === undefined ? 0 : Math.ceil(left),
            signal: options.signal,
          });
        } catch (waitError) {
          // Still nobody there when the wait ran out: that is the call's answer.
          if (isChorusError(waitError, ErrorCode.TIMEOUT))
            throw new ServiceUnknownError(error.message, where, { cause: waitError });
          throw waitError;
        }
        continue;
      }
      let value: unknown;
      try {
        value = decodePayload(answer);
      } catch (cause) {
        const issues = [
          { code: 'invalid_encoding', path: [], message: 'the output is not valid MessagePack' },
        ];
        throw new InvalidReplyError(
          `the output of ${destination}.${method} cannot be decoded`,
          where,
          issues,
          { cause },
        );
      }
      if (schemas === undefined) return value;
      const check = checkValue(schemas.output, value);
      if (!check.ok) {
        throw new InvalidReplyError(
          describeIssues(`invalid output of ${destination}.${method}`, check.issues),
          where,
          check.issues,
        );
      }
      return check.value;
    }
  }

  async becomeMonitor(groups?: readonly string[]): Promise<Monitor> {
    const watched = checkMonitorGroups(groups);
    if (this.#monitor !== undefined && this.#monitorReady !== undefined) {
      if (!sameGroups(this.#monitor.groups, watched)) {
        throw new InvalidArgumentError('this connection is already a monitor, of other groups');
      }
      return this.#monitorReady;
    }
    const monitor = new MonitorImpl(
      watched,
      { congestion: this.#congestion, leave: async () => {} },
      this.#settings,
    );
    this.#monitor = monitor;
    const ready = (async (): Promise<Monitor> => {
      let reply: Reply;
      try {
        reply = await this.#request(monitorMessage(watched));
      } catch (error) {
        this.#monitor = undefined;
        this.#monitorReady = undefined;
        // What arrived meanwhile was ordinary traffic after all.
        for (const raw of monitor.abandon()) this.#onSignal(raw.message, raw.payload);
        throw error;
      }
      // The daemon has ended our memberships, closed our groups and given up our names.
      this.#monitorActive = true;
      this.#becameMonitor();
      monitor.start(resultNumber(reply, 'startSeq'));
      return monitor;
    })();
    this.#monitorReady = ready;
    return ready;
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#stop.abort();
    // Nothing is delivered after close(); ending first also lifts any pause, so the answers to
    // requests already sent can be read.
    for (const sub of this.#allSubscriptions()) sub.end('disconnected');
    this.#monitor?.end('disconnected');
    // A call may take arbitrarily long: waiting for it would let any service hold close() up. A
    // monitor may send nothing but pings: the daemon aborts the service when we are gone anyway.
    for (const [serial, connection] of [...this.#calls]) {
      connection.cancel(
        serial,
        new ConnectionClosedError('the bus was closed before the call was answered'),
        this.#monitor === undefined,
      );
    }
    this.#services.end('closed');
    // While reconnecting there is no connection to drain: what waits for one fails now.
    if (this.#state === 'reconnecting') this.#end(undefined);
    await this.#connection.close();
  }

  /**
   * Sends one call and waits for its answer (the output bytes); rejects with the call's error. The
   * timer and the AbortSignal cancel it (the daemon is told, so the service is aborted).
   */
  async #callOnce(
    message: CallMessage,
    bytes: Uint8Array,
    where: CallTarget,
    timeoutMs: number,
    deadline: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    if (signal?.aborted) throw new AbortError('the call was aborted', { cause: signal.reason });
    const timeout = (): TimeoutError =>
      new TimeoutError(
        `${where.destination}.${where.method} got no answer within ${timeoutMs} ms`,
        timeoutMs,
      );
    if (deadline !== undefined && Math.ceil(deadline - Date.now()) <= 0) throw timeout();
    const calls = this.#calls.size + this.#callsWaiting;
    if (calls >= this.#settings.maxPendingCalls) {
      // What the daemon would answer at its own bound, without the round trip.
      throw new BusError(ErrorCode.LIMIT_EXCEEDED, `${calls} calls are already waiting (maxPendingCalls)`);
    }
    const send = (connection: Connection): { sent: SentCall; connection: Connection } => {
      let remaining: number | undefined;
      if (deadline !== undefined) {
        remaining = Math.ceil(deadline - Date.now());
        if (remaining <= 0) throw timeout();
      }
      // `to` lets the daemon fail the call and abort the service at the deadline even if we are slow.
      const sent = connection.call(remaining === undefined ? message : { ...message, to: remaining }, bytes);
      return { sent, connection };
    };
    let sending: { sent: SentCall; connection: Connection };
    if (this.#state === 'reconnecting') {
      this.#callsWaiting++;
      try {
        sending = await this.#whenOpen(send, { signal, deadline, timeout });
      } finally {
        this.#callsWaiting--;
      }
    } else {
      sending = send(this.#connection);
    }
    // The serial means this call on this connection only: cancel it there, even after a reconnection.
    const { sent, connection } = sending;
    const { serial } = sent;
    this.#calls.set(serial, connection);
    // A monitor may send nothing but pings: its calls (made before it became one) end locally.
    const tell = (): boolean => this.#monitor === undefined;
    const onAbort = (): void => {
      connection.cancel(serial, new AbortError('the call was aborted', { cause: signal?.reason }), tell());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      deadline === undefined
        ? undefined
        : setTimeout(() => connection.cancel(serial, timeout(), tell()), Math.max(0, deadline - Date.now()));
    try {
      return (await sent.reply).payload;
    } catch (error) {
      if (error instanceof BusError && !error.fatal && CALL_CODES.has(error.code)) {
        throw callErrorFromWire(
          { t: 'err', code: error.code, msg: error.message, data: error.data },
          where,
          timeoutMs,
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.#calls.delete(serial);
    }
  }

  #addNameWaiter(name: string, callback: (owner: string) => void): () => void {
    let waiters = this.#nameWaiters.get(name);
    if (waiters === undefined) {
      waiters = new Set();
      this.#nameWaiters.set(name, waiters);
    }
    const entry = (owner: string): void => callback(owner);
    waiters.add(entry);
    return () => {
      waiters.delete(entry);
      if (waiters.size === 0 && this.#nameWaiters.get(name) === waiters) this.#nameWaiters.delete(name);
    };
  }

  /**
   * Makes sure NameOwnerChanged for `name` reaches this connection: through the app's membership of
   * org.chorus.Bus if it has one (whose filters must let it through), else through a membership the
   * bus holds for all its waiters. Resolves with the release once the membership is in place.
   */
  async #acquireNameWatch(name: string): Promise<() => void> {
    if (this.#members.has(BUS_NAME)) {
      if (!admitsOwnerChanges(this.#busFilters, name)) {
        throw new InvalidArgumentError(
          `your membership of ${BUS_NAME} filters out NameOwnerChanged for ${name}: waitForName cannot see it`,
        );
      }
      return () => {};
    }
    let watch = this.#watch;
    if (watch === undefined) {
      const leaving = this.#watchLeaving;
      const joined = (async () => {
        if (leaving !== undefined) await leaving;
        await this.#request({ t: 'join', ...WATCH_SPEC });
      })();
      const created = { refs: 0, joined, live: false };
      // Joined on the daemon: a reconnection joins it again.
      joined.then(
        () => {
          created.live = true;
        },
        () => undefined,
      );
      watch = created;
      this.#watch = created;
      joined.catch(() => {
        if (this.#watch === created) this.#watch = undefined;
      });
    }
    const held = watch;
    held.refs++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      held.refs--;
      if (held.refs > 0 || this.#watch !== held) return;
      this.#watch = undefined;
      const leaving = held.joined
        .then(() => this.#request({ t: 'leave', g: BUS_NAME }))
        .then(
          () => undefined,
          () => undefined,
        );
      this.#watchLeaving = leaving;
      void leaving.then(() => {
        if (this.#watchLeaving === leaving) this.#watchLeaving = undefined;
      });
    };
    try {
      await held.joined;
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }

  #assertNotMonitor(): void {
    if (this.#monitor !== undefined) {
      // What the daemon would answer, without the round trip.
      throw new BusError(ErrorCode.MONITOR_ONLY, 'a monitor connection can send nothing but pings');
    }
  }

  /** The daemon made us a monitor: everything that was ours on the bus is gone. */
  #becameMonitor(): void {
    for (const sub of new Set([...this.#members.values(), ...this.#inboxes.values()])) sub.end('left');
    for (const { sub } of this.#held.values()) sub.end('left');
    for (const group of this.#owned.values()) group.markClosed('owner-left');
    this.#members.clear();
    this.#held.clear();
    this.#inboxes.clear();
    this.#owned.clear();
    this.#names.clear();
    this.#watch = undefined;
    this.#services.end('monitor');
    this.#ended.emit(new BusError(ErrorCode.MONITOR_ONLY, 'this connection became a monitor'));
  }

  // Everything up to the send runs synchronously, so emits leave in call order. Not async: one
  // promise per emit, the connection's (an async function would add its own and an await).
  #emit(
    name: string,
    contract: AnyGroupContract | undefined,
    signal: string,
    payload: unknown,
  ): Promise<EmitResult> {
    try {
      this.#assertNotMonitor();
      if (contract !== undefined) {
        const check = checkPayload(contract, signal, payload);
        if (!check.ok) throw check.error;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#state !== 'reconnecting') {
      // The usual case: the value is encoded straight into the frame (the connection throws only
      // when it cannot be encoded).
      try {
        return this.#connection.emit(name, signal, payload);
      } catch (cause) {
        // Anything else (a custom transport's write that threw) is passed on as it is.
        return Promise.reject(isProtocolError(cause) ? unencodable(name, signal, cause) : cause);
      }
    }
    // The value as given (the schema's input form) goes on the wire; receivers parse it again. It
    // is encoded now, so what is sent after the reconnection is the value at the time of the call.
    let bytes: Uint8Array;
    try {
      bytes = encodePayload(payload);
    } catch (cause) {
      return Promise.reject(unencodable(name, signal, cause));
    }
    return this.#whenOpen((connection) => connection.emitPayload(name, signal, bytes));
  }

  async #closeGroup(name: string): Promise<void> {
    if (this.#state === 'reconnecting') {
      // It went with the lost connection; not creating it again is all that is left to do.
      this.#groupGone(name, 'closed');
      return;
    }
    try {
      await this.#request({ t: 'close', g: name });
    } catch (error) {
      // Already gone is what close wants (a gclosed may have crossed our request).
      if (!isChorusError(error, ErrorCode.UNKNOWN_GROUP)) throw error;
    }
    this.#groupGone(name, 'closed');
  }

  #leave(name: string, sub: object): Promise<void> {
    if (this.#members.get(name) === sub) this.#members.delete(name);
    this.#pendingRejoins.delete(sub as SubscriptionImpl);
    // The membership went with the lost connection; a reconnection that joined it again meanwhile
    // leaves it (see #restore).
    if (this.#state === 'reconnecting') return Promise.resolve();
    const done = this.#request({ t: 'leave', g: name }).then(
      () => undefined,
      (error: unknown) => {
        // The membership is gone either way: the group closed meanwhile, or the connection ended.
        if (isChorusError(error, ErrorCode.NOT_MEMBER) || isChorusError(error, ErrorCode.UNKNOWN_GROUP))
          return;
        if (this.#connection.ended) return;
        throw error;
      },
    );
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.#leaving.set(name, settled);
    void settled.then(() => {
      if (this.#leaving.get(name) === settled) this.#leaving.delete(name);
    });
    return done;
  }

  #subscription(name: string, contract: AnyGroupContract | undefined): SubscriptionImpl {
    return new SubscriptionImpl(
      name,
      contract,
      { congestion: this.#congestion, leave: (group, sub) => this.#leave(group, sub) },
      this.#settings,
    );
  }

  readonly #congestion = (sub: object, level: CongestionLevel): void => {
    if (level === 0) this.#congested.delete(sub);
    else this.#congested.set(sub, level);
    // A new connection must read its handshake and the answers of the restore: it gets the levels
    // once it is open (see #reopened).
    if (this.#state !== 'reconnecting') this.#connection.setCongestion(sub, level);
  };

  #onWelcome(message: Welcome): void {
    this.#name = message.name;
    this.#limits = message.limits;
    const reopening = this.#reopening;
    if (reopening !== undefined) {
      this.#reopening = undefined;
      reopening.lastSeq = this.#lastSeq;
      reopening.startSeq = message.seq + 1;
      this.#lastSeq = undefined;
      // Before any later frame is handled: each gap comes ahead of the messages of the new membership.
      for (const result of message.joined) {
        const sub = reopening.subs[reopening.specs.findIndex((spec) => spec.g === result.g)];
        if (sub !== undefined && this.#members.get(sub.group) === sub && !sub.ended) {
          reopening.gaps.push(sub.rejoined(result.startSeq, result.startGroupSeq));
        }
      }
      return;
    }
    const joined = message.joined;
    if (joined.length !== this.#autoJoin.length) {
      this.#errors.emit(
        new ProtocolViolationError(
          'BAD_FIELD',
          `welcome.joined has ${joined.length} entries for ${this.#autoJoin.length} joins`,
        ),
      );
    }
    for (const result of joined) {
      this.#held.get(result.g)?.sub.start(result.startSeq, result.startGroupSeq);
    }
  }

  #onSignal(message: SignalMessage, payload: Uint8Array): void {
    this.#lastSeq = message.seq;
    const monitor = this.#monitor;
    if (monitor?.watches(message.g)) {
      // [GUARANTEE: order] from the moment `monitor` is sent, the monitor gets what it watches in
      // wire order; until the daemon's `ok` that is still ordinary traffic, in bus order too.
      monitor.deliver(message, payload);
      return;
    }
    if (message.g === BUS_NAME) {
      this.#onBusSignal(message, payload);
      return;
    }
    // A membership takes precedence: the daemon sends a sendToPeer owner that is also a member one copy.
    const sub = this.#members.get(message.g) ?? this.#inboxes.get(message.g);
    // No subscription: the group was left (signals after leave are dropped).
    sub?.deliver(message, payload);
  }

  /**
   * A signal of org.chorus.Bus: NameAcquired/NameLost come to the connection concerned whether or
   * not it is a member; NameOwnerChanged feeds waitForName; the app's membership gets what its
   * filters let through.
   */
  #onBusSignal(message: SignalMessage, payload: Uint8Array): void {
    const sub = this.#members.get(BUS_NAME);
    const { sig } = message;
    const personal = sig === 'NameAcquired' || sig === 'NameLost';
    if (personal || (sig === 'NameOwnerChanged' && this.#nameWaiters.size > 0)) {
      let value: unknown;
      try {
        value = decodePayload(payload);
      } catch {
        value = undefined;
      }
      const check = checkPayload(BusContract, sig, value);
      if (check.ok) {
        const meta = signalMeta(message);
        if (sig === 'NameOwnerChanged') {
          const change = check.value as { name: string; newOwner: string | null };
          if (change.newOwner !== null) {
            for (const waiter of [...(this.#nameWaiters.get(change.name) ?? [])]) waiter(change.newOwner);
          }
        } else {
          const { name } = check.value as { name: string };
          // Replaced while asking not to queue: nothing to ask for again after a reconnection.
          if (sig === 'NameLost' && this.#names.get(name)?.doNotQueue === true) this.#names.delete(name);
          (sig === 'NameAcquired' ? this.#nameAcquired : this.#nameLost).emit(name, meta);
        }
      }
      // Sent to us as the connection concerned, not as a member: the membership's filters decide.
      if (personal && sub !== undefined && !matchesFilters(this.#busFilters, message, value)) return;
    }
    sub?.deliver(message, payload);
  }

  #onGroupClosed(notice: GroupClosedNotice): void {
    const sub = this.#members.get(notice.g);
    if (sub !== undefined) {
      this.#members.delete(notice.g);
      sub.end(notice.reason);
    }
    // 'not-permitted' ends this connection's membership only: a group it owns of that name goes on.
    if (notice.reason !== 'not-permitted') this.#groupGone(notice.g, notice.reason);
  }

  #groupGone(name: string, reason: GroupClosedNotice['reason']): void {
    const group = this.#owned.get(name);
    if (group === undefined) return;
    this.#owned.delete(name);
    group.markClosed(reason);
    this.#inboxes.get(name)?.end(reason);
    this.#inboxes.delete(name);
  }

  #onClosed(connection: Connection, error: ChorusError | undefined): void {
    // A connection that failed while the bus reconnects: the attempt sees its requests fail.
    if (connection !== this.#connection || this.#state === 'reconnecting' || this.#state === 'ended') return;
    if (
      error !== undefined &&
      this.#state === 'open' &&
      !this.#closing &&
      this.#reconnector !== undefined &&
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
    clearTimeout(this.#rejoinTimer);
    this.#pendingRejoins.clear();
    const waiting = this.#waiting;
    this.#waiting = [];
    const reason = error ?? new ConnectionClosedError('the bus was closed');
    for (const entry of waiting) entry.fail(reason);
    for (const sub of this.#allSubscriptions()) sub.end('disconnected', error);
    this.#monitor?.end('disconnected', error);
    this.#services.end('disconnected');
    this.#watch = undefined;
    this.#ended.emit(error);
    for (const group of this.#owned.values()) group.markClosed('shutdown');
    this.#owned.clear();
    this.#members.clear();
    this.#inboxes.clear();
    this.#resolveClosed(error);
  }

  #allSubscriptions(): Set<SubscriptionImpl> {
    return new Set([
      ...this.#members.values(),
      ...this.#inboxes.values(),
      ...[...this.#held.values()].map((held) => held.sub),
    ]);
  }

  // ---- reconnection ------------------------------------------------------------------------
  //
  //   open ──lost──▶ reconnecting: requests in flight reject, new ones wait (#waiting), subscriptions
  //                  are suspended, calls being served are aborted; 'disconnected'
  //     ┌──▶ wait backoffDelay(attempt) ('reconnecting') ─▶ dial ─▶ hello (+ joins) ─▶ restore:
  //     │      create groups ─▶ request names ─▶ join the other memberships   (pipelined, in order)
  //     └── failed (attempts left) ◀┘                                        │
  //   ended ◀── maxAttempts, or a refusal that cannot change ('reconnectFailed')
  //   open  ◀── restored: the waiting requests go out in call order; 'reconnected', 'gap'

  /** Makes the connection over `transport` the current one. */
  #attach(transport: Transport): Connection {
    const connection: Connection = new Connection(
      transport,
      {
        welcome: (message) => this.#onWelcome(message),
        signal: (message, payload) => this.#onSignal(message, payload),
        groupClosed: (notice) => this.#onGroupClosed(notice),
        invoke: (message: InvokeMessage, payload) => this.#services.invoke(message, payload),
        abort: (message: AbortMessage) => this.#services.abort(message),
        error: (error) => this.#errors.emit(error),
        closed: (error) => this.#onClosed(connection, error),
      },
      this.#settings,
    );
    this.#connection = connection;
    this.#contractCheck.forget();
    return connection;
  }

  #helloMessage(join: JoinSpec[]): Hello {
    const message: Hello = { t: 'hello', v: PROTOCOL_VERSION };
    if (join.length > 0) message.join = join;
    if (this.#hello.token !== undefined) message.token = this.#hello.token;
    if (this.#hello.client !== undefined) message.client = this.#hello.client;
    return message;
  }

  /** An app request: sent now, or once the bus has reconnected. */
  #request(message: RequestMessage, payload?: Uint8Array): Promise<Reply> {
    return this.#whenOpen((connection) => connection.request(message, payload));
  }

  /**
   * Runs `send` on the connection: now, unless the bus is reconnecting; then once it is restored,
   * synchronously and in call order with every other request that waited (so emits keep their
   * order). The wait ends early with the bounds' AbortError or TimeoutError, or when the bus ends.
   */
  #whenOpen<T>(send: (connection: Connection) => T | Promise<T>, bounds: WaitBounds = {}): Promise<T> {
    if (this.#state !== 'reconnecting') {
      try {
        return Promise.resolve(send(this.#connection));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const { signal, deadline, timeout } = bounds;
    const aborted = (): AbortError =>
      new AbortError('aborted while waiting for the bus to reconnect', { cause: signal?.reason });
    if (signal?.aborted) return Promise.reject(aborted());
    return new Promise<T>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = this.#waiting.indexOf(entry);
        if (index >= 0) this.#waiting.splice(index, 1);
      };
      const entry: Waiting = {
        run: (connection) => {
          done();
          try {
            resolve(send(connection));
          } catch (error) {
            reject(error);
          }
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      const onAbort = (): void => entry.fail(aborted());
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer =
        deadline === undefined
          ? undefined
          : setTimeout(
              () =>
                entry.fail(timeout?.() ?? new TimeoutError('timed out waiting for the bus to reconnect', 0)),
              Math.max(0, deadline - Date.now()),
            );
      this.#waiting.push(entry);
    });
  }

  /** The connection was lost and the bus reconnects: what lives on the bus is suspended. */
  #lost(error: ChorusError): void {
    this.#state = 'reconnecting';
    this.#lossReason = closedReasonOf(error);
    clearTimeout(this.#rejoinTimer);
    this.#pendingRejoins.clear();
    this.#services.abortAll('disconnected');
    for (const sub of this.#members.values()) sub.suspend();
    if (this.#monitorActive) this.#monitor?.suspend();
    this.#disconnected.emit(error);
    void this.#reconnect(error);
  }

  async #reconnect(cause: ChorusError): Promise<void> {
    const settings = this.#reconnector?.settings;
    if (settings === undefined) return;
    let last = cause;
    let attempt = 0;
    while (attempt < settings.maxAttempts) {
      attempt++;
      const delayMs = backoffDelay(attempt, settings);
      this.#reconnecting.emit(attempt, delayMs, last);
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
    this.#reconnectFailed.emit(failure);
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
    const reconnector = this.#reconnector;
    if (reconnector === undefined) throw new ConnectionClosedError('this bus does not reconnect');
    const attempt = new AbortController();
    const stop = (): void =>
      attempt.abort(new ConnectionClosedError('the bus was closed while reconnecting'));
    if (this.#stop.signal.aborted) stop();
    this.#stop.signal.addEventListener('abort', stop, { once: true });
    const { timeoutMs } = this.#settings;
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
        await connection.open(this.#helloMessage(specs));
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

  /**
   * What the hello of a reconnection joins: every membership the daemon had confirmed, except in
   * groups of our own (they do not exist before we create them again), and the waitForName watch.
   */
  #rejoinSpecs(): { specs: JoinSpec[]; subs: (SubscriptionImpl | undefined)[] } {
    const specs: JoinSpec[] = [];
    const subs: (SubscriptionImpl | undefined)[] = [];
    for (const [group, sub] of this.#members) {
      if (this.#owned.has(group) || sub.ended || !this.#joinedWith.has(sub)) continue;
      specs.push(joinSpec(group, this.#joinedWith.get(sub)));
      subs.push(sub);
    }
    if (this.#watch?.live === true && !this.#members.has(BUS_NAME)) {
      specs.push(WATCH_SPEC);
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
    const monitor = this.#monitor;
    if (this.#monitorActive && monitor !== undefined) {
      const reply = await connection.request(monitorMessage(monitor.groups));
      gaps.push(monitor.restarted(resultNumber(reply, 'startSeq')));
      return;
    }
    const steps: Promise<void>[] = [];
    // Names before groups (issue 11): a create before its name is refused under groupsRequireName.
    for (const [name, options] of [...this.#names]) steps.push(this.#rerequest(connection, name, options));
    for (const group of [...this.#owned.values()]) steps.push(this.#recreate(connection, group));
    for (const sub of [...this.#members.values()]) {
      if (inHello.has(sub) || sub.ended || !this.#joinedWith.has(sub)) continue;
      steps.push(this.#rejoin(connection, sub, gaps));
    }
    if (this.#watch?.live === true && !inHello.has(undefined) && !this.#members.has(BUS_NAME)) {
      steps.push(connection.request({ t: 'join', ...WATCH_SPEC }).then(() => undefined));
    }
    const outcomes = await Promise.allSettled(steps);
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    // Left by the app while its membership was being joined again: the daemon has it, so leave.
    for (const sub of inHello) {
      if (sub !== undefined && this.#members.get(sub.group) !== sub) {
        connection.request({ t: 'leave', g: sub.group }).catch(() => undefined);
      }
    }
  }

  /** Creates an owned group again; if it cannot be, the group closes and tells why. */
  async #recreate(connection: Connection, group: GroupImpl): Promise<void> {
    try {
      await connection.request(createMessage(group.name, group.creation));
    } catch (error) {
      if (connection.ended || !isChorusError(error)) throw error;
      group.fail(this.#lossReason, error);
      this.#groupGone(group.name, this.#lossReason);
    }
  }

  /** Requests a name again, with the flags of the app's last request; reports on `nameRequest`. */
  async #rerequest(connection: Connection, name: string, options: RequestNameOptions): Promise<void> {
    let result: NameRequestResult;
    try {
      const input = nameRequestInput(name, options);
      const { reply } = connection.call(
        { t: 'call', dest: BUS_NAME, m: 'RequestName', g: BUS_NAME },
        encodePayload(input),
      );
      const output = checkValue(BusContract.methods.RequestName.output, decodePayload((await reply).payload));
      if (!output.ok) throw new InvalidReplyError(describeIssues('RequestName', output.issues), REQUEST_NAME);
      result = (output.value as { result: NameRequestResult }).result;
    } catch (error) {
      if (connection.ended || !isChorusError(error)) throw error;
      this.#names.delete(name);
      this.#nameRequests.emit(name, undefined, error);
      return;
    }
    if (result === 'exists') this.#names.delete(name);
    this.#nameRequests.emit(name, result, undefined);
  }

  /** Joins a membership again; a group not created again yet is tried later (#scheduleRejoins). */
  async #rejoin(connection: Connection, sub: SubscriptionImpl, gaps: SubscriptionGap[]): Promise<void> {
    const { group } = sub;
    // Anything that arrives before the answer (a retained value) waits behind the gap.
    sub.suspend();
    let reply: Reply;
    try {
      reply = await connection.request({ t: 'join', ...joinSpec(group, this.#joinedWith.get(sub)) });
    } catch (error) {
      if (connection.ended || !isChorusError(error)) throw error;
      if (this.#members.get(group) !== sub || sub.ended) return;
      if (isChorusError(error, ErrorCode.UNKNOWN_GROUP)) {
        this.#pendingRejoins.add(sub);
        return;
      }
      this.#members.delete(group);
      sub.end('disconnected', error);
      return;
    }
    if (this.#members.get(group) !== sub || sub.ended) {
      // Left while reconnecting (locally only, see #leave): the daemon has it again, so leave. Once
      // open, leave() sent its own `leave` after this join, and a new join may already follow it.
      if (this.#state === 'reconnecting') connection.request({ t: 'leave', g: group }).catch(() => undefined);
      return;
    }
    gaps.push(sub.rejoined(resultNumber(reply, 'startSeq'), resultNumber(reply, 'startGroupSeq')));
  }

  /** The new connection is restored: open for the app again. */
  #reopened(reopening: Reopening): void {
    this.#state = 'open';
    for (const [sub, level] of this.#congested) this.#connection.setCongestion(sub, level);
    const waiting = this.#waiting;
    this.#waiting = [];
    // [GUARANTEE: order] what the app sent while disconnected goes out in call order, after the restore.
    for (const entry of waiting) entry.run(this.#connection);
    this.#reconnected.emit(this.#name);
    this.#gaps.emit({
      reason: 'reconnected',
      lastSeq: reopening.lastSeq,
      startSeq: reopening.startSeq,
      groups: reopening.gaps,
      pending: [...this.#pendingRejoins].map((sub) => sub.group),
    });
    if (this.#pendingRejoins.size > 0) this.#scheduleRejoins(1);
    // An owner may have appeared while we were away, unseen by the watch of a waitForName.
    for (const [name, waiters] of this.#nameWaiters) {
      this.getNameOwner(name).then(
        (owner) => {
          if (owner !== null) for (const waiter of [...waiters]) waiter(owner);
        },
        () => undefined,
      );
    }
  }

  /** Joins the memberships whose group did not exist yet again, with backoff, up to maxAttempts. */
  #scheduleRejoins(attempt: number): void {
    const settings = this.#reconnector?.settings;
    if (settings === undefined) return;
    if (attempt > settings.maxAttempts) {
      for (const sub of this.#pendingRejoins) {
        if (this.#members.get(sub.group) === sub) this.#members.delete(sub.group);
        sub.end(
          'disconnected',
          new BusError(ErrorCode.UNKNOWN_GROUP, `${sub.group} was not created again after the reconnection`),
        );
      }
      this.#pendingRejoins.clear();
      return;
    }
    this.#rejoinTimer = setTimeout(
      () => {
        const connection = this.#connection;
        if (this.#state !== 'open') return;
        const subs = [...this.#pendingRejoins];
        this.#pendingRejoins.clear();
        void Promise.allSettled(subs.map((sub) => this.#rejoin(connection, sub, []))).then(() => {
          if (this.#state === 'open' && this.#connection === connection && this.#pendingRejoins.size > 0) {
            this.#scheduleRejoins(attempt + 1);
          }
        });
      },
      backoffDelay(attempt, settings),
    );
  }
}

/** How often `call` with `waitForService` waits for an owner before giving up. */
const MAX_SERVICE_WAITS = 8;

/** Codes of `err` answers that are a call's own outcome (not a bus error such as LIMIT_EXCEEDED). */
const CALL_CODES: ReadonlySet<string> = new Set<string>([
  ErrorCode.SERVICE_UNKNOWN,
  ErrorCode.UNKNOWN_METHOD,
  ErrorCode.INVALID_ARGS,
  ErrorCode.INVALID_REPLY,
  ErrorCode.TIMEOUT,
  ErrorCode.NO_REPLY,
  ErrorCode.REMOTE_ERROR,
]);

function signalMeta(message: SignalMessage): SignalMeta {
  return {
    seq: message.seq,
    groupSeq: message.gseq,
    sender: message.from,
    group: message.g,
    signal: message.sig,
    retained: message.r === true,
  };
}

/**
 * Whether a membership with `filters` surely receives NameOwnerChanged for `name` (a condition on
 * another field could drop some, so it does not count).
 */
function admitsOwnerChanges(filters: WireFilter[] | undefined, name: string): boolean {
  if (filters === undefined || filters.length === 0) return true;
  return filters.some(
    (filter) =>
      (filter.sig === undefined || filter.sig === 'NameOwnerChanged') &&
      (filter.from === undefined || filter.from === BUS_NAME) &&
      Object.entries(filter.eq ?? {}).every(([key, value]) => key === 'name' && value === name),
  );
}

function sameGroups(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((group) => b.includes(group));
}

function checkTimeout(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${what} must be an integer >= 0 (ms), got ${String(value)}`);
  }
}

function describeIssues(prefix: string, issues: readonly ValidationIssue[]): string {
  const first = issues[0];
  if (first === undefined) return prefix;
  return `${prefix}: ${first.message}${first.path.length > 0 ? ` at ${first.path.join('.')}` : ''}`;
}

function groupName(target: GroupTarget): string {
  return typeof target === 'string' ? target : target.name;
}

function contractOf(target: GroupTarget): AnyGroupContract | undefined {
  return typeof target === 'string' ? undefined : target;
}

/** The waitForName watch: NameOwnerChanged only. */
const WATCH_SPEC: JoinSpec = { g: BUS_NAME, f: [{ sig: 'NameOwnerChanged' }] };

const REQUEST_NAME: CallTarget = { destination: BUS_NAME, method: 'RequestName' };

function joinSpec(group: string, filters: WireFilter[] | undefined): JoinSpec {
  return filters === undefined ? { g: group } : { g: group, f: filters };
}

function createMessage(name: string, { o, schema }: GroupCreation): RequestMessage {
  return {
    t: 'create',
    g: name,
    ...(o === undefined ? {} : { o }),
    ...(schema === undefined ? {} : { schema }),
  };
}

function monitorMessage(groups: readonly string[] | undefined): RequestMessage {
  return { t: 'monitor', ...(groups === undefined ? {} : { g: [...groups] }) };
}

function nameRequestInput(
  name: string,
  options: RequestNameOptions,
): MethodInput<typeof BusContract, 'RequestName'> {
  const flags: NonNullable<MethodInput<typeof BusContract, 'RequestName'>['flags']> = {};
  if (options.allowReplacement !== undefined) flags.allowReplacement = options.allowReplacement;
  if (options.replaceExisting !== undefined) flags.replaceExisting = options.replaceExisting;
  if (options.doNotQueue !== undefined) flags.doNotQueue = options.doNotQueue;
  return Object.keys(flags).length === 0 ? { name } : { name, flags };
}

/** How the daemon closed our groups when the connection went: what a group not created again reports. */
function closedReasonOf(error: ChorusError): GroupClosedReason {
  if (error instanceof ConnectionClosedError && error.reason !== undefined) return 'shutdown';
  return error.code === ErrorCode.SLOW_CONSUMER ? 'owner-evicted' : 'owner-left';
}

function groupOptions(options: CreateGroupOptions): GroupOptions | undefined {
  // Only the known keys: an options object may carry anything at runtime.
  checkGroupOptions(options);
  const o: GroupOptions = {};
  if (options.emitters !== undefined) o.emitters = options.emitters;
  if (options.loopback !== undefined) o.loopback = options.loopback;
  if (options.sendToPeer !== undefined) o.sendToPeer = options.sendToPeer;
  if (options.onFull !== undefined) o.onFull = options.onFull;
  if (options.retain !== undefined) o.retain = options.retain;
  return Object.keys(o).length === 0 ? undefined : o;
}

function resultNumber(reply: Reply, key: string): number {
  const value = reply.r?.[key];
  return typeof value === 'number' ? value : 0;
}

/** The error of an emit whose payload MessagePack cannot encode (a function, a bigint, ...). */
function unencodable(group: string, signal: string, cause: unknown): PayloadValidationError {
  const issue = {
    code: 'invalid_encoding',
    path: [],
    message: 'the payload cannot be encoded as MessagePack',
  };
  return new PayloadValidationError(group, signal, [issue], { cause });
}
