import type { EngineError } from './errors.js';
import type { Accepted, ConnectionId } from './message.js';

/** Who may emit on a group. `owner` (default) keeps a service's signals unspoofable. */
export type Emitters = 'owner' | 'members' | 'anyone';

/** What happens when a recipient's outbound queue has no room for a message. */
export type OnFull = 'block' | 'reject' | 'evict';

export interface GroupOptions {
  /** Who may emit: only the owner (default), the owner and members, or any connection. */
  readonly emitters: Emitters;
  /** Deliver a member's own messages back to it. Default false. */
  readonly loopback: boolean;
  /** Deliver members' messages to the owner too, once, without it being a member. Default false. */
  readonly sendToPeer: boolean;
  /** Policy when a recipient is full. Default `block`. */
  readonly onFull: OnFull;
  /** Keep the last message of each signal and replay it to joiners. Default false. */
  readonly retain: boolean;
}

export const defaultGroupOptions: GroupOptions = Object.freeze({
  emitters: 'owner',
  loopback: false,
  sendToPeer: false,
  onFull: 'block',
  retain: false,
});

/**
 * Every table and queue of the engine is bounded. 0 is never "unlimited".
 */
export interface EngineLimits {
  /** Connections at once. */
  readonly maxConnections: number;
  /** Groups on the whole bus. */
  readonly maxGroups: number;
  /** Groups one connection may own. */
  readonly maxGroupsPerConnection: number;
  /** Groups one connection may be a member of. */
  readonly maxMembershipsPerConnection: number;
  /** Filters on one membership (they are OR-ed). */
  readonly maxFiltersPerMembership: number;
  /** Field conditions in one filter. */
  readonly maxFieldsPerFilter: number;
  /** Bytes of retained messages one group keeps; the oldest signals' values are dropped past it. */
  readonly maxRetainedBytesPerGroup: number;
  /**
   * Bytes waiting in one connection's outbound queue before it counts as full. What the bus
   * itself queues (replies, errors, its own signals, notices) may take a queue past it, and
   * then `stallTimeoutMs` runs; replies and bus signals never past {@link QUEUE_CEILING_FACTOR}
   * times it: the connection is evicted instead.
   */
  readonly maxQueueBytes: number;
  /** Well-known names one connection may own or wait for. */
  readonly maxNamesPerConnection: number;
  /**
   * Milliseconds a full recipient may hold up a blocked message, or a queue may stay over
   * maxQueueBytes, before the connection is evicted as a slow consumer, on the clock the driver
   * passes in (chorusd: the time the daemon ran, so a freeze never counts).
   */
  readonly stallTimeoutMs: number;
}

/**
 * A queue's hard ceiling, in multiples of its maxQueueBytes. Replies, errors and the bus's own
 * signals are never held up or refused for lack of room (a reply must answer its request, a
 * name change must be sequenced when it happens), so they may fill a queue past maxQueueBytes,
 * but never past this many times it (an empty queue always takes one item): a connection they
 * would take past it is evicted as a slow consumer. (Group-closed notices and a join's retained
 * values are bounded otherwise: one notice per membership; a join is a request, and requests
 * are not read from a connection over maxQueueBytes.)
 */
export const QUEUE_CEILING_FACTOR = 2;

// [GUARANTEE: memory] a finite default for every limit.
export const defaultLimits: EngineLimits = Object.freeze({
  maxConnections: 4096,
  maxGroups: 65_536,
  maxGroupsPerConnection: 1024,
  maxMembershipsPerConnection: 4096,
  maxFiltersPerMembership: 32,
  maxFieldsPerFilter: 16,
  maxRetainedBytesPerGroup: 1024 * 1024, // 1 MiB
  maxQueueBytes: 8 * 1024 * 1024, // 8 MiB
  maxNamesPerConnection: 256,
  stallTimeoutMs: 10_000, // 10 s
});

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
