import type { Connection, MonitorAccess } from './records.js';

/**
 * The connections that receive a copy of every signal (of the groups they chose), in bus order.
 * A monitor only watches: it never holds up a message, and one without room is evicted.
 */
export class Monitors<TPayload> {
  readonly #all = new Set<Connection<TPayload>>();
  /** The engine's eviction, given once: a full monitor is evicted in the middle of `watchers`. */
  readonly #evict: (connection: Connection<TPayload>) => void;

  constructor(evict: (connection: Connection<TPayload>) => void) {
    this.#evict = evict;
  }

  get size(): number {
    return this.#all.size;
  }

  /** Makes `connection` a monitor of `groups` (all if undefined; then only those `may` allows). */
  add(connection: Connection<TPayload>, groups?: readonly string[], may?: (group: string) => boolean): void {
    connection.monitor = groups === undefined ? null : new Set(groups);
    connection.watch = groups === undefined && may !== undefined ? { may, decided: new Map() } : undefined;
    this.#all.add(connection);
  }

  /** Replaces what a monitor of every group may see; the decisions kept so far are forgotten. */
  setAccess(connection: Connection<TPayload>, may: (group: string) => boolean): void {
    if (connection.monitor !== null) return;
    connection.watch = { may, decided: new Map() };
  }

  delete(connection: Connection<TPayload>): void {
    this.#all.delete(connection);
  }

  /** A group closed: its name may come back as another group, to be decided afresh. */
  forgetGroup(group: string): void {
    // [GUARANTEE: memory] a monitor's kept decisions cover live groups only.
    for (const monitor of this.#all) monitor.watch?.decided.delete(group);
  }

  /** The monitors that get a copy of a message to `group`. A full one is evicted, never waited for. */
  watchers(group: string, size: number): Connection<TPayload>[] {
    // [GUARANTEE: backpressure] a full monitor is evicted, never waited for, never a cause of rejection.
    const out: Connection<TPayload>[] = [];
    for (const monitor of this.#all) {
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
