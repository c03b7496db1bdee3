import type { Filter, LazyFields } from './filter.js';
import type { ConnectionId, EmitInput, Item, Message } from './message.js';
import { defaultGroupOptions, type GroupOptions } from './options.js';
import { OutboundQueue } from './outbound-queue.js';

/*
 * The engine's records (the seed's `unix_mcast` nodes), linked both ways:
 *
 *   Connection ──memberships[group]──▶ Membership ◀──members[id]── Group
 *        │  ▲                           │      │                   │ ▲
 *        │  └──────── connection ───────┘      └───── group ──────▶┘ │
 *        └──owned[name]──────────────────────────────────────────────┘ (group.owner)
 *
 *   Group index of its members (see membership.ts): every membership is in exactly one of
 *     open                      no filters
 *     wildcard and/or bySignal  a filter without a signal / under each signal its filters name
 *
 *   PendingEmit (a blocked emit, see flow-control.ts) ◀──▶ Connection
 *     sender.pending === p                 for the sender's own blocked emit
 *     c ∈ p.waitingOn  ⇔  p ∈ c.blocking   for each recipient that had no room at the last attempt
 *     c.stalledSince !== undefined  ⇒  c.blocking.size > 0
 *
 * A removed connection is marked `gone` and unlinked from all of these in the same operation.
 */

export interface Connection<TPayload> {
  readonly id: ConnectionId;
  readonly queue: OutboundQueue<Item<TPayload>>;
  readonly maxQueueBytes: number;
  readonly memberships: Map<string, Membership<TPayload>>;
  readonly owned: Map<string, Group<TPayload>>;
  /** Blocked emits (of other senders) waiting for room in this connection's queue. */
  readonly blocking: Set<PendingEmit<TPayload>>;
  /** When this connection first held up a blocked emit without taking anything since. */
  stalledSince: number | undefined;
  /** In QueueBound's over: the bus itself queued it past maxQueueBytes, and it has not taken enough since. */
  over: boolean;
  /** The first tick that saw it over maxQueueBytes: its stall clock as a slow reader. */
  overSince: number | undefined;
  /** In QueueBound's overflow: past its ceiling, evicted once the current operation is over. */
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
export interface MonitorAccess {
  readonly may: (group: string) => boolean;
  readonly decided: Map<string, boolean>;
}

export interface Membership<TPayload> {
  readonly connection: Connection<TPayload>;
  readonly group: Group<TPayload>;
  readonly filters: readonly Filter[];
}

export interface Retained<TPayload> {
  readonly message: Message<TPayload>;
  /** The emit's own decoded fields, shared so that replays do not read the payload again. */
  readonly fields: LazyFields;
}

export interface GroupStats {
  messages: number;
  deliveries: number;
  bytes: number;
}

export interface Group<TPayload> {
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

export interface PendingEmit<TPayload> {
  readonly sender: Connection<TPayload>;
  readonly group: Group<TPayload>;
  readonly input: EmitInput<TPayload>;
  /** Shared by every attempt, so the payload is read at most once per emit. */
  readonly fields: LazyFields;
  /** Recipients that had no room at the last attempt. */
  waitingOn: Connection<TPayload>[];
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

export function newConnection<TPayload>(id: ConnectionId, maxQueueBytes: number): Connection<TPayload> {
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

/** A new group, already in its owner's `owned`. */
export function newGroup<TPayload>(
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
  owner.owned.set(name, group);
  return group;
}

export function groupInfo<TPayload>(group: Group<TPayload>): GroupInfo {
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

export function connectionInfo<TPayload>(c: Connection<TPayload>, names: readonly string[]): ConnectionInfo {
  return {
    id: c.id,
    queuedBytes: c.queue.bytes,
    queuedItems: c.queue.length,
    maxQueueBytes: c.maxQueueBytes,
    memberships: [...c.memberships.keys()],
    owned: [...c.owned.keys()],
    names,
    blocked: c.pending !== undefined,
    monitor: c.monitor !== undefined,
    monitoring: c.monitor === undefined || c.monitor === null ? undefined : [...c.monitor],
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] !== undefined) out[key] = value[key];
  return out;
}
