import {
  AlreadyMemberError,
  type EngineError,
  GroupExistsError,
  LimitExceededError,
  NotMemberError,
  NotOwnerError,
  NotPermittedError,
  QueueFullError,
  SenderBlockedError,
  UnknownConnectionError,
  UnknownGroupError,
} from './errors.js';
import { anyFilterMatches, type FieldsReader, type Filter, LazyFields } from './filter.js';
import {
  BUS_NAME,
  NameRegistry,
  type OwnerChange,
  type ReleaseNameResult,
  type RequestNameFlags,
  type RequestNameResult,
} from './name-registry.js';
import { assertGroupName, assertSignalName, signalNameProblem } from './names.js';
import {
  defaultGroupOptions,
  defaultLimits,
  type EngineLimits,
  type GroupOptions,
  QUEUE_CEILING_FACTOR,
} from './options.js';
import { OutboundQueue } from './outbound-queue.js';

/** A connection's id: unique for the engine's lifetime, never reused. */
export type ConnectionId = number;

/** Why a group closed; members are told in a `group-closed` notice, in order with their messages. */
export type CloseReason = 'closed' | 'owner-left' | 'owner-evicted' | 'shutdown';

/** One accepted message. The same object is queued to every recipient. */
export interface Message<TPayload> {
  readonly kind: 'signal';
  /** Bus-wide sequence number: one total order for every message on the bus. */
  readonly seq: number;
  /** The group's own contiguous counter: an unfiltered member can prove it missed nothing. */
  readonly groupSeq: number;
  readonly group: string;
  readonly signal: string;
  /** Set by the engine from the emitting connection, never by the sender. */
  readonly sender: ConnectionId;
  readonly payload: TPayload;
  /** Bytes this message counts for in an outbound queue. */
  readonly size: number;
  /** True for a retained value replayed to a joiner; its `seq` is then older than the join. */
  readonly retained: boolean;
  /** A slot for the transport: the encoded frame, made once and written to every recipient. */
  wire: unknown;
}

export interface GroupClosedNotice {
  readonly kind: 'group-closed';
  readonly group: string;
  readonly reason: CloseReason;
  readonly size: number;
}

/** Anything else the transport wants delivered in order with the messages (replies, errors). */
export interface DirectItem<TDirect> {
  readonly kind: 'direct';
  readonly data: TDirect;
  readonly size: number;
}

export type OutboundItem<TPayload, TDirect = unknown> =
  | Message<TPayload>
  | GroupClosedNotice
  | DirectItem<TDirect>;

export interface EmitInput<TPayload> {
  readonly sender: ConnectionId;
  readonly group: string;
  readonly signal: string;
  readonly payload: TPayload;
  /** Bytes the message counts for in each recipient's queue. */
  readonly size: number;
  /** Decodes the payload's top-level fields; called at most once, only if a field filter needs it. */
  readonly fields?: FieldsReader;
}

export interface Accepted {
  readonly status: 'accepted';
  readonly seq: number;
  readonly groupSeq: number;
  /** How many connections the message was queued to. */
  readonly recipients: number;
  /** Recipients evicted as slow consumers so that the message could go out (`onFull: 'evict'`). */
  readonly evicted: readonly ConnectionId[];
}

/** `onFull: 'block'`: the message waits for room; `settled` reports its outcome later. */
export interface Blocked {
  readonly status: 'blocked';
}

export type EmitOutcome = Accepted | Blocked;

export interface JoinSpec {
  readonly group: string;
  readonly filters?: readonly Filter[];
}

export interface JoinResult {
  readonly group: string;
  /** The first bus sequence number this membership can receive (live messages). */
  readonly startSeq: number;
  /** The first group sequence number this membership can receive. */
  readonly startGroupSeq: number;
  /** Retained values queued to the joiner ahead of any live message. */
  readonly retained: number;
}

/** How the engine tells its driver that something happened. Hooks must not call back into the engine. */
export interface EngineHooks {
  /** The connection's queue went from empty to non-empty. */
  readable?(connection: ConnectionId): void;
  /** The connection was evicted as a slow consumer and no longer exists in the engine. */
  evicted?(connection: ConnectionId): void;
  /** A blocked emit was accepted, or failed (e.g. its group closed while it waited). */
  settled?(sender: ConnectionId, outcome: Accepted | EngineError): void;
}

export interface EngineOptions<TPayload = unknown> {
  readonly limits?: Partial<EngineLimits>;
  readonly hooks?: EngineHooks;
  /**
   * Turns the value of a signal the bus itself emits (NameOwnerChanged, …) into a payload. The
   * engine has no codec: the daemon passes its own. Default: the value as is, counted as 64 bytes.
   */
  readonly busPayload?: (value: Record<string, unknown>) => { payload: TPayload; size: number };
  /**
   * Decodes a payload's top-level fields for field filters, when an emit brings no `fields`
   * reader of its own: one decoder for every message, called only if a filter needs it.
   */
  readonly decodeFields?: (payload: TPayload) => unknown;
}

/** The sender id of signals the bus emits itself; no connection has it. */
export const BUS_CONNECTION: ConnectionId = 0;

/** A connection's unique bus name, as D-Bus spells it: `:1.N`. */
export function uniqueName(id: ConnectionId): string {
  return id === BUS_CONNECTION ? BUS_NAME : `:1.${id}`;
}

export interface ConnectOptions {
  /** Overrides `limits.maxQueueBytes` for this connection. */
  readonly maxQueueBytes?: number;
  /** Groups joined before the connection exists for anyone else: nothing can be missed (autojoin). */
  readonly join?: readonly JoinSpec[];
}

export interface GroupStats {
  messages: number;
  deliveries: number;
  bytes: number;
}

export interface GroupInfo {
  readonly name: string;
  readonly owner: ConnectionId;
  readonly options: GroupOptions;
  readonly meta: unknown;
  readonly members: number;
  /** The last group sequence number assigned. */
  readonly seq: number;
  readonly retainedBytes: number;
  readonly stats: Readonly<GroupStats>;
}

export interface ConnectionInfo {
  readonly id: ConnectionId;
  readonly queuedBytes: number;
  readonly queuedItems: number;
  readonly maxQueueBytes: number;
  readonly memberships: readonly string[];
  readonly owned: readonly string[];
  /** Well-known names it is the primary owner of. */
  readonly names: readonly string[];
  readonly blocked: boolean;
  /** It is a monitor: a copy of every signal (of `monitoring`, if not all groups). */
  readonly monitor: boolean;
  readonly monitoring: readonly string[] | undefined;
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

type Item<TPayload> = OutboundItem<TPayload, unknown>;

interface Connection<TPayload> {
  readonly id: ConnectionId;
  readonly queue: OutboundQueue<Item<TPayload>>;
  readonly maxQueueBytes: number;
  readonly memberships: Map<string, Membership<TPayload>>;
  readonly owned: Map<string, Group<TPayload>>;
  /** Blocked emits (of other senders) waiting for room in this connection's queue. */
  readonly blocking: Set<PendingEmit<TPayload>>;
  /** When this connection first held up a blocked emit without taking anything since. */
  stalledSince: number | undefined;
  /** In #over: the bus itself queued it past maxQueueBytes, and it has not taken enough since. */
  over: boolean;
  /** The first tick that saw it over maxQueueBytes: its stall clock as a slow reader. */
  overSince: number | undefined;
  /** In #overflow: past its ceiling, evicted once the current operation is over. */
  overflowed: boolean;
  /** This connection's own emit, waiting for room. */
  pending: PendingEmit<TPayload> | undefined;
  /** De-duplicates recipients within one emit without allocating a set. */
  stamp: number;
  gone: boolean;
  /** Not a monitor (undefined), a monitor of every group (null), or of these groups. */
  monitor: ReadonlySet<string> | null | undefined;
  /** For a monitor of every group: which groups it may see, if the driver restricts it. */
  watch: MonitorAccess | undefined;
}

/**
 * The driver's answer to "may this monitor see the signals of group G?", asked once per group and
 * kept until the driver replaces the predicate (its policy changed) or the group closes: the hot
 * path pays one Map lookup per monitor, never a policy evaluation.
 */
interface MonitorAccess {
  readonly may: (group: string) => boolean;
  readonly decided: Map<string, boolean>;
}

interface Membership<TPayload> {
  readonly connection: Connection<TPayload>;
  readonly group: Group<TPayload>;
  readonly filters: readonly Filter[];
}

interface Retained<TPayload> {
  readonly message: Message<TPayload>;
  /** The emit's own decoded fields, shared so that replays do not read the payload again. */
  readonly fields: LazyFields;
}

interface Group<TPayload> {
  readonly name: string;
  readonly owner: Connection<TPayload>;
  readonly options: GroupOptions;
  readonly meta: unknown;
  readonly members: Map<ConnectionId, Membership<TPayload>>;
  /** Members without filters: every message goes to them, no matching needed. */
  readonly open: Set<Membership<TPayload>>;
  /** Members with a filter that names no signal: checked for every message. */
  readonly wildcard: Set<Membership<TPayload>>;
  /** Members with filters naming a signal, by that signal: only they are checked for it. */
  readonly bySignal: Map<string, Set<Membership<TPayload>>>;
  /** Signal names already validated on this group, so the hot path skips the grammar check. */
  readonly knownSignals: Set<string>;
  readonly retained: Map<string, Retained<TPayload>>;
  retainedBytes: number;
  seq: number;
  readonly stats: GroupStats;
}

interface PendingEmit<TPayload> {
  readonly sender: Connection<TPayload>;
  readonly group: Group<TPayload>;
  readonly input: EmitInput<TPayload>;
  /** Shared by every attempt, so the payload is read at most once per emit. */
  readonly fields: LazyFields;
  /** Recipients that had no room at the last attempt. */
  waitingOn: Connection<TPayload>[];
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
  /** Blocked emits, oldest first: room is given to them in the order they blocked. */
  readonly #pending = new Set<PendingEmit<TPayload>>();
  /** Blocked emits to try again once the current operation is over (never re-entrantly). */
  readonly #retry = new Set<PendingEmit<TPayload>>();
  #settling = false;
  #nextId = 1;
  #seq = 0;
  #stamp = 0;
  #now = 0;
  #evictions = 0;
  readonly #totals: GroupStats = { messages: 0, deliveries: 0, bytes: 0 };
  readonly #names: NameRegistry;
  /** Connections whose queue the bus itself took over maxQueueBytes: each on its stall clock. */
  readonly #over = new Set<Connection<TPayload>>();
  /** Connections past their queue's ceiling, evicted in #settle (never in the middle of a fan-out). */
  readonly #overflow = new Set<Connection<TPayload>>();
  /** Connections that receive a copy of every signal; they never hold up a message. */
  readonly #monitors = new Set<Connection<TPayload>>();
  /** The bus itself: owner of `org.chorus.Bus`, sender of the signals it emits. Not in #connections. */
  readonly #bus: Connection<TPayload>;
  readonly #busGroup: Group<TPayload>;
  readonly #busPayload: (value: Record<string, unknown>) => { payload: TPayload; size: number };
  readonly #decodeFields: ((payload: unknown) => unknown) | undefined;

  constructor(options: EngineOptions<TPayload> = {}) {
    this.limits = Object.freeze({ ...defaultLimits, ...options.limits });
    this.#hooks = options.hooks ?? {};
    this.#names = new NameRegistry(this.limits.maxNamesPerConnection);
    this.#busPayload = options.busPayload ?? ((value) => ({ payload: value as TPayload, size: 64 }));
    this.#decodeFields = options.decodeFields as ((payload: unknown) => unknown) | undefined;
    this.#bus = this.#newConnection(BUS_CONNECTION, Number.POSITIVE_INFINITY);
    this.#busGroup = this.#newGroup(this.#bus, BUS_NAME, {}, undefined);
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
      this.#checkFilters(spec.filters ?? []);
    }
    const connection = this.#newConnection(
      this.#nextId++,
      options.maxQueueBytes ?? this.limits.maxQueueBytes,
    );
    this.#connections.set(connection.id, connection);
    // [GUARANTEE: join] members before anyone can see the connection: nothing after welcome is missed.
    const joined = joins.map((spec) => this.#join(connection, spec.group, spec.filters ?? []));
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
    this.#announce(changes);
    if (this.#overflow.size > 0) this.#settle();
    return result;
  }

  releaseName(id: ConnectionId, name: string): ReleaseNameResult {
    this.#connectionOrThrow(id);
    const { result, changes } = this.#names.release(id, name);
    this.#announce(changes);
    if (this.#overflow.size > 0) this.#settle();
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
    for (const membership of [...connection.memberships.values()]) this.#unlink(membership);
    for (const group of [...connection.owned.values()]) this.#close(group, 'owner-left');
    this.#announce(this.#names.removeConnection(id));
    connection.monitor = groups === undefined ? null : new Set(groups);
    connection.watch = groups === undefined && may !== undefined ? { may, decided: new Map() } : undefined;
    this.#monitors.add(connection);
    this.#settle();
  }

  /**
   * Replaces what a monitor of every group may see (the driver's policy changed): the decisions
   * kept so far are forgotten and each group is asked about again at its next signal.
   */
  setMonitorAccess(id: ConnectionId, may: (group: string) => boolean): void {
    const connection = this.#connectionOrThrow(id);
    if (connection.monitor !== null) return;
    connection.watch = { may, decided: new Map() };
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
    return this.#groupInfo(this.#newGroup(connection, name, options, meta));
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
    this.#checkFilters(filters);
    return this.#join(connection, target.name, filters, ahead);
  }

  leave(id: ConnectionId, group: string): void {
    const connection = this.#connectionOrThrow(id);
    const membership = connection.memberships.get(group);
    if (membership === undefined) {
      this.#groupOrThrow(group);
      throw new NotMemberError(group);
    }
    this.#unlink(membership);
    // Blocked emits to this group may have been waiting on this member (or, with sendToPeer,
    // on the owner because this member sent): their recipient set just changed.
    for (const pending of this.#pending) if (pending.group === membership.group) this.#retry.add(pending);
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
    this.#checkEmitter(sender, group);
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
      connection.stalledSince = undefined;
      if (connection.over && connection.queue.bytes <= connection.maxQueueBytes) {
        connection.over = false;
        connection.overSince = undefined;
        this.#over.delete(connection);
      }
      for (const pending of connection.blocking) this.#retry.add(pending);
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
    // [GUARANTEE: memory] a queue the bus took over maxQueueBytes must come back within stallTimeoutMs.
    for (const connection of this.#over) {
      if (connection.overSince === undefined) connection.overSince = now;
      else if (now - connection.overSince >= this.limits.stallTimeoutMs) stalled.add(connection);
    }
    for (const pending of this.#pending) {
      for (const connection of pending.waitingOn) {
        if (
          connection.stalledSince !== undefined &&
          now - connection.stalledSince >= this.limits.stallTimeoutMs
        ) {
          stalled.add(connection);
        }
      }
    }
    for (const connection of stalled) this.#evict(connection);
    this.#settle();
    return [...stalled].map((c) => c.id);
  }

  // ---- introspection ----------------------------------------------------------------------

  group(name: string): GroupInfo | undefined {
    const group = this.#groups.get(name);
    return group === undefined ? undefined : this.#groupInfo(group);
  }

  /** The `meta` a group was created with (undefined for no such group): no copy, for hot paths. */
  groupMeta(name: string): unknown {
    return this.#groups.get(name)?.meta;
  }

  *groups(): IterableIterator<GroupInfo> {
    for (const group of this.#groups.values()) yield this.#groupInfo(group);
  }

  /** The connection ids that are members of `group` (not counting the owner unless it joined). */
  members(group: string): ConnectionId[] {
    return [...this.#groupOrThrow(group).members.keys()];
  }

  connection(id: ConnectionId): ConnectionInfo | undefined {
    const c = this.#connections.get(id);
    if (c === undefined) return undefined;
    return {
      id: c.id,
      queuedBytes: c.queue.bytes,
      queuedItems: c.queue.length,
      maxQueueBytes: c.maxQueueBytes,
      memberships: [...c.memberships.keys()],
      owned: [...c.owned.keys()],
      names: this.#names.ownedBy(c.id),
      blocked: c.pending !== undefined,
      monitor: c.monitor !== undefined,
      monitoring: c.monitor === undefined || c.monitor === null ? undefined : [...c.monitor],
    };
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
      pending: this.#pending.size,
      names: this.#names.size,
      monitors: this.#monitors.size,
      seq: this.#seq,
    };
  }

  // ---- internals --------------------------------------------------------------------------

  #newConnection(id: ConnectionId, maxQueueBytes: number): Connection<TPayload> {
    return {
      id,
      queue: new OutboundQueue(),
      maxQueueBytes,
      memberships: new Map(),
      owned: new Map(),
      blocking: new Set(),
      stalledSince: undefined,
      over: false,
      overSince: undefined,
      overflowed: false,
      pending: undefined,
      stamp: 0,
      gone: false,
      monitor: undefined,
      watch: undefined,
    };
  }

  #newGroup(
    owner: Connection<TPayload>,
    name: string,
    options: Partial<GroupOptions>,
    meta: unknown,
  ): Group<TPayload> {
    const group: Group<TPayload> = {
      name,
      owner,
      options: Object.freeze({ ...defaultGroupOptions, ...definedOnly(options) }),
      meta,
      members: new Map(),
      open: new Set(),
      wildcard: new Set(),
      bySignal: new Map(),
      knownSignals: new Set(),
      retained: new Map(),
      retainedBytes: 0,
      seq: 0,
      stats: { messages: 0, deliveries: 0, bytes: 0 },
    };
    this.#groups.set(name, group);
    owner.owned.set(name, group);
    return group;
  }

  /** Turns name owner changes into the bus's signals, in the order D-Bus sends them. */
  #announce(changes: readonly OwnerChange[]): void {
    // [GUARANTEE: causal-order] sequenced: no one sees a new owner's signal before the change.
    for (const { name, oldOwner, newOwner } of changes) {
      const lost = oldOwner === undefined ? undefined : this.#connections.get(oldOwner);
      const acquired = newOwner === undefined ? undefined : this.#connections.get(newOwner);
      if (lost !== undefined) this.#busSignal('NameLost', { name }, lost);
      this.#busSignal('NameOwnerChanged', {
        name,
        oldOwner: oldOwner === undefined ? null : uniqueName(oldOwner),
        newOwner: newOwner === undefined ? null : uniqueName(newOwner),
      });
      if (acquired !== undefined) this.#busSignal('NameAcquired', { name }, acquired);
    }
  }

  /**
   * A signal from the bus itself on `org.chorus.Bus`: to the group's members (filters apply),
   * or only to `to`. It is sequenced like any message, so it is ordered with all other traffic.
   * It is never held up: it is queued even to a full connection, up to the queue's ceiling.
   */
  #busSignal(signal: string, value: Record<string, unknown>, to?: Connection<TPayload>): void {
    const group = this.#busGroup;
    const { payload, size } = this.#busPayload(value);
    const input: EmitInput<TPayload> = { sender: BUS_CONNECTION, group: BUS_NAME, signal, payload, size };
    const recipients = to === undefined ? this.#recipients(group, input, new LazyFields(() => value)) : [to];
    const message: Message<TPayload> = {
      kind: 'signal',
      seq: ++this.#seq,
      // A directed signal is not part of the group's stream: members must see no gap for it.
      groupSeq: to === undefined ? ++group.seq : 0,
      group: BUS_NAME,
      signal,
      sender: BUS_CONNECTION,
      payload,
      size,
      retained: false,
      wire: undefined,
    };
    for (const connection of recipients) this.#enqueueCapped(connection, message);
    for (const monitor of this.#watchers(BUS_NAME, size)) this.#enqueue(monitor, message);
  }

  /** The monitors that get a copy of a message to `group`. A full one is evicted, never waited for. */
  #watchers(group: string, size: number): Connection<TPayload>[] {
    // [GUARANTEE: backpressure] a full monitor is evicted, never waited for, never a cause of rejection.
    const out: Connection<TPayload>[] = [];
    for (const monitor of this.#monitors) {
      if (monitor.monitor != null && !monitor.monitor.has(group)) continue;
      if (monitor.watch !== undefined && !mayWatch(monitor.watch, group)) continue;
      const bytes = monitor.queue.bytes;
      if (bytes > 0 && bytes + size > monitor.maxQueueBytes) {
        this.#evict(monitor);
        continue;
      }
      out.push(monitor);
    }
    return out;
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

  #checkEmitter(sender: Connection<TPayload>, group: Group<TPayload>): void {
    // [GUARANTEE: access] the group's emitters option: by default only its owner may emit.
    const { emitters } = group.options;
    if (emitters === 'anyone' || sender === group.owner) return;
    if (emitters === 'members' && group.members.has(sender.id)) return;
    throw new NotPermittedError(
      group.name,
      emitters === 'owner'
        ? `only the owner may emit on '${group.name}'`
        : `only the owner and members may emit on '${group.name}'`,
    );
  }

  #checkFilters(filters: readonly Filter[]): void {
    if (filters.length > this.limits.maxFiltersPerMembership) {
      throw new LimitExceededError('maxFiltersPerMembership', this.limits.maxFiltersPerMembership);
    }
    for (const filter of filters) {
      if (filter.signal !== undefined && signalNameProblem(filter.signal) !== undefined) {
        assertSignalName(filter.signal);
      }
      if (filter.fields !== undefined && Object.keys(filter.fields).length > this.limits.maxFieldsPerFilter) {
        throw new LimitExceededError('maxFieldsPerFilter', this.limits.maxFieldsPerFilter);
      }
    }
  }

  #join(
    connection: Connection<TPayload>,
    name: string,
    filters: readonly Filter[],
    ahead?: (result: JoinResult) => { data: unknown; size: number },
  ): JoinResult {
    const group = this.#groups.get(name) as Group<TPayload>;
    const membership: Membership<TPayload> = { connection, group, filters: Object.freeze([...filters]) };
    group.members.set(connection.id, membership);
    connection.memberships.set(name, membership);
    this.#index(membership);
    const matching = [...group.retained.values()].filter(
      ({ message, fields }) =>
        filters.length === 0 || anyFilterMatches(filters, message.signal, message.sender, fields),
    );
    // [GUARANTEE: join] live messages start at the next seq; retained values go first, marked.
    const result = {
      group: name,
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

  #index(membership: Membership<TPayload>): void {
    const { group, filters } = membership;
    if (filters.length === 0) {
      group.open.add(membership);
      return;
    }
    for (const filter of filters) {
      if (filter.signal === undefined) {
        group.wildcard.add(membership);
      } else {
        let set = group.bySignal.get(filter.signal);
        if (set === undefined) {
          set = new Set();
          group.bySignal.set(filter.signal, set);
        }
        set.add(membership);
      }
    }
  }

  #unlink(membership: Membership<TPayload>): void {
    const { group, connection, filters } = membership;
    group.members.delete(connection.id);
    connection.memberships.delete(group.name);
    group.open.delete(membership);
    group.wildcard.delete(membership);
    for (const filter of filters) {
      if (filter.signal === undefined) continue;
      const set = group.bySignal.get(filter.signal);
      if (set === undefined) continue;
      set.delete(membership);
      if (set.size === 0) group.bySignal.delete(filter.signal);
    }
  }

  /** The exact recipient set of one message. Cost grows with the members checked, not the bus. */
  #recipients(
    group: Group<TPayload>,
    input: EmitInput<TPayload>,
    fields: LazyFields,
  ): Connection<TPayload>[] {
    const stamp = ++this.#stamp;
    const sender = input.sender;
    const skipSender = !group.options.loopback;
    const out: Connection<TPayload>[] = [];
    for (const membership of group.open) {
      const connection = membership.connection;
      if (skipSender && connection.id === sender) continue;
      connection.stamp = stamp;
      out.push(connection);
    }
    const bySignal = group.bySignal.get(input.signal);
    if (group.wildcard.size > 0 || bySignal !== undefined) {
      const consider = (membership: Membership<TPayload>): void => {
        const connection = membership.connection;
        if (connection.stamp === stamp || (skipSender && connection.id === sender)) return;
        if (!anyFilterMatches(membership.filters, input.signal, sender, fields)) return;
        connection.stamp = stamp;
        out.push(connection);
      };
      for (const membership of group.wildcard) consider(membership);
      if (bySignal !== undefined) for (const membership of bySignal) consider(membership);
    }
    // Send-to-peer: the owner hears its members without being one (the seed's UNIX_MREQ_SEND_TO_PEER).
    const owner = group.owner;
    if (
      group.options.sendToPeer &&
      owner.id !== sender &&
      owner.stamp !== stamp &&
      group.members.has(sender)
    ) {
      owner.stamp = stamp;
      out.push(owner);
    }
    return out;
  }

  #attempt(
    sender: Connection<TPayload>,
    group: Group<TPayload>,
    input: EmitInput<TPayload>,
    fields: LazyFields,
    pending: PendingEmit<TPayload> | undefined,
  ): EmitOutcome {
    let recipients = this.#recipients(group, input, fields);
    const size = input.size;
    let full: Connection<TPayload>[] | undefined;
    for (const connection of recipients) {
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
          recipients = recipients.filter((c) => !c.gone);
          break;
        }
        case 'block': {
          const waiting = pending ?? { sender, group, input, fields, waitingOn: [] };
          const before = waiting.waitingOn;
          waiting.waitingOn = full;
          for (const connection of full) {
            connection.blocking.add(waiting);
            connection.stalledSince ??= this.#now;
          }
          for (const connection of before) if (!full.includes(connection)) this.#release(connection, waiting);
          if (pending === undefined) {
            sender.pending = waiting;
            this.#pending.add(waiting);
          }
          return { status: 'blocked' };
        }
      }
    }
    // [GUARANTEE: order] sequence at the moment of queueing, queue to all at once.
    const message: Message<TPayload> = {
      kind: 'signal',
      seq: ++this.#seq,
      groupSeq: ++group.seq,
      group: group.name,
      signal: input.signal,
      sender: sender.id,
      payload: input.payload,
      size,
      retained: false,
      wire: undefined,
    };
    // [GUARANTEE: atomicity] decided above; queued to every recipient in this same synchronous step.
    for (const connection of recipients) this.#enqueue(connection, message);
    if (this.#monitors.size > 0)
      for (const monitor of this.#watchers(group.name, size)) this.#enqueue(monitor, message);
    if (group.options.retain) this.#retain(group, message, fields);
    const delivered = recipients.length;
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

  /** Keeps the last value of each signal; past the byte limit, the least recently updated go. */
  #retain(group: Group<TPayload>, message: Message<TPayload>, fields: LazyFields): void {
    // [GUARANTEE: memory] bounded by maxRetainedBytesPerGroup.
    const previous = group.retained.get(message.signal);
    if (previous !== undefined) {
      group.retained.delete(message.signal);
      group.retainedBytes -= previous.message.size;
    }
    const max = this.limits.maxRetainedBytesPerGroup;
    if (message.size > max) return; // too large to keep; a stale older value must not be replayed either
    for (const [signal, entry] of group.retained) {
      if (group.retainedBytes + message.size <= max) break;
      group.retained.delete(signal);
      group.retainedBytes -= entry.message.size;
    }
    group.retained.set(message.signal, { message, fields });
    group.retainedBytes += message.size;
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
   * runs (see tick) until a take brings it back.
   */
  #enqueueCounted(connection: Connection<TPayload>, item: Item<TPayload>): void {
    this.#enqueue(connection, item);
    if (!connection.over && connection.queue.bytes > connection.maxQueueBytes) {
      connection.over = true;
      this.#over.add(connection);
    }
  }

  /**
   * Like #enqueueCounted, for what others can send a connection without limit (bus signals,
   * posts: call invocations, replies): never past the ceiling. A connection the item would take
   * past it is marked for eviction and gets nothing more, since eviction drops its queue.
   */
  #enqueueCapped(connection: Connection<TPayload>, item: Item<TPayload>): void {
    // [GUARANTEE: memory] these never take a queue past QUEUE_CEILING_FACTOR × maxQueueBytes (one item if empty).
    if (connection.gone || connection.overflowed) return;
    const queue = connection.queue;
    if (queue.length > 0 && queue.bytes + item.size > connection.maxQueueBytes * QUEUE_CEILING_FACTOR) {
      connection.overflowed = true;
      this.#overflow.add(connection);
      return;
    }
    this.#enqueueCounted(connection, item);
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
      this.#unlink(membership);
      // Counted, not capped: one notice per membership, and memberships are bounded.
      if (!membership.connection.gone) this.#enqueueCounted(membership.connection, notice);
    }
    // [GUARANTEE: memory] a monitor's kept decisions cover live groups only.
    for (const monitor of this.#monitors) monitor.watch?.decided.delete(group.name);
    // Emits waiting to go to this group now fail; let the retry report it.
    for (const pending of this.#pending) if (pending.group === group) this.#retry.add(pending);
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
    this.#over.delete(connection);
    this.#overflow.delete(connection);
    const own = connection.pending;
    if (own !== undefined) {
      connection.pending = undefined;
      this.#pending.delete(own);
      this.#retry.delete(own);
      for (const c of own.waitingOn) this.#release(c, own);
    }
    this.#monitors.delete(connection);
    for (const membership of [...connection.memberships.values()]) this.#unlink(membership);
    for (const group of [...connection.owned.values()]) this.#close(group, reason);
    this.#announce(this.#names.removeConnection(connection.id));
    for (const pending of connection.blocking) this.#retry.add(pending);
    connection.blocking.clear();
    connection.queue.clear();
  }

  /** `connection` no longer holds up `pending`; its stall clock stops once it holds up nothing. */
  #release(connection: Connection<TPayload>, pending: PendingEmit<TPayload>): void {
    connection.blocking.delete(pending);
    if (connection.blocking.size === 0) connection.stalledSince = undefined;
  }

  /**
   * Tries blocked emits again, oldest first, until none can make progress, and evicts the
   * connections past their queue's ceiling: here, once the operation that overfilled them is
   * over, so that no eviction's own signals and notices cut into the middle of a fan-out.
   */
  #settle(): void {
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
        if (this.#overflow.size === 0) break;
        // #remove takes it out of #overflow; evicting it may retry emits or overfill others.
        for (const connection of this.#overflow) {
          this.#evict(connection);
          break;
        }
      }
    } finally {
      this.#settling = false;
    }
  }

  #retryOne(pending: PendingEmit<TPayload>): void {
    const { sender } = pending;
    let outcome: EmitOutcome | EngineError;
    try {
      if (this.#groups.get(pending.group.name) !== pending.group)
        throw new UnknownGroupError(pending.group.name);
      outcome = this.#attempt(sender, pending.group, pending.input, pending.fields, pending);
    } catch (error) {
      outcome = error as EngineError;
    }
    if (!(outcome instanceof Error) && outcome.status === 'blocked') return;
    for (const connection of pending.waitingOn) this.#release(connection, pending);
    this.#pending.delete(pending);
    if (sender.pending === pending) sender.pending = undefined;
    if (!sender.gone) this.#hooks.settled?.(sender.id, outcome);
  }

  #groupInfo(group: Group<TPayload>): GroupInfo {
    return {
      name: group.name,
      owner: group.owner.id,
      options: group.options,
      meta: group.meta,
      members: group.members.size,
      seq: group.seq,
      retainedBytes: group.retainedBytes,
      stats: { ...group.stats },
    };
  }
}

/** Whether a monitor of every group may see `group`: the driver is asked once, then remembered. */
function mayWatch(access: MonitorAccess, group: string): boolean {
  // [GUARANTEE: access] a monitor of every group gets only the groups its driver lets it see.
  let allowed = access.decided.get(group);
  if (allowed === undefined) {
    allowed = access.may(group);
    access.decided.set(group, allowed);
  }
  return allowed;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] !== undefined) out[key] = value[key];
  return out;
}
