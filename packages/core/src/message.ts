import type { FieldsReader } from './filter.js';
import { BUS_NAME } from './name-registry.js';

/** A connection's id: unique for the engine's lifetime, never reused. */
export type ConnectionId = number;

/** The sender id of signals the bus emits itself; no connection has it. */
export const BUS_CONNECTION: ConnectionId = 0;

/** A connection's unique bus name, as D-Bus spells it: `:1.N`. */
export function uniqueName(id: ConnectionId): string {
  return id === BUS_CONNECTION ? BUS_NAME : `:1.${id}`;
}

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
  /** The driver's own data about the message (`EmitInput.tag`), carried, never read. */
  readonly tag?: unknown;
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

/** What the engine queues to a connection. */
export type Item<TPayload> = OutboundItem<TPayload, unknown>;

export interface EmitInput<TPayload> {
  readonly sender: ConnectionId;
  readonly group: string;
  readonly signal: string;
  readonly payload: TPayload;
  /** Bytes the message counts for in each recipient's queue. */
  readonly size: number;
  /** Decodes the payload's top-level fields; called at most once, only if a field filter needs it. */
  readonly fields?: FieldsReader;
  /**
   * The connection the message is from, when the driver emits it on that connection's behalf
   * (chorusd applying a federated message its own client published): it is the message's
   * `sender`, skipped without `loopback` and matched by sender filters. `sender` still passes the
   * emitters check and is the one a blocked emit holds up. Default: `sender`.
   */
  readonly origin?: ConnectionId;
  /** The driver's data about the message, copied to the `Message` (e.g. where it came from). */
  readonly tag?: unknown;
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
