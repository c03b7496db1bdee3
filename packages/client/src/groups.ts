/*
 * The groups this connection owns (created, closed, created again after a reconnection, with the
 * inbox of a sendToPeer group), and emitting into any group: the emit hot path.
 */

import { ErrorCode, encodePayload, type GroupClosedReason, isProtocolError } from '@chorus/protocol';
import type { GroupTarget } from './bus-types.js';
import { contractOf, groupName } from './bus-types.js';
import type { Connection } from './connection.js';
import { type AnyGroupContract, checkPayload } from './contract.js';
import { type ChorusError, ConnectionClosedError, isChorusError, PayloadValidationError } from './errors.js';
import type { CreateGroupOptions } from './group.js';
import { type EmitResult, type GroupHost, GroupImpl } from './group.js';
import type { Link } from './held-requests.js';
import type { MonitorGuard } from './monitor-mode.js';
import { type SubscriptionEndReason, SubscriptionImpl, type SubscriptionLimits } from './subscription.js';
import { createMessage, groupOptions } from './wire-requests.js';

/** What owned groups need from the bus. */
export interface GroupsHost {
  readonly link: Link;
  readonly limits: SubscriptionLimits;
  readonly monitor: MonitorGuard;
}

/** The groups of one bus, and its emits. */
export class Groups implements GroupHost {
  readonly #link: Link;
  readonly #monitor: MonitorGuard;
  readonly #limits: SubscriptionLimits;
  readonly #owned = new Map<string, GroupImpl>();
  /** Inboxes of owned `sendToPeer` groups: members' signals come to the owner without a membership. */
  readonly #inboxes = new Map<string, SubscriptionImpl>();
  /** Why the lost connection took our groups with it, should one not be created again. */
  #lossReason: GroupClosedReason = 'owner-left';

  constructor(host: GroupsHost) {
    this.#link = host.link;
    this.#monitor = host.monitor;
    this.#limits = host.limits;
  }

  owns(name: string): boolean {
    return this.#owned.has(name);
  }

  inbox(name: string): SubscriptionImpl | undefined {
    return this.#inboxes.get(name);
  }

  async create(target: GroupTarget, options: CreateGroupOptions = {}): Promise<GroupImpl> {
    this.#monitor.assertNotMonitor();
    const name = groupName(target);
    const contract = contractOf(target);
    const o = groupOptions(options);
    const schema = contract?.jsonSchema();
    const creation = { o, schema };
    await this.#link.request(createMessage(name, creation));
    let inbox: SubscriptionImpl | undefined;
    if (options.sendToPeer === true) {
      // Not a membership: leaving it only stops local delivery.
      inbox = new SubscriptionImpl(
        name,
        contract,
        { congestion: this.#link.congestion, leave: async () => {} },
        this.#limits,
      );
      this.#inboxes.set(name, inbox);
    }
    const group = new GroupImpl(name, contract, inbox, this, creation);
    this.#owned.set(name, group);
    return group;
  }

  // Everything up to the send runs synchronously, so emits leave in call order. Not async: one
  // promise per emit, the connection's (an async function would add its own and an await).
  emit(
    name: string,
    contract: AnyGroupContract | undefined,
    signal: string,
    payload: unknown,
  ): Promise<EmitResult> {
    try {
      this.#monitor.assertNotMonitor();
      if (contract !== undefined) {
        const check = checkPayload(contract, signal, payload);
        if (!check.ok) throw check.error;
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const live = this.#link.live;
    if (live !== undefined) {
      // The usual case: the value is encoded straight into the frame (the connection throws only
      // when it cannot be encoded).
      try {
        return live.emit(name, signal, payload);
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
    return this.#link.whenOpen((connection) => connection.emitPayload(name, signal, bytes));
  }

  /**
   * A publish: checked and sent like an emit, but nothing answers it when the daemon accepts it.
   * Throws what the SDK can tell at once (PayloadValidationError, MessageTooLargeError, closed);
   * the daemon's refusals come later as PublishErrors. Returns a promise only when the caller must
   * wait: the window is full, or the bus is reconnecting.
   */
  publish(
    name: string,
    contract: AnyGroupContract | undefined,
    signal: string,
    payload: unknown,
  ): Promise<void> | undefined {
    this.#monitor.assertNotMonitor();
    if (contract !== undefined) {
      const check = checkPayload(contract, signal, payload);
      if (!check.ok) throw check.error;
    }
    const live = this.#link.live;
    if (live !== undefined) {
      try {
        return live.publish(name, signal, payload);
      } catch (cause) {
        throw isProtocolError(cause) ? unencodable(name, signal, cause) : cause;
      }
    }
    let bytes: Uint8Array;
    try {
      bytes = encodePayload(payload);
    } catch (cause) {
      throw unencodable(name, signal, cause);
    }
    // [GUARANTEE: order] held in call order with the bus's other requests until it reconnects.
    return this.#link.whenOpen((connection) => connection.publishPayload(name, signal, bytes));
  }

  async close(name: string): Promise<void> {
    if (this.#link.live === undefined) {
      // It went with the lost connection; not creating it again is all that is left to do.
      this.gone(name, 'closed');
      return;
    }
    try {
      await this.#link.request({ t: 'close', g: name });
    } catch (error) {
      // Already gone is what close wants (a gclosed may have crossed our request).
      if (!isChorusError(error, ErrorCode.UNKNOWN_GROUP)) throw error;
    }
    this.gone(name, 'closed');
  }

  /** The group is closed (by us, or by the daemon's `gclosed`). */
  gone(name: string, reason: GroupClosedReason): void {
    const group = this.#owned.get(name);
    if (group === undefined) return;
    this.#owned.delete(name);
    group.markClosed(reason);
    this.#inboxes.get(name)?.end(reason);
    this.#inboxes.delete(name);
  }

  /** The connection was lost, and our groups with it. */
  lost(error: ChorusError): void {
    this.#lossReason = closedReasonOf(error);
  }

  /** Creates each group again on `connection` (a reconnection's restore). */
  restore(connection: Connection): Promise<void>[] {
    return [...this.#owned.values()].map((group) => this.#recreate(connection, group));
  }

  /** `close()`: the inboxes deliver nothing any more. */
  closeInboxes(): void {
    for (const inbox of this.#inboxes.values()) inbox.end('disconnected');
  }

  /**
   * The groups are gone: the bus ended (`shutdown`, inboxes `disconnected` with `error`), or
   * became a monitor (`owner-left`, inboxes `left`).
   */
  end(reason: GroupClosedReason, inboxReason: SubscriptionEndReason, error?: ChorusError): void {
    for (const inbox of this.#inboxes.values()) inbox.end(inboxReason, error);
    for (const group of this.#owned.values()) group.markClosed(reason);
    this.#owned.clear();
    this.#inboxes.clear();
  }

  /** Creates an owned group again; if it cannot be, the group closes and tells why. */
  async #recreate(connection: Connection, group: GroupImpl): Promise<void> {
    try {
      await connection.request(createMessage(group.name, group.creation));
    } catch (error) {
      if (connection.ended || !isChorusError(error)) throw error;
      group.fail(this.#lossReason, error);
      this.gone(group.name, this.#lossReason);
    }
  }
}

/** How the daemon closed our groups when the connection went: what a group not created again reports. */
function closedReasonOf(error: ChorusError): GroupClosedReason {
  if (error instanceof ConnectionClosedError && error.reason !== undefined) return 'shutdown';
  return error.code === ErrorCode.SLOW_CONSUMER ? 'owner-evicted' : 'owner-left';
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
