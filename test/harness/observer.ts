import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { Peer } from './peer.js';

/** A connection as `ListConnections` describes it. */
export interface ListedConnection {
  readonly name: string;
  readonly transport: 'unix' | 'ws';
  readonly identity: string;
  readonly groups: readonly string[];
  readonly owned: readonly string[];
  readonly names: readonly string[];
  readonly queuedBytes: number;
  readonly monitor: boolean;
  readonly pendingCalls: number;
}

/** What `GetStats` answers (the fields these tests read). */
export interface Stats {
  readonly total: { messages: number; deliveries: number; bytes: number; evictions: number; errors: number };
  readonly connections: number;
  readonly names: number;
  readonly monitors: number;
  readonly pendingCalls: number;
  readonly seq: number;
  readonly groups: Record<string, { messages: number; deliveries: number; bytes: number }>;
  readonly daemon: {
    accepted: number;
    refused: number;
    protocolErrors: number;
    requestErrors: number;
    fatalErrors: number;
    policyDenials: number;
  };
  readonly wsRejections: { token: number; origin: number; limit: number };
}

/**
 * A connection that only asks the bus what it holds (GetStats, ListConnections, ListGroups), to
 * prove that what a fault left behind is gone: no leaked connection, group, name or pending call.
 */
export class Observer {
  readonly peer: Peer;

  private constructor(peer: Peer) {
    this.peer = peer;
  }

  static async open(socketPath: string): Promise<Observer> {
    return new Observer(await Peer.open(socketPath, { client: 'observer' }));
  }

  stats(): Promise<Stats> {
    return this.peer.bus<Stats>('GetStats');
  }

  async connections(): Promise<ListedConnection[]> {
    return (await this.peer.bus<{ connections: ListedConnection[] }>('ListConnections')).connections;
  }

  async groups(): Promise<string[]> {
    const { groups } = await this.peer.bus<{ groups: { name: string }[] }>('ListGroups');
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
