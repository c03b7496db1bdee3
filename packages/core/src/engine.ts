import { announce, type BusSignalSend, busMessage } from './bus-signals.js';
import { checkEmitter } from './emitters.js';
import {
  AlreadyMemberError,
  GroupExistsError,
  LimitExceededError,
  NotMemberError,
  NotOwnerError,
  QueueFullError,
  SenderBlockedError,
  UnknownConnectionError,
  UnknownGroupError,
} from './errors.js';
import { type Filter, LazyFields } from './filter.js';
import { FlowControl } from './flow-control.js';
import { checkFilters, type JoinResult, type JoinSpec, link, recipients, unlink } from './membership.js';
import {
  BUS_CONNECTION,
  type CloseReason,
  type ConnectionId,
  type EmitInput,
  type EmitOutcome,
  type GroupClosedNotice,
  type Item,
  type Message,
  type OutboundItem,
} from './message.js';
import { Monitors } from './monitors.js';
import {
  BUS_NAME,
  NameRegistry,
  type ReleaseNameResult,
  type RequestNameFlags,
  type RequestNameResult,
} from './name-registry.js';
import { assertGroupName, assertSignalName } from './names.js';
import {
  defaultLimits,
  type EngineHooks,
  type EngineLimits,
  type EngineOptions,
  type GroupOptions,
} from './options.js';
import { QueueBound } from './queue-bound.js';
import {
  type Connection,
  type ConnectionInfo,
  connectionInfo,
  type Group,
  type GroupInfo,
  type GroupStats,
  groupInfo,
  newConnection,
  newGroup,
  type PendingEmit,
} from './records.js';
import { replay, retain } from './retained.js';

export type { JoinResult, JoinSpec } from './membership.js';
// The engine's API speaks these; they are defined beside the concept they belong to.
export type {
  Accepted,
  Blocked,
  CloseReason,
  ConnectionId,
  DirectItem,
  EmitInput,
  EmitOutcome,
  GroupClosedNotice,
  Message,
  OutboundItem,
} from './message.js';
export { BUS_CONNECTION, uniqueName } from './message.js';
export type { EngineHooks, EngineOptions } from './options.js';
export type { ConnectionInfo, GroupInfo, GroupStats } from './records.js';

export interface ConnectOptions {
  /** Overrides `limits.maxQueueBytes` for this connection. */
  readonly maxQueueBytes?: number;
  /** Groups joined before the connection exists for anyone else: nothing can be missed (autojoin). */
  readonly join?: readonly JoinSpec[];
}

export interface EngineStats extends GroupStats {
  readonly connections: number;
  readonly groups: number;
  readonly evictions: number;
  /** Blocked emits waiting for room (`onFull: 'block'`). */
  readonly pending: number;
  /** Well-known names with an owner. */
  readonly names: number;
  readonly monitors: number;
  /** The last bus sequence number assigned. */
  readonly seq: number;
}

/**
 * The multicast engine: connections, groups and memberships (the seed's `unix_mcast` nodes,
 * linked both ways), and the delivery of each message to all of its recipients or none, in one
 * bus-wide order. It does no IO and reads no clock: the driver passes time in and drains queues.
 *
 * [GUARANTEE: atomicity] an emit is decided and queued inside one synchronous call.
 * [GUARANTEE: order] every queued message gets the next bus sequence number at the moment it
 * is queued, and queues are FIFO, so any two recipients see common messages in `seq` order.
 *
 * @example
 * const engine = new Engine<Uint8Array>();
 * const service = engine.connect().id;
 * const app = engine.connect().id;
 * engine.createGroup(service, 'org.example.Battery');
 * engine.join(app, 'org.example.Battery');
 * engine.emit({ sender: service, group: 'org.example.Battery', signal: 'LevelChanged', payload, size: payload.length });
 * engine.take(app); // [{ kind: 'signal', seq: 1, ... }]
 */
export class Engine<TPayload = unknown> {
  readonly limits: EngineLimits;
  readonly #hooks: EngineHooks;
  readonly #connections = new Map<ConnectionId, Connection<TPayload>>();
  readonly #groups = new Map<string, Group<TPayload>>();
  /** Blocked emits and the stall clocks of the recipients they wait on. */
  readonly #flow: FlowControl<TPayload>;
  /** What the bus queues on its own past maxQueueBytes: stall clocks, and the ceiling. */
  readonly #bound = new QueueBound<TPayload>();
  /** Connections that receive a copy of every signal; they never hold up a message. */
  readonly #monitors: Monitors<TPayload>;
  #nextId = 1;
  #seq = 0;
  #stamp = 0;
  #now = 0;
  #evictions = 0;
  readonly #totals: GroupStats = { messages: 0, deliveries: 0, bytes: 0 };
  readonly #names: NameRegistry;
  /** The bus itself: owner of `org.chorus.Bus`, sender of the signals it emits. Not in #connections. */
  readonly #bus: Connection<TPayload>;
  readonly #busGroup: Group<TPayload>;
  readonly #busPayload: (value: Record<string, unknown>) => { payload: TPayload; size: number };
  readonly #sendBusSignal: BusSignalSend<TPayload> = (signal, value, to) =>
    this.#busSignal(signal, value, to);
  readonly #decodeFields: ((payload: unknown) => unknown) | undefined;

  constructor(options: EngineOptions<TPayload> = {}) {
    this.limits = Object.freeze({ ...defaultLimits, ...options.limits });
    this.#hooks = options.hooks ?? {};
    this.#names = new NameRegistry(this.limits.maxNamesPerConnection);
    this.#busPayload = options.busPayload ?? ((value) => ({ payload: value as TPayload, size: 64 }));
    this.#decodeFields = options.decodeFields as ((payload: unknown) => unknown) | undefined;
    this.#monitors = new Monitors((connection) => this.#evict(connection));
    this.#flow = new FlowControl({
      attempt: (pending) => this.#retryAttempt(pending),
      evictOverflowed: () => {
        const connection = this.#bound.firstOverflowed();
        if (connection === undefined) return false;
        this.#evict(connection); // #remove takes it out of the bound's overflow
        return true;
      },
      settled: (sender, outcome) => this.#hooks.settled?.(sender, outcome),
    });
    this.#bus = newConnection(BUS_CONNECTION, Number.POSITIVE_INFINITY);
    this.#busGroup = newGroup(this.#bus, BUS_NAME, {}, undefined);
    this.#groups.set(BUS_NAME, this.#busGroup);
  }

  /** The last bus sequence number assigned (0 before the first message). */
  get seq(): number {
    return this.#seq;
  }

  // ---- connections ------------------------------------------------------------------------

  /**
   * Adds a connection. With `join`, it is a member of those groups before `connect` returns,
   * so it cannot miss a message accepted after that (autojoin). All joins succeed or none.
   */
  connect(options: ConnectOptions = {}): { id: ConnectionId; joined: JoinResult[] } {
    if (this.#connections.size >= this.limits.maxConnections) {
      throw new LimitExceededError('maxConnections', this.limits.maxConnections);
    }
    const joins = options.join ?? [];
    // Check every join first so that a failed connect leaves nothing behind.
    if (joins.length > this.limits.maxMembershipsPerConnection) {
      throw new LimitExceededError('maxMembershipsPerConnection', this.limits.maxMembershipsPerConnection);
    }
    const seen = new Set<string>();
    for (const spec of joins) {
      this.#groupOrThrow(spec.group);
      if (seen.has(spec.group)) throw new AlreadyMemberError(spec.group);
      seen.add(spec.group);
      checkFilters(spec.filters ?? [], this.limits);
    }
    const connection = newConnection<TPayload>(
      this.#nextId++,
      options.maxQueueBytes ?? this.limits.maxQueueBytes,
    );
    this.#connections.set(connection.id, connection);
    // [GUARANTEE: join] members before anyone can see the connection: nothing after welcome is missed.
    const joined = joins.map((spec) =>
      this.#join(connection, this.#groups.get(spec.group) as Group<TPayload>, spec.filters ?? []),
    );
    return { id: connection.id, joined };
  }

  // ---- names ------------------------------------------------------------------------------

  /**
   * Asks for a well-known name, with D-Bus semantics (queue, replacement). Ownership changes are
   * signals on `org.chorus.Bus` (NameOwnerChanged to its members; NameLost and NameAcquired to
   * the connections concerned), sequenced like any message, before this call returns.
   */
  requestName(id: ConnectionId, name: string, flags: RequestNameFlags = {}): RequestNameResult {
    this.#connectionOrThrow(id);
    const { result, changes } = this.#names.request(id, name, flags);
    announce(changes, this.#connections, this.#sendBusSignal);
    if (this.#bound.overflowing) this.#settle();
    return result;
  }

  releaseName(id: ConnectionId, name: string): ReleaseNameResult {
    this.#connectionOrThrow(id);
    const { result, changes } = this.#names.release(id, name);
    announce(changes, this.#connections, this.#sendBusSignal);
    if (this.#bound.overflowing) this.#settle();
    return result;
  }

  /** The primary owner of a well-known name, or the connection a unique name `:1.N` names. */
  nameOwner(name: string): ConnectionId | undefined {
    if (name.startsWith(':')) {
      const match = /^:1\.([1-9][0-9]{0,15})$/.exec(name);
      const id = match === null ? undefined : Number(match[1]);
      return id !== undefined && this.#connections.has(id) ? id : undefined;
    }
    return this.#names.owner(name);
  }

  names(): { name: string; owner: ConnectionId; queue: readonly ConnectionId[] }[] {
    return [...this.#names.list()];
  }

  // ---- monitors ---------------------------------------------------------------------------

  /**
   * Makes `id` a monitor: from now on it gets a copy of every signal (of `groups`, if given) in
   * bus order. It leaves its groups, its own groups close and its names go, since a monitor only
   * watches. A full monitor is evicted rather than allowed to hold up or reject anyone's message.
   *
   * A monitor of every group sees only the groups `may` allows (default: all). The engine knows
   * no policy: `may` is the driver's, asked once per group; it must not call back into the engine.
   */
  becomeMonitor(id: ConnectionId, groups?: readonly string[], may?: (group: string) => boolean): void {
    const connection = this.#connectionOrThrow(id);
    for (const group of groups ?? []) assertGroupName(group);
    for (const membership of [...connection.memberships.values()]) unlink(membership);
    for (const group of [...connection.owned.values()]) this.#close(group, 'owner-left');
    announce(this.#names.removeConnection(id), this.#connections, this.#sendBusSignal);
    this.#monitors.add(connection, groups, may);
    this.#settle();
  }

  /**
   * Replaces what a monitor of every group may see (the driver's policy changed): the decisions
   * kept so far are forgotten and each group is asked about again at its next signal.
   */
  setMonitorAccess(id: ConnectionId, may: (group: string) => boolean): void {
    this.#monitors.setAccess(this.#connectionOrThrow(id), may);
  }

  /** Removes a connection: it leaves every group, and the groups it owns close ('owner-left'). */
  disconnect(id: ConnectionId): void {
    const connection = this.#connections.get(id);
    if (connection === undefined) return;
    this.#remove(connection, 'owner-left');
    this.#settle();
  }

  has(id: ConnectionId): boolean {
    return this.#connections.has(id);
  }

  // ---- groups -----------------------------------------------------------------------------

  createGroup(
    owner: ConnectionId,
    name: string,
    options: Partial<GroupOptions> = {},
    meta?: unknown,
  ): GroupInfo {
    const connection = this.#connectionOrThrow(owner);
    assertGroupName(name);
    if (this.#groups.has(name)) throw new GroupExistsError(name);
    if (this.#groups.size >= this.limits.maxGroups) {
      throw new LimitExceededError('maxGroups', this.limits.maxGroups);
    }
    if (connection.owned.size >= this.limits.maxGroupsPerConnection) {
      throw new LimitExceededError('maxGroupsPerConnection', this.limits.maxGroupsPerConnection);
    }
    const group = newGroup(connection, name, options, meta);
    this.#groups.set(name, group);
    return groupInfo(group);
  }

  /** Closes a group its caller owns; members get a `group-closed` notice with reason 'closed'. */
  closeGroup(owner: ConnectionId, name: string): void {
    const connection = this.#connectionOrThrow(owner);
    const group = this.#groupOrThrow(name);
    if (group.owner !== connection) throw new NotOwnerError(name);
    this.#close(group, 'closed');
    this.#settle();
  }

  /**
   * Makes `id` a member of `group`. Retained values (if the group keeps them) are queued to it
   * at once, ahead of any live message; live messages start at `startSeq`.
   */
  join(
    id: ConnectionId,
    group: string,
    filters: readonly Filter[] = [],
    ahead?: (result: JoinResult) => { data: unknown; size: number },
  ): JoinResult {
    const connection = this.#connectionOrThrow(id);
    const target = this.#groupOrThrow(group);
    if (connection.memberships.has(group)) throw new AlreadyMemberError(group);
    if (connection.memberships.size >= this.limits.maxMembershipsPerConnection) {
      throw new LimitExceededError('maxMembershipsPerConnection', this.limits.maxMembershipsPerConnection);
    }
    checkFilters(filters, this.limits);
    return this.#join(connection, target, filters, ahead);
  }

  leave(id: ConnectionId, group: string): void {
    const connection = this.#connectionOrThrow(id);
    const membership = connection.memberships.get(group);
    if (membership === undefined) {
      this.#groupOrThrow(group);
      throw new NotMemberError(group);
    }
    unlink(membership);
    // Blocked emits to this group may have been waiting on this member (or, with sendToPeer,
    // on the owner because this member sent): their recipient set just changed.
    this.#flow.retryGroup(membership.group);
    this.#settle();
  }

  // ---- messages ---------------------------------------------------------------------------

  /**
   * Decides the recipients of one message and queues it to all of them, or to none.
   * Returns `accepted` with its sequence numbers, or `blocked` under `onFull: 'block'` when a
   * recipient is full: the message then waits (unsequenced) and `hooks.settled` reports it.
   * The driver must not pass further requests from a blocked sender until then.
   */
  emit(input: EmitInput<TPayload>, now: number = this.#now): EmitOutcome {
    this.#now = now;
    const sender = this.#connectionOrThrow(input.sender);
    if (sender.pending !== undefined) throw new SenderBlockedError(sender.id);
    const group = this.#groupOrThrow(input.group);
    if (!group.knownSignals.has(input.signal)) {
      assertSignalName(input.signal);
      if (group.knownSignals.size < 4096) group.knownSignals.add(input.signal);
    }
    checkEmitter(sender, group);
    try {
      const fields =
        input.fields === undefined
          ? new LazyFields(this.#decodeFields, input.payload)
          : new LazyFields(input.fields);
      return this.#attempt(sender, group, input, fields, undefined);
    } finally {
      this.#settle();
    }
  }

  /**
   * Queues a transport item (a reply, an error) to a connection, in order with its messages.
   * It is never refused for lack of room: it may take the queue past maxQueueBytes (see
   * `overBound`), but a connection it would take past the ceiling is evicted instead.
   */
  post(id: ConnectionId, data: unknown, size: number): void {
    const connection = this.#connectionOrThrow(id);
    this.#enqueueCapped(connection, { kind: 'direct', data, size });
    if (connection.overflowed) this.#settle();
  }

  /**
   * Takes queued items (at least one, if any, then up to `maxBytes`) for the transport to
   * write. Freeing room lets blocked emits waiting on this connection proceed.
   */
  take(
    id: ConnectionId,
    maxBytes = Number.POSITIVE_INFINITY,
    now: number = this.#now,
  ): OutboundItem<TPayload>[] {
    // The time matters to retried emits that block again: their new stall clocks start now.
    this.#now = now;
    const connection = this.#connections.get(id);
    if (connection === undefined) return [];
    const items = connection.queue.take(maxBytes);
    if (items.length > 0) {
      this.#bound.taken(connection);
      this.#flow.taken(connection);
      this.#settle();
    }
    return items;
  }

  /** Bytes waiting in a connection's queue. */
  queuedBytes(id: ConnectionId): number {
    return this.#connections.get(id)?.queue.bytes ?? 0;
  }

  /**
   * Whether a connection's queue holds more than its maxQueueBytes. The driver should then stop
   * reading the connection's requests until a `take` brings it back: their replies would only
   * grow it further.
   */
  overBound(id: ConnectionId): boolean {
    const connection = this.#connections.get(id);
    return connection !== undefined && connection.queue.bytes > connection.maxQueueBytes;
  }

  /**
   * Advances time: recipients that have held up a blocked message for `stallTimeoutMs`
   * without taking anything are evicted as slow consumers, and the message proceeds. So are
   * connections whose queue has stayed over maxQueueBytes for `stallTimeoutMs`, counted from
   * the first tick that saw it over (so never early, at most one tick late).
   */
  tick(now: number): ConnectionId[] {
    // [GUARANTEE: backpressure] a recipient stalled for stallTimeoutMs is evicted, the message goes on.
    this.#now = now;
    const stalled = new Set<Connection<TPayload>>();
    this.#bound.overdue(now, this.limits.stallTimeoutMs, stalled);
    this.#flow.stalled(now, this.limits.stallTimeoutMs, stalled);
    for (const connection of stalled) this.#evict(connection);
    this.#settle();
    return [...stalled].map((c) => c.id);
  }

  // ---- introspection ----------------------------------------------------------------------

  group(name: string): GroupInfo | undefined {
    const group = this.#groups.get(name);
    return group === undefined ? undefined : groupInfo(group);
  }

  /** The `meta` a group was created with (undefined for no such group): no copy, for hot paths. */
  groupMeta(name: string): unknown {
    return this.#groups.get(name)?.meta;
  }

  *groups(): IterableIterator<GroupInfo> {
    for (const group of this.#groups.values()) yield groupInfo(group);
  }

  /** The connection ids that are members of `group` (not counting the owner unless it joined). */
  members(group: string): ConnectionId[] {
    return [...this.#groupOrThrow(group).members.keys()];
  }

  connection(id: ConnectionId): ConnectionInfo | undefined {
    const c = this.#connections.get(id);
    return c === undefined ? undefined : connectionInfo(c, this.#names.ownedBy(c.id));
  }

  connectionIds(): ConnectionId[] {
    return [...this.#connections.keys()];
  }

  stats(): EngineStats {
    return {
      ...this.#totals,
      connections: this.#connections.size,
      groups: this.#groups.size - 1, // not counting the bus's own group
      evictions: this.#evictions,
      pending: this.#flow.size,
      names: this.#names.size,
      monitors: this.#monitors.size,
      seq: this.#seq,
    };
  }

  // ---- internals --------------------------------------------------------------------------

  /** After each operation: retries blocked emits and evicts overflowed connections (FlowControl.settle). */
  #settle(): void {
    // The common case, on every emit and take: nothing to retry, nobody to evict.
    if (this.#flow.retrying || this.#bound.overflowing) this.#flow.settle();
  }

  #connectionOrThrow(id: ConnectionId): Connection<TPayload> {
    const connection = this.#connections.get(id);
    if (connection === undefined) throw new UnknownConnectionError(id);
    return connection;
  }

  #groupOrThrow(name: string): Group<TPayload> {
    const group = this.#groups.get(name);
    if (group === undefined) {
      assertGroupName(name); // an invalid name deserves INVALID_NAME, not UNKNOWN_GROUP
      throw new UnknownGroupError(name);
    }
    return group;
  }

  #join(
    connection: Connection<TPayload>,
    group: Group<TPayload>,
    filters: readonly Filter[],
    ahead?: (result: JoinResult) => { data: unknown; size: number },
  ): JoinResult {
    link(connection, group, filters);
    const matching = replay(group, filters);
    // [GUARANTEE: join] live messages start at the next seq; retained values go first, marked.
    const result = {
      group: group.name,
      startSeq: this.#seq + 1,
      startGroupSeq: group.seq + 1,
      retained: matching.length,
    };
    // The driver's reply goes first, so a client learns of the membership before its retained values.
    // Counted, not capped: a join is a request, and the driver stops reading requests past the bound.
    if (ahead !== undefined) this.#enqueueCounted(connection, { kind: 'direct', ...ahead(result) });
    for (const { message } of matching)
      this.#enqueueCounted(connection, { ...message, retained: true, wire: undefined });
    return result;
  }

  #attempt(
    sender: Connection<TPayload>,
    group: Group<TPayload>,
    input: EmitInput<TPayload>,
    fields: LazyFields,
    pending: PendingEmit<TPayload> | undefined,
  ): EmitOutcome {
    let targets = recipients(group, input.origin ?? input.sender, input.signal, fields, ++this.#stamp);
    const size = input.size;
    let full: Connection<TPayload>[] | undefined;
    for (const connection of targets) {
      const bytes = connection.queue.bytes;
      // An empty queue always takes one message, so a message larger than the limit still moves.
      if (bytes > 0 && bytes + size > connection.maxQueueBytes) {
        full ??= [];
        full.push(connection);
      }
    }
    let evicted: ConnectionId[] = [];
    if (full !== undefined) {
      // [GUARANTEE: backpressure] a full recipient: the group's onFull decides; nothing is dropped silently.
      switch (group.options.onFull) {
        case 'reject':
          throw new QueueFullError(
            group.name,
            full.map((c) => c.id),
          );
        case 'evict': {
          for (const connection of full) this.#evict(connection);
          if (this.#groups.get(group.name) !== group) throw new UnknownGroupError(group.name);
          if (sender.gone) throw new UnknownConnectionError(sender.id);
          evicted = full.map((c) => c.id);
          targets = targets.filter((c) => !c.gone);
          break;
        }
        case 'block':
          this.#flow.block(sender, group, input, fields, pending, full, this.#now);
          return { status: 'blocked' };
      }
    }
    // [GUARANTEE: order] sequence at the moment of queueing, queue to all at once.
    const message: Message<TPayload> = {
      kind: 'signal',
      seq: ++this.#seq,
      groupSeq: ++group.seq,
      group: group.name,
      signal: input.signal,
      sender: input.origin ?? sender.id,
      payload: input.payload,
      size,
      retained: false,
      // Always set (undefined mostly), so that every message has the same shape on the hot path.
      tag: input.tag,
      wire: undefined,
    };
    // [GUARANTEE: atomicity] decided above; queued to every recipient in this same synchronous step.
    for (const connection of targets) this.#enqueue(connection, message);
    if (this.#monitors.size > 0)
      for (const monitor of this.#monitors.watchers(group.name, size)) this.#enqueue(monitor, message);
    if (group.options.retain) retain(group, message, fields, this.limits.maxRetainedBytesPerGroup);
    const delivered = targets.length;
    group.stats.messages++;
    group.stats.deliveries += delivered;
    group.stats.bytes += size * delivered;
    this.#totals.messages++;
    this.#totals.deliveries += delivered;
    this.#totals.bytes += size * delivered;
    return {
      status: 'accepted',
      seq: message.seq,
      groupSeq: message.groupSeq,
      recipients: delivered,
      evicted,
    };
  }

  /** A blocked emit's next try; its group may have closed while it waited. */
  #retryAttempt(pending: PendingEmit<TPayload>): EmitOutcome {
    if (this.#groups.get(pending.group.name) !== pending.group)
      throw new UnknownGroupError(pending.group.name);
    return this.#attempt(pending.sender, pending.group, pending.input, pending.fields, pending);
  }

  /**
   * A signal from the bus itself on `org.chorus.Bus`: to the group's members (filters apply),
   * or only to `to`. It is sequenced like any message, so it is ordered with all other traffic.
   * It is never held up: it is queued even to a full connection, up to the queue's ceiling.
   */
  #busSignal(signal: string, value: Record<string, unknown>, to?: Connection<TPayload>): void {
    const group = this.#busGroup;
    const { payload, size } = this.#busPayload(value);
    const targets =
      to === undefined
        ? recipients(group, BUS_CONNECTION, signal, new LazyFields(() => value), ++this.#stamp)
        : [to];
    const message = busMessage(++this.#seq, to === undefined ? ++group.seq : 0, signal, payload, size);
    for (const connection of targets) this.#enqueueCapped(connection, message);
    for (const monitor of this.#monitors.watchers(BUS_NAME, size)) this.#enqueue(monitor, message);
  }

  #enqueue(connection: Connection<TPayload>, item: Item<TPayload>): void {
    // [GUARANTEE: no-loss] what is queued stays until taken; only removing the connection drops it.
    const wasEmpty = connection.queue.length === 0;
    connection.queue.push(item);
    if (wasEmpty) this.#hooks.readable?.(connection.id);
  }

  /**
   * Queues what no `onFull` applies to (replies, the bus's signals, notices, a join's retained
   * values): it may take the queue past maxQueueBytes, and then the connection's stall clock
   * runs (see QueueBound) until a take brings it back.
   */
  #enqueueCounted(connection: Connection<TPayload>, item: Item<TPayload>): void {
    this.#enqueue(connection, item);
    this.#bound.counted(connection);
  }

  /** Like #enqueueCounted, for what others can send a connection without limit: never past the ceiling. */
  #enqueueCapped(connection: Connection<TPayload>, item: Item<TPayload>): void {
    if (this.#bound.admits(connection, item)) this.#enqueueCounted(connection, item);
  }

  #close(group: Group<TPayload>, reason: CloseReason): void {
    this.#groups.delete(group.name);
    group.owner.owned.delete(group.name);
    const notice: GroupClosedNotice = {
      kind: 'group-closed',
      group: group.name,
      reason,
      size: 64 + group.name.length,
    };
    for (const membership of [...group.members.values()]) {
      unlink(membership);
      // Counted, not capped: one notice per membership, and memberships are bounded.
      if (!membership.connection.gone) this.#enqueueCounted(membership.connection, notice);
    }
    this.#monitors.forgetGroup(group.name);
    // Emits waiting to go to this group now fail; let the retry report it.
    this.#flow.retryGroup(group);
  }

  #evict(connection: Connection<TPayload>): void {
    if (connection.gone) return;
    this.#evictions++;
    this.#remove(connection, 'owner-evicted');
    this.#hooks.evicted?.(connection.id);
  }

  #remove(connection: Connection<TPayload>, reason: CloseReason): void {
    // [GUARANTEE: isolation] a connection that goes leaves nothing: memberships, groups, names, emits.
    connection.gone = true;
    this.#connections.delete(connection.id);
    this.#bound.forget(connection);
    this.#flow.cancel(connection);
    this.#monitors.delete(connection);
    for (const membership of [...connection.memberships.values()]) unlink(membership);
    for (const group of [...connection.owned.values()]) this.#close(group, reason);
    announce(this.#names.removeConnection(connection.id), this.#connections, this.#sendBusSignal);
    this.#flow.unblock(connection);
    connection.queue.clear();
  }
}
