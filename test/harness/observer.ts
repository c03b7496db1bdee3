import { setTimeout as sleep } from 'node:timers/promises';
import type { BusMethodOutput } from '@chorus/protocol';
import { expect } from 'vitest';
import { RawClient } from './raw-client.js';

/** A connection as `ListConnections` describes it (the contract's output, @chorus/protocol). */
export type ListedConnection = BusMethodOutput<'ListConnections'>['connections'][number];

/** What `GetStats` answers (the contract's output, @chorus/protocol). */
export type Stats = BusMethodOutput<'GetStats'>;

/**
 * A connection that only asks the bus what it holds (GetStats, ListConnections, ListGroups), to
 * prove that what a fault left behind is gone: no leaked connection, group, name or pending call.
 */
export class Observer {
  readonly peer: RawClient;

  private constructor(peer: RawClient) {
    this.peer = peer;
  }

  static async open(socketPath: string): Promise<Observer> {
    return new Observer(await RawClient.open(socketPath, { client: 'observer' }, { record: false }));
  }

  stats(): Promise<Stats> {
    return this.peer.bus<Stats>('GetStats');
  }

  async connections(): Promise<ListedConnection[]> {
    return (await this.peer.bus<BusMethodOutput<'ListConnections'>>('ListConnections')).connections;
  }

  async groups(): Promise<string[]> {
    const { groups } = await this.peer.bus<BusMethodOutput<'ListGroups'>>('ListGroups');
    return groups.map((g) => g.name).filter((name) => name !== 'org.chorus.Bus');
  }

  /**
   * Waits (a closed socket is noticed asynchronously; 15 s at most) until the bus lists exactly
   * `names` besides the observer, then checks that GetStats agrees and that nothing else leaked:
   * groups are exactly `groups` (when given), and no call is pending.
   */
  async expectOnly(names: readonly string[], what: string, groups?: readonly string[]): Promise<void> {
    const want = [...names, this.peer.name].sort();
    let listed: string[] = [];
    for (const started = Date.now(); Date.now() - started < 15_000; await sleep(20)) {
      listed = (await this.connections()).map((c) => c.name).sort();
      if (JSON.stringify(listed) === JSON.stringify(want)) break;
    }
    expect(listed, `${what}: connections listed`).toEqual(want);
    const stats = await this.stats();
    expect(stats.connections, `${what}: GetStats.connections`).toBe(want.length);
    expect(stats.pendingCalls, `${what}: pending calls`).toBe(0);
    if (groups !== undefined)
      expect((await this.groups()).sort(), `${what}: groups`).toEqual([...groups].sort());
  }

  close(): void {
    this.peer.close();
  }
}
