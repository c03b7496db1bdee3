import { setTimeout as sleep } from 'node:timers/promises';
import { type Bus, BusContract, type ConnectOptions, connect } from '@chorus/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ask, type FixtureProcess, Fixtures, spawnReady } from './harness/child.js';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { until } from './harness/wait.js';

// Well-known names through the SDK, with owners in separate processes (test/fixtures/peer.mjs) so
// that they can race for a name and be killed while owning it (issue 5 §1). The protocol-level
// checks of the same rules are in bus-interface.test.ts.

const children = new Fixtures();
const buses: Bus[] = [];
let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon();
});
afterEach(async () => {
  await children.killAll();
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});
afterAll(async () => {
  await daemon?.cleanup();
});

async function open(options: ConnectOptions = {}): Promise<Bus> {
  const bus = await connect({ address: daemon.address, ...options });
  buses.push(bus);
  return bus;
}

/** A peer process; resolves once it is connected (and watching, if asked). */
const spawnPeer = (options: object) =>
  spawnReady(children, 'peer.mjs', { address: daemon.address, ...options });

type Change = [seq: number, oldOwner: string | null, newOwner: string | null];

/** Records NameOwnerChanged of `name` as this connection receives it. */
async function watch(bus: Bus, name: string): Promise<Change[]> {
  const changes: Change[] = [];
  const sub = await bus.join(BusContract, {
    filter: { signal: 'NameOwnerChanged', fields: { name } },
  });
  sub.on('NameOwnerChanged', (change, meta) => changes.push([meta.seq, change.oldOwner, change.newOwner]));
  return changes;
}

/** The changes a peer started with `watch` reported. */
function reported(peer: FixtureProcess): Change[] {
  return peer.events
    .filter((e) => e.event === 'changed')
    .map((e) => [e['seq'] as number, e['oldOwner'] as string | null, e['newOwner'] as string | null]);
}

/** The groups `bus` is a member of, as the daemon lists them. */
async function groupsOf(bus: Bus): Promise<string[]> {
  return (await bus.listConnections()).find((c) => c.name === bus.name)?.groups ?? [];
}

describe('name races between processes', () => {
  it('one process of those asking at once owns the name, the others queue and take over in order', async () => {
    const NAME = 'test.names.Race';
    const watcher = await open();
    const seen = await watch(watcher, NAME);
    const peers = await Promise.all(
      Array.from({ length: 5 }, (_, k) => spawnPeer({ id: `p${k}`, watch: NAME })),
    );
    const peerOf = (name: string): FixtureProcess => {
      const found = peers.find((p) => p.name === name);
      if (found === undefined) throw new Error(`no peer is ${name}`);
      return found.peer;
    };

    // All at once: the daemon decides who is first.
    for (const { peer } of peers) peer.send({ cmd: 'request', name: NAME });
    const results = await Promise.all(
      peers.map(({ peer }) => peer.waitFor((e) => e.event === 'requested').then((e) => e['result'])),
    );
    expect(results.filter((r) => r === 'primary-owner')).toHaveLength(1);
    expect(results.filter((r) => r === 'in-queue')).toHaveLength(4);
    const first = peers[results.indexOf('primary-owner')]?.name as string;
    const listed = (await watcher.listNames()).filter((n) => n.name === NAME);
    expect(listed).toHaveLength(1);
    expect(listed[0]?.owner).toBe(first);
    const queue = listed[0]?.queue ?? [];
    expect([...queue].sort()).toEqual(
      peers
        .map((p) => p.name)
        .filter((n) => n !== first)
        .sort(),
    );
    const [q0, q1, q2, q3] = queue as [string, string, string, string];
    expect(await peerOf(first).waitFor((e) => e.event === 'acquired')).toMatchObject({ name: NAME });

    // The owner releases: the head of the queue takes over.
    expect(await ask(peerOf(first), { cmd: 'release', name: NAME }, 'released')).toMatchObject({
      result: 'released',
    });
    expect(await peerOf(first).waitFor((e) => e.event === 'lost')).toMatchObject({ name: NAME });
    await peerOf(q0).waitFor((e) => e.event === 'acquired');
    expect(await watcher.getNameOwner(NAME)).toBe(q0);

    // The new owner dies without a word: the next in line takes over.
    await peerOf(q0).kill('SIGKILL');
    await peerOf(q1).waitFor((e) => e.event === 'acquired');
    expect(await watcher.getNameOwner(NAME)).toBe(q1);

    // The third in line leaves the queue (the owner stays), then the owner releases: the fourth.
    expect(await ask(peerOf(q2), { cmd: 'release', name: NAME }, 'released')).toMatchObject({
      result: 'released',
    });
    expect(await watcher.listNames()).toContainEqual({ name: NAME, owner: q1, queue: [q3] });
    expect(await ask(peerOf(q1), { cmd: 'release', name: NAME }, 'released')).toMatchObject({
      result: 'released',
    });
    await peerOf(q3).waitFor((e) => e.event === 'acquired');
    expect(peerOf(q2).events.some((e) => e.event === 'acquired')).toBe(false);

    // The last owner closes its connection: nobody is left.
    peerOf(q3).send({ cmd: 'close' });
    expect(await peerOf(q3).exited).toMatchObject({ code: 0 });
    await peerOf(first).waitFor((e) => e.event === 'changed' && e['newOwner'] === null);
    await watcher.ping(); // queued to every watcher in the same step: now it has arrived here too
    expect(await watcher.getNameOwner(NAME)).toBeNull();
    expect((await watcher.listNames()).filter((n) => n.name === NAME)).toEqual([]);

    const chain = seen.map(([, oldOwner, newOwner]) => [oldOwner, newOwner]);
    expect(chain).toEqual([
      [null, first],
      [first, q0],
      [q0, q1],
      [q1, q3],
      [q3, null],
    ]);
    // Every watcher saw the same changes with the same bus sequence numbers; those that left early
    // saw a prefix, at least up to the moment they left.
    for (const name of [first, q1, q2]) expect(reported(peerOf(name)), name).toEqual(seen);
    expect(reported(peerOf(q0))).toEqual(seen.slice(0, reported(peerOf(q0)).length));
    expect(reported(peerOf(q0)).length).toBeGreaterThanOrEqual(2);
    expect(reported(peerOf(q3))).toEqual(seen.slice(0, reported(peerOf(q3)).length));
    expect(reported(peerOf(q3)).length).toBeGreaterThanOrEqual(4);
  });

  it('repeated races: exactly one primary owner each time, and the queue holds everyone else', async () => {
    const peers = await Promise.all(Array.from({ length: 4 }, (_, k) => spawnPeer({ id: `r${k}` })));
    const observer = await open();
    for (let round = 0; round < 8; round++) {
      const name = `test.names.Round${round}`;
      for (const { peer } of peers) peer.send({ cmd: 'request', name });
      const results = await Promise.all(
        peers.map(({ peer }) =>
          peer.waitFor((e) => e.event === 'requested' && e['name'] === name).then((e) => e['result']),
        ),
      );
      expect(
        results.filter((r) => r === 'primary-owner'),
        name,
      ).toHaveLength(1);
      const owner = peers[results.indexOf('primary-owner')]?.name;
      const [info] = (await observer.listNames()).filter((n) => n.name === name);
      expect(info?.owner).toBe(owner);
      expect(new Set([info?.owner, ...(info?.queue ?? [])])).toEqual(new Set(peers.map((p) => p.name)));
    }
  });
});

describe('request flags', () => {
  it('doNotQueue, replaceExisting and allowReplacement follow D-Bus', async () => {
    const NAME = 'test.names.Flags';
    const [watcher, a, b, c, d] = await Promise.all([open(), open(), open(), open(), open()]);
    const seen = await watch(watcher, NAME);
    // Ordered by bus sequence number: each connection gets its own at its own pace.
    const events: [seq: number, who: string, what: string][] = [];
    for (const [label, bus] of [
      ['a', a],
      ['b', b],
      ['c', c],
      ['d', d],
    ] as const) {
      bus.on('nameAcquired', (name, meta) => events.push([meta.seq, label, `acquired ${name}`]));
      bus.on('nameLost', (name, meta) => events.push([meta.seq, label, `lost ${name}`]));
    }
    const entry = async () => (await watcher.listNames()).find((n) => n.name === NAME);

    expect(await a.requestName(NAME, { allowReplacement: true })).toBe('primary-owner');
    expect(await a.requestName(NAME, { allowReplacement: true })).toBe('already-owner');
    // doNotQueue: told the name is taken, and not queued.
    expect(await b.requestName(NAME, { doNotQueue: true })).toBe('exists');
    expect(await entry()).toEqual({ name: NAME, owner: a.name, queue: [] });
    expect(await b.releaseName(NAME)).toBe('not-owner');
    // replaceExisting against an owner that allows it: taken; the old owner waits at the head.
    expect(await c.requestName(NAME, { replaceExisting: true })).toBe('primary-owner');
    expect(await entry()).toEqual({ name: NAME, owner: c.name, queue: [a.name] });
    // c did not allow replacement: d only queues (or is told it exists, with doNotQueue).
    expect(await d.requestName(NAME, { replaceExisting: true, doNotQueue: true })).toBe('exists');
    expect(await d.requestName(NAME, { replaceExisting: true })).toBe('in-queue');
    expect(await entry()).toEqual({ name: NAME, owner: c.name, queue: [a.name, d.name] });
    // c lets go: a is back (it was first in line), then d.
    expect(await c.releaseName(NAME)).toBe('released');
    expect(await watcher.getNameOwner(NAME)).toBe(a.name);
    // An owner that allows replacement but never queues is dropped when replaced.
    expect(await a.requestName(NAME, { allowReplacement: true, doNotQueue: true })).toBe('already-owner');
    expect(await b.requestName(NAME, { replaceExisting: true })).toBe('primary-owner');
    expect(await entry()).toEqual({ name: NAME, owner: b.name, queue: [d.name] });
    expect(await a.releaseName(NAME)).toBe('not-owner');
    const dAcquired = new Promise((resolve) => d.on('nameAcquired', resolve));
    await b.close(); // b leaves without releasing: d, next in line, takes over
    await dAcquired;
    expect(await watcher.getNameOwner(NAME)).toBe(d.name);
    expect(await d.releaseName(NAME)).toBe('released');
    expect(await d.releaseName(NAME)).toBe('non-existent');
    await Promise.all([watcher.ping(), a.ping(), c.ping()]);

    expect(seen.map(([, oldOwner, newOwner]) => [oldOwner, newOwner])).toEqual([
      [null, a.name],
      [a.name, c.name],
      [c.name, a.name],
      [a.name, b.name],
      [b.name, d.name],
      [d.name, null],
    ]);
    // NameAcquired/NameLost reach only the connection concerned, in bus order around the change.
    const ordered = events.sort(([x], [y]) => x - y).map(([, who, what]) => `${who} ${what}`);
    expect(ordered).toEqual([
      `a acquired ${NAME}`,
      `a lost ${NAME}`,
      `c acquired ${NAME}`,
      `c lost ${NAME}`,
      `a acquired ${NAME}`,
      `a lost ${NAME}`,
      `b acquired ${NAME}`,
      `d acquired ${NAME}`,
      `d lost ${NAME}`,
    ]);
    const changeSeqs = seen.map(([seq]) => seq);
    const eventSeqs = events.map(([seq]) => seq);
    // D-Bus order: NameLost, then NameOwnerChanged, then NameAcquired, each with its own number.
    for (const seq of changeSeqs) expect(eventSeqs).not.toContain(seq);
  });
});

describe('ownership changes are ordered with all other traffic', () => {
  it("a watcher never sees a new owner's signal before the change that made it owner", async () => {
    const NAME = 'test.names.Feed';
    const FEED = 'test.names.FeedTicks';
    const host = await open();
    await host.createGroup(FEED, { emitters: 'anyone' });
    type Entry =
      | { seq: number; kind: 'change'; owner: string | null }
      | { seq: number; kind: 'tick'; sender: string };
    // Two watchers: one joins afterwards, one joins both groups in its handshake.
    const logs: Entry[][] = [[], []];
    const joined = await open();
    const late = await Promise.all([
      joined.join(BusContract, { filter: { signal: 'NameOwnerChanged', fields: { name: NAME } } }),
      joined.join(FEED),
    ]);
    const early = await open({
      join: [{ group: BusContract, filter: { signal: 'NameOwnerChanged', fields: { name: NAME } } }, FEED],
    });
    const subs = [late, await Promise.all([early.join(BusContract), early.join(FEED)])];
    subs.forEach(([names, feed], k) => {
      const log = logs[k] as Entry[];
      names.on('NameOwnerChanged', ({ newOwner }, meta) =>
        log.push({ seq: meta.seq, kind: 'change', owner: newOwner }),
      );
      feed.on('Tick', (_payload, meta) => log.push({ seq: meta.seq, kind: 'tick', sender: meta.sender }));
    });

    const peers = await Promise.all(
      Array.from({ length: 4 }, (_, k) => spawnPeer({ id: `f${k}`, feed: FEED })),
    );
    for (const { peer } of peers) await ask(peer, { cmd: 'request', name: NAME }, 'requested');
    const ticksFrom = (name: string): number =>
      (logs[0] as Entry[]).filter((e) => e.kind === 'tick' && e.sender === name).length;
    const feeding = async (name: string): Promise<void> => {
      while (ticksFrom(name) < 50) await sleep(5);
    };
    const [p0, p1, p2, p3] = peers as [
      (typeof peers)[0],
      (typeof peers)[0],
      (typeof peers)[0],
      (typeof peers)[0],
    ];
    await feeding(p0.name);
    await p0.peer.kill('SIGKILL'); // while it emits
    await feeding(p1.name);
    await ask(p1.peer, { cmd: 'release', name: NAME }, 'released');
    await feeding(p2.name);
    await p2.peer.kill('SIGKILL');
    await feeding(p3.name);
    await ask(p3.peer, { cmd: 'release', name: NAME }, 'released');
    await Promise.all([joined.ping(), early.ping()]);

    for (const [k, log] of logs.entries()) {
      const what = `watcher ${k}`;
      expect(
        log.filter((e) => e.kind === 'change').map((e) => e.owner),
        what,
      ).toEqual([p0.name, p1.name, p2.name, p3.name, null]);
      let owner: string | null = null;
      let previous = 0;
      for (const entry of log) {
        expect(entry.seq, `${what}: bus order`).toBeGreaterThan(previous);
        previous = entry.seq;
        if (entry.kind === 'change') owner = entry.owner;
        else if (entry.sender !== owner) {
          expect.fail(`${what}: tick ${entry.seq} from ${entry.sender} while ${owner} owned the name`);
        }
      }
    }
    expect(logs[1]).toEqual(logs[0]);
  });
});

describe('waitForName', () => {
  it('resolves at once for an owned name, and as soon as a process takes one', async () => {
    const { peer, name: owner } = await spawnPeer({ id: 'w' });
    const bus = await open();
    await ask(peer, { cmd: 'request', name: 'test.names.Here' }, 'requested');
    expect(await bus.waitForName('test.names.Here')).toBe(owner);

    // Several waits at once, on two names, share one membership of org.chorus.Bus.
    const waits = [
      bus.waitForName('test.names.Later', { timeoutMs: 20_000 }),
      bus.waitForName('test.names.Later'),
      bus.waitForName('test.names.Other', { timeoutMs: 20_000 }),
    ];
    await ask(peer, { cmd: 'request', name: 'test.names.Later' }, 'requested');
    await ask(peer, { cmd: 'request', name: 'test.names.Other' }, 'requested');
    expect(await Promise.all(waits)).toEqual([owner, owner, owner]);
    // The last waiter gone, so is the membership (left in the background).
    await until(async () => (await groupsOf(bus)).length === 0, 'the waits to leave org.chorus.Bus');
    await bus.ping();
  });

  it('rejects with TIMEOUT after timeoutMs and with ABORTED when its signal aborts', async () => {
    const bus = await open();
    await expect(bus.waitForName('test.names.Never', { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    const controller = new AbortController();
    const waiting = bus.waitForName('test.names.Never', { signal: controller.signal });
    await bus.ping();
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(bus.waitForName('test.names.Never', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    // Nothing is left behind: no membership, and a later owner resolves a new wait normally.
    await until(async () => (await groupsOf(bus)).length === 0, 'the waits to leave org.chorus.Bus');
    await bus.ping();
    const other = await open();
    const waiting2 = bus.waitForName('test.names.Never', { timeoutMs: 20_000 });
    await other.requestName('test.names.Never');
    expect(await waiting2).toBe(other.name);
  });

  it('never misses an owner that appears while the wait is starting (race-free)', async () => {
    const [waiter, taker] = await Promise.all([open(), open()]);
    for (let k = 0; k < 40; k++) {
      const name = `test.names.Quick${k}`;
      const waiting = waiter.waitForName(name, { timeoutMs: 20_000 });
      // The request lands before the wait's join, between the join and its GetNameOwner, or after
      // both, depending on how many round trips the taker makes first.
      for (let delay = 0; delay < k % 4; delay++) await taker.ping();
      await taker.requestName(name);
      expect(await waiting, name).toBe(taker.name);
    }
  });
});
