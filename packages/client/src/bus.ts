/*
 * The typed API over one Connection: contracts, validation, subscriptions and owned groups.
 */

import {
  ErrorCode,
  encodePayload,
  type GroupClosedNotice,
  type GroupOptions,
  type Hello,
  type JoinSpec,
  type Limits,
  PROTOCOL_VERSION,
  type Reply,
  type SignalMessage,
  type Welcome,
  type Filter as WireFilter,
} from '@chorus/protocol';
import { Connection } from './connection.js';
import { type AnyGroupContract, checkPayload, type SignalName } from './contract.js';
import {
  BusError,
  type ChorusError,
  InvalidArgumentError,
  isChorusError,
  PayloadValidationError,
  ProtocolViolationError,
} from './errors.js';
import { type FilterInput, sameFilters, toWireFilters } from './filter.js';
import { type CreateGroupOptions, type EmitArgs, type EmitResult, type Group, GroupImpl } from './group.js';
import { Listeners } from './listeners.js';
import type { AutoJoin, Settings } from './options.js';
import { type CongestionLevel, type Subscription, SubscriptionImpl } from './subscription.js';
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
   * Settles when the connection has ended: with undefined after `close()`, else with why it ended
   * (ConnectionClosedError, a fatal BusError such as SLOW_CONSUMER, ...). Never rejects.
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
  /** Non-fatal connection-level errors (an `err` without serial, an unreadable frame). Returns the remover. */
  on(event: 'error', handler: (error: ChorusError) => void): () => void;
  /**
   * Closes the connection: subscriptions end (iterators finish after what they hold), emits not yet
   * sent reject, requests already sent get their answers, then the transport closes.
   */
  close(): Promise<void>;
}

type GroupTarget = AnyGroupContract | string;

/** The bus; `Bus` is its public face. */
export class BusImpl implements Bus {
  readonly #connection: Connection;
  readonly #settings: Settings;
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
  readonly closed: Promise<ChorusError | undefined>;
  #resolveClosed!: (error: ChorusError | undefined) => void;

  constructor(transport: Transport, settings: Settings, autoJoin: readonly AutoJoin[]) {
    this.#settings = settings;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#connection = new Connection(
      transport,
      {
        welcome: (message) => this.#onWelcome(message),
        signal: (message, payload) => this.#onSignal(message, payload),
        groupClosed: (notice) => this.#onGroupClosed(notice),
        error: (error) => this.#errors.emit(error),
        closed: (error) => this.#onClosed(error),
      },
      settings,
    );
    for (const entry of autoJoin) {
      const target = typeof entry === 'object' && 'group' in entry ? entry.group : entry;
      const filter = typeof entry === 'object' && 'group' in entry ? entry.filter : undefined;
      const name = groupName(target);
      if (this.#held.has(name)) throw new InvalidArgumentError(`${name} is listed twice in join`);
      const sub = this.#subscription(name, contractOf(target));
      const held = { sub, filters: toWireFilters(filter) };
      this.#autoJoin.push(held);
      this.#held.set(name, held);
      // Routed from the start: signals may follow the welcome in the very same chunk.
      this.#members.set(name, sub);
    }
  }

  /** Sends `hello`; resolves once welcomed. */
  async handshake(hello: { token?: string | undefined; client?: string | undefined }): Promise<this> {
    const message: Hello = { t: 'hello', v: PROTOCOL_VERSION };
    if (this.#autoJoin.length > 0) {
      message.join = this.#autoJoin.map(({ sub, filters }): JoinSpec => {
        const spec: JoinSpec = { g: sub.group };
        if (filters !== undefined) spec.f = filters;
        return spec;
      });
    }
    if (hello.token !== undefined) message.token = hello.token;
    if (hello.client !== undefined) message.client = hello.client;
    await this.#connection.open(message);
    return this;
  }

  /** Ends the connection at once (a failed or cancelled connect). */
  abort(error: ChorusError): Promise<void> {
    return this.#connection.abort(error);
  }

  get name(): string {
    return this.#name;
  }

  get limits(): Readonly<Limits> {
    return this.#limits;
  }

  on(event: 'error', handler: (error: ChorusError) => void): () => void {
    if (event !== 'error') throw new InvalidArgumentError(`unknown bus event '${String(event)}'`);
    return this.#errors.add(handler);
  }

  createGroup<TContract extends AnyGroupContract>(
    contract: TContract,
    options?: CreateGroupOptions,
  ): Promise<Group<TContract>>;
  createGroup(name: string, options?: CreateGroupOptions): Promise<Group>;
  async createGroup(target: GroupTarget, options: CreateGroupOptions = {}): Promise<unknown> {
    const name = groupName(target);
    const contract = contractOf(target);
    const o = groupOptions(options);
    const schema = contract?.jsonSchema();
    await this.#connection.request({
      t: 'create',
      g: name,
      ...(o === undefined ? {} : { o }),
      ...(schema === undefined ? {} : { schema }),
    });
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
    const group = new GroupImpl(name, contract, inbox, {
      emit: (group, groupContract, signal, payload) => this.#emit(group, groupContract, signal, payload),
      close: (group) => this.#closeGroup(group),
    });
    this.#owned.set(name, group);
    return group;
  }

  join<TContract extends AnyGroupContract>(
    contract: TContract,
    options?: JoinOptions<TContract>,
  ): Promise<Subscription<TContract>>;
  join(name: string, options?: JoinOptions): Promise<Subscription>;
  async join(target: GroupTarget, options: JoinOptions = {}): Promise<unknown> {
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
    const leaving = this.#leaving.get(name);
    if (leaving !== undefined) await leaving;
    if (this.#members.has(name)) {
      // What the daemon would answer, without the round trip (and without disturbing the routing).
      throw new BusError(ErrorCode.ALREADY_MEMBER, `already a member of ${name}`);
    }
    const sub = this.#subscription(name, contract);
    // Routed before the request: the daemon may replay a retained value before its `ok`.
    this.#members.set(name, sub);
    try {
      const reply = await this.#connection.request({
        t: 'join',
        g: name,
        ...(filters === undefined ? {} : { f: filters }),
      });
      sub.start(resultNumber(reply, 'startSeq'), resultNumber(reply, 'startGroupSeq'));
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
    await this.#connection.request({ t: 'ping' });
  }

  async close(): Promise<void> {
    // Nothing is delivered after close(); ending first also lifts any pause, so the answers to
    // requests already sent can be read.
    for (const sub of this.#allSubscriptions()) sub.end('disconnected');
    await this.#connection.close();
  }

  // Everything up to the send runs synchronously, so emits leave in call order.
  async #emit(
    name: string,
    contract: AnyGroupContract | undefined,
    signal: string,
    payload: unknown,
  ): Promise<EmitResult> {
    if (contract !== undefined) {
      const check = checkPayload(contract, signal, payload);
      if (!check.ok) throw check.error;
    }
    let bytes: Uint8Array;
    try {
      // The value as given (the schema's input form) goes on the wire; receivers parse it again.
      bytes = encodePayload(payload);
    } catch (cause) {
      const issue = {
        code: 'invalid_encoding',
        path: [],
        message: 'the payload cannot be encoded as MessagePack',
      };
      throw new PayloadValidationError(name, signal, [issue], { cause });
    }
    const reply = await this.#connection.emit(name, signal, bytes);
    return {
      seq: resultNumber(reply, 'seq'),
      groupSeq: resultNumber(reply, 'gseq'),
      recipients: resultNumber(reply, 'n'),
    };
  }

  async #closeGroup(name: string): Promise<void> {
    try {
      await this.#connection.request({ t: 'close', g: name });
    } catch (error) {
      // Already gone is what close wants (a gclosed may have crossed our request).
      if (!isChorusError(error, ErrorCode.UNKNOWN_GROUP)) throw error;
    }
    this.#groupGone(name, 'closed');
  }

  #leave(name: string, sub: object): Promise<void> {
    if (this.#members.get(name) === sub) this.#members.delete(name);
    const done = this.#connection.request({ t: 'leave', g: name }).then(
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
    this.#connection.setCongestion(sub, level);
  };

  #onWelcome(message: Welcome): void {
    this.#name = message.name;
    this.#limits = message.limits;
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
    // A membership takes precedence: the daemon sends a sendToPeer owner that is also a member one copy.
    const sub = this.#members.get(message.g) ?? this.#inboxes.get(message.g);
    // No subscription: the group was left (signals after leave are dropped).
    sub?.deliver(message, payload);
  }

  #onGroupClosed(notice: GroupClosedNotice): void {
    const sub = this.#members.get(notice.g);
    if (sub !== undefined) {
      this.#members.delete(notice.g);
      sub.end(notice.reason);
    }
    this.#groupGone(notice.g, notice.reason);
  }

  #groupGone(name: string, reason: GroupClosedNotice['reason']): void {
    const group = this.#owned.get(name);
    if (group === undefined) return;
    this.#owned.delete(name);
    group.markClosed(reason);
    this.#inboxes.get(name)?.end(reason);
    this.#inboxes.delete(name);
  }

  #onClosed(error: ChorusError | undefined): void {
    for (const sub of this.#allSubscriptions()) sub.end('disconnected', error);
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
}

function groupName(target: GroupTarget): string {
  return typeof target === 'string' ? target : target.name;
}

function contractOf(target: GroupTarget): AnyGroupContract | undefined {
  return typeof target === 'string' ? undefined : target;
}

function groupOptions(options: CreateGroupOptions): GroupOptions | undefined {
  // Only the known keys: an options object may carry anything at runtime.
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
