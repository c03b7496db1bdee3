/*
 * Monitor mode against the fake daemon: every signal in wire order, decoded, nothing else sent.
 */

import { ErrorCode } from '@chorus/protocol';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BUS_NAME } from './bus-contract.js';
import { defineGroup } from './contract.js';
import type { MonitoredSignal } from './monitor.js';
import type { SubscriptionEndReason } from './subscription.js';
import { connectToFakeWithSchemas as connectToFake, type FakeDaemon, settle } from './testing/fake-daemon.js';

import { rejection } from './testing/rejection.js';

const Battery = defineGroup('org.example.Battery', {
  signals: { LevelChanged: z.object({ percent: z.number() }) },
  methods: { GetLevel: { input: z.object({}), output: z.object({ percent: z.number() }) } },
});

async function take(iterator: AsyncIterator<MonitoredSignal>, count: number): Promise<MonitoredSignal[]> {
  const out: MonitoredSignal[] = [];
  while (out.length < count) {
    const result = await iterator.next();
    if (result.done === true) break;
    out.push(result.value);
  }
  return out;
}

describe('connect({ monitor })', () => {
  it('becomes a monitor in the handshake and yields every signal in wire order, decoded, with meta', async () => {
    const { bus, daemon } = await connectToFake({ monitor: true });
    expect(daemon.received.map((r) => r.message)).toEqual([
      { t: 'hello', v: 1 },
      { t: 'monitor', s: expect.any(Number) },
    ]);
    const monitor = bus.monitor;
    expect(monitor).toBeDefined();
    if (monitor === undefined) return;
    expect(monitor.groups).toBeUndefined();
    // Held until iterated: nothing is lost before the app starts reading.
    daemon.signal('org.example.Battery', 'LevelChanged', { percent: 1 }, { from: ':1.4' });
    daemon.signal(
      BUS_NAME,
      'NameOwnerChanged',
      { name: 'a.b', oldOwner: null, newOwner: ':1.4' },
      { from: BUS_NAME },
    );
    daemon.signal('org.example.Logs', 'line', 'anything goes');
    await settle();
    const seen = await take(monitor[Symbol.asyncIterator](), 3);
    expect(seen.map(({ group, signal, payload }) => [group, signal, payload])).toEqual([
      ['org.example.Battery', 'LevelChanged', { percent: 1 }],
      [BUS_NAME, 'NameOwnerChanged', { name: 'a.b', oldOwner: null, newOwner: ':1.4' }],
      ['org.example.Logs', 'line', 'anything goes'],
    ]);
    expect(seen.map((m) => m.meta.seq)).toEqual([1, 2, 3]);
    expect(seen[0]?.meta).toMatchObject({
      sender: ':1.4',
      group: 'org.example.Battery',
      signal: 'LevelChanged',
    });
    expect(await becomeAgain(bus)).toBe(monitor);
    await bus.close();
  });

  it('watches only the given groups', async () => {
    const { bus, daemon } = await connectToFake({ monitor: { groups: ['org.example.Battery'] } });
    expect((await daemon.take('monitor')).message).toEqual({
      t: 'monitor',
      s: expect.any(Number),
      g: ['org.example.Battery'],
    });
    expect(bus.monitor?.groups).toEqual(['org.example.Battery']);
    await expect(bus.becomeMonitor()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await bus.close();
  });

  it('refuses join together with monitor, and an empty group list', async () => {
    await expect(connectToFake({ monitor: true, join: [Battery] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(connectToFake({ monitor: { groups: [] } })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

async function becomeAgain(bus: Awaited<ReturnType<typeof connectToFake>>['bus']) {
  return bus.becomeMonitor();
}

describe('a monitor', () => {
  it('sends nothing but pings: everything else rejects with MONITOR_ONLY without a round trip', async () => {
    const { bus, daemon } = await connectToFake({ monitor: true });
    const before = daemon.received.length;
    for (const attempt of [
      () => bus.join(Battery),
      () => bus.createGroup(Battery),
      () => bus.emit('org.example.Battery', 'LevelChanged', { percent: 1 }),
      () => bus.call(Battery, 'GetLevel', {}),
      () => bus.requestName('org.example.Battery'),
      () => bus.waitForName('org.example.Battery'),
      () => bus.listGroups(),
    ]) {
      expect(await rejection(attempt())).toMatchObject({ code: ErrorCode.MONITOR_ONLY });
    }
    expect(() => bus.serve(Battery, { GetLevel: () => ({ percent: 1 }) })).toThrowError(
      expect.objectContaining({ code: ErrorCode.MONITOR_ONLY }),
    );
    await bus.ping();
    expect(daemon.received.slice(before).map((r) => r.message.t)).toEqual(['ping']);
    await bus.close();
  });

  it('reports an undecodable payload as invalid and goes on', async () => {
    const { bus, daemon } = await connectToFake({ monitor: true });
    const monitor = bus.monitor;
    if (monitor === undefined) throw new Error('no monitor');
    const invalid: string[] = [];
    monitor.on('invalid', (error, meta) => invalid.push(`${error.code} ${meta.seq}`));
    daemon.send({ t: 'sig', seq: 1, gseq: 1, g: 'g', sig: 's', from: ':1.2' }, new Uint8Array([0xc1]));
    daemon.signal('g', 's', 2);
    const [next] = await take(monitor[Symbol.asyncIterator](), 1);
    expect(next?.payload).toBe(2);
    expect(invalid).toEqual(['INVALID_PAYLOAD 1']);
    await bus.close();
  });

  it('ends with the connection: the iterator finishes after close, rejects when lost', async () => {
    const closed = await connectToFake({ monitor: true });
    const iterator = closed.bus.monitor?.[Symbol.asyncIterator]();
    const ending = iterator?.next();
    await closed.bus.close();
    expect(await ending).toEqual({ done: true, value: undefined });

    const lost = await connectToFake({ monitor: true });
    const reasons: SubscriptionEndReason[] = [];
    lost.bus.monitor?.on('closed', (reason) => reasons.push(reason));
    const next = lost.bus.monitor?.[Symbol.asyncIterator]().next();
    await lost.daemon.transport.close();
    expect(await rejection(next ?? Promise.resolve())).toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(reasons).toEqual(['disconnected']);
  });

  it('pauses reading while its buffer is full (the daemon then evicts it, nobody waits for it)', async () => {
    const { bus, daemon, client } = await connectToFake({ monitor: true, maxHeldMessages: 2 });
    for (let i = 0; i < 3; i++) daemon.signal('g', 's', i);
    await settle();
    expect(client.paused).toBe(true);
    const seen = await take(bus.monitor?.[Symbol.asyncIterator]() as AsyncIterator<MonitoredSignal>, 3);
    expect(seen.map((m) => m.payload)).toEqual([0, 1, 2]);
    await settle();
    expect(client.paused).toBe(false);
    await bus.close();
  });
});

describe('bus.becomeMonitor()', () => {
  it('ends memberships, owned groups and services, and routes what follows the request to the monitor', async () => {
    const { bus, daemon } = await connectToFake({}, (d: FakeDaemon) => {
      d.respond('monitor', (received, fake) => {
        // A signal crossing the request: already in bus order, so it opens the monitor's stream.
        fake.signal('org.example.Battery', 'LevelChanged', { percent: 5 });
        return fake.answer(received);
      });
    });
    const sub = await bus.join(Battery);
    const ends: SubscriptionEndReason[] = [];
    sub.on('closed', (reason) => ends.push(reason));
    const group = await bus.createGroup('org.example.Owned');
    const service = bus.serve(Battery, { GetLevel: () => ({ percent: 1 }) });
    const monitor = await bus.becomeMonitor();
    expect(bus.monitor).toBe(monitor);
    await settle();
    expect(ends).toEqual(['left']);
    expect(group.closedReason).toBe('owner-left');
    expect(service.closed).toBe(true);
    daemon.signal('org.example.Other', 'x', 1);
    const seen = await take(monitor[Symbol.asyncIterator](), 2);
    expect(seen.map((m) => [m.group, m.payload])).toEqual([
      ['org.example.Battery', { percent: 5 }],
      ['org.example.Other', 1],
    ]);
    await bus.close();
  });

  it('hands what arrived meanwhile back to the memberships when the daemon refuses', async () => {
    const { bus } = await connectToFake({}, (d) =>
      d.respond('monitor', ({ message }, fake) => {
        fake.signal('org.example.Battery', 'LevelChanged', { percent: 6 });
        return message.t === 'monitor'
          ? [{ t: 'err', s: message.s, code: 'NOT_PERMITTED', msg: 'no monitors here' }]
          : [];
      }),
    );
    const sub = await bus.join(Battery);
    const seen: number[] = [];
    sub.on('LevelChanged', ({ percent }) => seen.push(percent));
    expect(await rejection(bus.becomeMonitor(['org.example.Battery']))).toMatchObject({
      code: 'NOT_PERMITTED',
    });
    expect(bus.monitor).toBeUndefined();
    await settle();
    expect(seen).toEqual([6]);
    await bus.emit(Battery, 'LevelChanged', { percent: 7 });
    await bus.close();
  });

  it('refuses an empty group list', async () => {
    const { bus } = await connectToFake();
    await expect(bus.becomeMonitor([])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await bus.close();
  });
});
