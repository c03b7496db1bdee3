/*
 * Monitor mode: a connection that asked to become a monitor gets a copy of every signal it
 * watches, from the moment `monitor` is sent, and may send nothing but pings from then on.
 */

import { ErrorCode, type Reply, type SignalMessage } from '@chorus/protocol';
import type { Connection } from './connection.js';
import { BusError, type ChorusError, InvalidArgumentError } from './errors.js';
import type { Link } from './held-requests.js';
import { type Monitor, MonitorImpl } from './monitor.js';
import { checkMonitorGroups } from './options.js';
import type { SubscriptionGap, SubscriptionLimits } from './subscription.js';
import { monitorMessage, resultNumber } from './wire-requests.js';

/** What the other parts of the bus need to know of monitor mode. */
export interface MonitorGuard {
  /** Set from the moment `monitor` is sent (before the daemon's answer). */
  readonly requested: boolean;
  /** Throws MONITOR_ONLY once monitor mode was asked for: what the daemon would answer. */
  assertNotMonitor(): void;
}

/** What monitor mode needs from the bus. */
export interface MonitorHost {
  readonly link: Link;
  readonly limits: SubscriptionLimits;
  /** Signals that arrived while `monitor` was refused: ordinary traffic after all. */
  route(message: SignalMessage, payload: Uint8Array): void;
  /** The daemon made us a monitor: everything that was ours on the bus is gone. */
  became(): void;
}

/** A bus's monitor mode: off until `become`. */
export class MonitorMode implements MonitorGuard {
  readonly #host: MonitorHost;
  /** Set from the moment `monitor` is sent: from then on every signal it watches goes to it. */
  #monitor: MonitorImpl | undefined;
  #ready: Promise<Monitor> | undefined;
  #active = false;

  constructor(host: MonitorHost) {
    this.#host = host;
  }

  get requested(): boolean {
    return this.#monitor !== undefined;
  }

  /** Whether the daemon made this connection a monitor. */
  get active(): boolean {
    return this.#active;
  }

  /** The monitor stream, once active. */
  get current(): Monitor | undefined {
    return this.#active ? this.#monitor : undefined;
  }

  assertNotMonitor(): void {
    if (this.#monitor !== undefined) {
      // What the daemon would answer, without the round trip.
      throw new BusError(ErrorCode.MONITOR_ONLY, 'a monitor connection can send nothing but pings');
    }
  }

  /** Takes `message` if the monitor watches its group; false: route it as usual. */
  claims(message: SignalMessage, payload: Uint8Array): boolean {
    const monitor = this.#monitor;
    if (monitor?.watches(message.g) !== true) return false;
    // [GUARANTEE: order] from the moment `monitor` is sent, the monitor gets what it watches in
    // wire order; until the daemon's `ok` that is still ordinary traffic, in bus order too.
    monitor.deliver(message, payload);
    return true;
  }

  async become(groups?: readonly string[]): Promise<Monitor> {
    const watched = checkMonitorGroups(groups);
    if (this.#monitor !== undefined && this.#ready !== undefined) {
      if (!sameGroups(this.#monitor.groups, watched)) {
        throw new InvalidArgumentError('this connection is already a monitor, of other groups');
      }
      return this.#ready;
    }
    const link = this.#host.link;
    const monitor = new MonitorImpl(
      watched,
      { congestion: link.congestion, leave: async () => {} },
      this.#host.limits,
    );
    this.#monitor = monitor;
    const ready = (async (): Promise<Monitor> => {
      let reply: Reply;
      try {
        reply = await link.request(monitorMessage(watched));
      } catch (error) {
        this.#monitor = undefined;
        this.#ready = undefined;
        // What arrived meanwhile was ordinary traffic after all.
        for (const raw of monitor.abandon()) this.#host.route(raw.message, raw.payload);
        throw error;
      }
      // The daemon has ended our memberships, closed our groups and given up our names.
      this.#active = true;
      this.#host.became();
      monitor.start(resultNumber(reply, 'startSeq'));
      return monitor;
    })();
    this.#ready = ready;
    return ready;
  }

  /** The connection was lost: the monitor waits for the new one. */
  suspend(): void {
    if (this.#active) this.#monitor?.suspend();
  }

  /** Makes the new connection a monitor again; resolves with what the monitor missed. */
  async restore(connection: Connection): Promise<SubscriptionGap> {
    const monitor = this.#monitor as MonitorImpl;
    const reply = await connection.request(monitorMessage(monitor.groups));
    return monitor.restarted(resultNumber(reply, 'startSeq'));
  }

  /** The bus was closed or ended. */
  end(error?: ChorusError): void {
    this.#monitor?.end('disconnected', error);
  }
}

function sameGroups(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((group) => b.includes(group));
}
