import { join } from 'node:path';
import { type Bus, BusContract, type ConnectOptions, connect, type MonitoredSignal } from '@chorus/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ask, Fixtures } from './harness/child.js';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { type Ack, expectIncreasing, expectSameSequence, readJson, type Tick } from './harness/records.js';

// Monitors through the SDK (issue 5 §3): a monitor sees every signal of the bus, in the order its
// members see them, with several emitter processes in overlapping groups and name changes on
// org.chorus.Bus in between; and it can send nothing. The daemon's side of the same rules is in
// bus-interface.test.ts.

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

/** A monitor's record of one signal: [seq, group, groupSeq, sender, signal, e, i]. */
type Seen = [number, string, number, string, string, string | null, number | null];

function record({ group, signal, payload, meta }: MonitoredSignal): Seen {
  const tick = signal === 'Tick' ? (payload as { e: string; i: number }) : undefined;
  return [meta.seq, group, meta.groupSeq, meta.sender, signal, tick?.e ?? null, tick?.i ?? null];
}

const asTick = ([seq, group, groupSeq, sender, , e, i]: Seen): Tick => [
  seq,
  group,
  groupSeq,
  sender,
  e as string,
  i as number,
];

describe('a monitor sees everything, in bus order', () => {
  it('several emitter processes, overlapping groups, name changes: the members’ order exactly', async () => {
    const COUNT = 3000;
    const [A, B, C, D] = ['test.mon.A', 'test.mon.B', 'test.mon.C', 'test.mon.D'] as const;
    const NAME = 'test.mon.Name';
    const host = await open();
    for (const group of [A, B, C, D]) await host.createGroup(group, { emitters: 'anyone' });

    // The monitors: one here, watching everything; one in another process, watching A and D.
    const monitor = await open({ monitor: true });
    const everything: Seen[] = [];
    let ticks = 0;
    let allTicks!: () => void;
    const allArrived = new Promise<void>((resolve) => {
      allTicks = resolve;
    });
    void (async () => {
      for await (const signal of monitor.monitor!) {
        everything.push(record(signal));
        if (signal.signal === 'Tick' && ++ticks === 3 * COUNT) allTicks();
      }
    })();
    const emitterGroups = { e1: [A, B, C, D], e2: [B, C, D, A], e3: [C, A] } as const;
    const count = (groups: readonly string[]): number =>
      Object.values(emitterGroups).reduce(
        (sum, list) =>
          sum +
          Array.from({ length: COUNT }, (_, i) => list[i % list.length]).filter((g) =>
            groups.includes(g as string),
          ).length,
        0,
      );
    const filtered = children.spawn('monitor.mjs', {
      address: daemon.address,
      groups: [A, D],
      expect: count([A, D]),
      recordFile: join(daemon.dir, 'monitor-ad.json'),
    });
    // Members: two recipient processes in overlapping groups (nobody joins D: only monitors see it),
    // and a member of org.chorus.Bus here.
    const members: { id: string; groups: string[] }[] = [
      { id: 'r1', groups: [A, B] },
      { id: 'r2', groups: [B, C] },
    ];
    const recipients = members.map((r) => ({
      ...r,
      file: join(daemon.dir, `${r.id}.json`),
      process: children.spawn('recipient.mjs', {
        address: daemon.address,
        groups: r.groups,
        expect: count(r.groups),
        recordFile: join(daemon.dir, `${r.id}.json`),
      }),
    }));
    const watcher = await open();
    const changes: [number, string, unknown][] = [];
    (await watcher.join(BusContract)).on('NameOwnerChanged', (payload, meta) =>
      changes.push([meta.seq, meta.signal, payload]),
    );
    const emitters = Object.entries(emitterGroups).map(([id, groups]) => ({
      id,
      file: join(daemon.dir, `acks-${id}.json`),
      process: children.spawn('emitter.mjs', { address: daemon.address, id, groups }),
    }));
    const peer = children.spawn('peer.mjs', { address: daemon.address, id: 'namer' });
    const ready = await Promise.all(
      [filtered, ...recipients.map((r) => r.process), ...emitters.map((e) => e.process), peer].map((p) =>
        p.waitFor((e) => e.event === 'ready'),
      ),
    );
    const senderOf = new Map(
      emitters.map((e, k) => [e.id, ready[1 + recipients.length + k]?.['name'] as string]),
    );
    const peerName = ready.at(-1)?.['name'] as string;

    for (const emitter of emitters)
      emitter.process.send({ cmd: 'emit', count: COUNT, acksFile: emitter.file });
    // Name changes while the ticks flow: NameOwnerChanged to members, NameAcquired/NameLost to the peer.
    for (let k = 0; k < 3; k++) {
      await ask(peer, { cmd: 'request', name: NAME }, 'requested');
      await ask(peer, { cmd: 'release', name: NAME }, 'released');
    }
    await Promise.all(emitters.map((e) => e.process.waitFor((ev) => ev.event === 'emitted', 40_000)));
    await Promise.all(recipients.map((r) => r.process.waitFor((ev) => ev.event === 'done', 40_000)));
    await filtered.waitFor((e) => e.event === 'done', 40_000);
    await allArrived;
    await watcher.ping();

    // What the daemon accepted, in bus order: the monitor saw exactly that.
    const accepted: Tick[] = [];
    for (const emitter of emitters) {
      const acks = await readJson<Ack[]>(emitter.file);
      expect(acks).toHaveLength(COUNT);
      for (const [i, group, seq, groupSeq] of acks) {
        accepted.push([seq, group, groupSeq, senderOf.get(emitter.id) as string, emitter.id, i]);
      }
    }
    accepted.sort((x, y) => x[0] - y[0]);
    expectIncreasing(
      everything.map(([seq]) => seq),
      'the monitor: bus seq',
    );
    const ticksSeen = everything.filter(([, group]) => group !== 'org.chorus.Bus');
    expectSameSequence(ticksSeen.map(asTick), accepted, 'the monitor, against the acks');

    // Each member saw its groups' signals exactly as the monitor did.
    for (const recipient of recipients) {
      expectSameSequence(
        await readJson<Tick[]>(recipient.file),
        ticksSeen.filter(([, group]) => recipient.groups.includes(group)).map(asTick),
        `${recipient.id} against the monitor`,
      );
    }
    // The monitor of two groups saw those, and nothing else.
    expectSameSequence(
      await readJson<Seen[]>(join(daemon.dir, 'monitor-ad.json')),
      everything.filter(([, group]) => group === A || group === D),
      'the monitor of A and D',
    );

    // The bus's own signals: the member's NameOwnerChanged, and the directed NameAcquired/NameLost
    // the peer got, each at the same place in the monitor's stream.
    const busSeen = everything.filter(([, group]) => group === 'org.chorus.Bus');
    expect(busSeen.filter(([, , , , signal]) => signal === 'NameOwnerChanged').map(([seq]) => seq)).toEqual(
      changes.map(([seq]) => seq),
    );
    const peerSaw = peer.events
      .filter((e) => e.event === 'acquired' || e.event === 'lost')
      .map((e) => [e['seq'], e.event === 'acquired' ? 'NameAcquired' : 'NameLost']);
    expect(
      busSeen
        .filter(([, , , , signal]) => signal !== 'NameOwnerChanged')
        .map(([seq, , , , signal]) => [seq, signal]),
    ).toEqual(peerSaw);
    expect(busSeen.map(([, , , sender, signal]) => [sender, signal])).toEqual(
      Array.from({ length: 3 }, () => [
        ['org.chorus.Bus', 'NameOwnerChanged'],
        ['org.chorus.Bus', 'NameAcquired'],
        ['org.chorus.Bus', 'NameLost'],
        ['org.chorus.Bus', 'NameOwnerChanged'],
      ]).flat(),
    );
    expect(changes.map(([, , payload]) => payload)).toEqual(
      Array.from({ length: 3 }, () => [
        { name: NAME, oldOwner: null, newOwner: peerName },
        { name: NAME, oldOwner: peerName, newOwner: null },
      ]).flat(),
    );
  });
});

describe('a monitor only watches', () => {
  it('cannot emit, join, create, own a name, call or serve (MONITOR_ONLY), and nothing reaches the bus', async () => {
    const GROUP = 'test.mon.Quiet';
    const host = await open();
    const group = await host.createGroup(GROUP, { emitters: 'anyone' });
    const member = await open();
    const received: unknown[] = [];
    (await member.join(GROUP)).on('Tick', (payload) => received.push(payload));
    const monitor = await open({ monitor: { groups: [GROUP] } });
    const seqOf = async () => (await host.listGroups()).find((g) => g.name === GROUP)?.seq;
    const before = await seqOf();

    for (const attempt of [
      () => monitor.emit(GROUP, 'Tick', { i: 1 }),
      () => monitor.join(GROUP),
      () => monitor.createGroup('test.mon.Mine'),
      () => monitor.requestName('test.mon.Mine'),
      () => monitor.call(BusContract, 'ListGroups', {}),
      () => monitor.listNames(),
      () => monitor.waitForName('test.mon.Mine'),
    ]) {
      await expect(attempt()).rejects.toMatchObject({ code: 'MONITOR_ONLY' });
    }
    expect(() => monitor.serve('test.mon.Mine', {})).toThrow(
      expect.objectContaining({ code: 'MONITOR_ONLY' }),
    );
    await monitor.ping(); // the one thing a monitor may send

    // The owner's emit still goes through, to the member and the monitor alike.
    const ack = await group.emit('Tick', { i: 2 });
    await member.ping();
    expect(ack.seq).toBeGreaterThan(before ?? 0);
    expect(await seqOf()).toBe((before ?? 0) + 1);
    expect(received).toEqual([{ i: 2 }]);
    const iterator = monitor.monitor![Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ group: GROUP, signal: 'Tick', payload: { i: 2 } });
    const [me] = (await host.listConnections()).filter((c) => c.name === monitor.name);
    expect(me).toMatchObject({ monitor: true, groups: [], owned: [], names: [] });
  });

  it('becomeMonitor gives up what the connection had: groups, memberships, names, services', async () => {
    const NAME = 'test.mon.Service';
    const OWNED = 'test.mon.Owned';
    const OTHER = 'test.mon.Other';
    const [host, member, next, observer] = await Promise.all([open(), open(), open(), open()]);
    await host.createGroup(OTHER, { emitters: 'anyone' });
    const x = await open();
    await x.createGroup(OWNED);
    await x.join(OTHER);
    x.serve(NAME, { Ping: () => 'pong' });
    expect(await x.requestName(NAME)).toBe('primary-owner');
    expect(await next.requestName(NAME)).toBe('in-queue');
    expect(await observer.call(NAME, 'Ping')).toBe('pong');
    const ended = new Promise((resolve) => member.join(OWNED).then((sub) => sub.on('closed', resolve)));
    await member.ping();
    const acquired = new Promise((resolve) => next.on('nameAcquired', resolve));

    const monitor = await x.becomeMonitor();
    expect(x.monitor).toBe(monitor);
    expect(await ended).toBe('owner-left');
    expect(await acquired).toBe(NAME);
    expect(await observer.getNameOwner(NAME)).toBe(next.name);
    const [me] = (await observer.listConnections()).filter((c) => c.name === x.name);
    expect(me).toMatchObject({ monitor: true, groups: [], owned: [], names: [] });
    expect((await observer.listGroups()).map((g) => g.name)).not.toContain(OWNED);
    // Its unique name no longer answers calls (it serves nothing now): the caller is told at once.
    await expect(observer.call(x.name, 'Ping', undefined, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: expect.stringMatching(/^(SERVICE_UNKNOWN|UNKNOWN_METHOD)$/),
    });
    // And it watches: an emit in a group it was a member of reaches it as a monitor.
    await host.emit(OTHER, 'Tick', { i: 7 });
    const iterator = monitor[Symbol.asyncIterator]();
    let first = await iterator.next();
    while (first.value?.group === 'org.chorus.Bus') first = await iterator.next();
    expect(first.value).toMatchObject({ group: OTHER, signal: 'Tick', payload: { i: 7 } });
  });
});
