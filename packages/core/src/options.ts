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
  /** Bytes waiting in one connection's outbound queue before it counts as full. */
  readonly maxQueueBytes: number;
  /** Well-known names one connection may own or wait for. */
  readonly maxNamesPerConnection: number;
  /**
   * Milliseconds a full recipient may hold up a blocked message before it is evicted, on the
   * clock the driver passes in (chorusd: the time the daemon ran, so a freeze never counts).
   */
  readonly stallTimeoutMs: number;
}

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
