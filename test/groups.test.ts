import {
  type Bus,
  connect,
  defineGroup,
  ErrorCode,
  isChorusError,
  type SignalMeta,
  type Subscription,
  type SubscriptionEndReason,
  z,
} from '@chorus/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fixtures } from './harness/child.js';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';

// Group options end to end, through the SDK: loopback, send-to-peer (the owner's inbox),
// filters, retained values, and what members see when the owner goes away.
//
// "Nothing else arrived" is proven without sleeping: a connection's replies and signals come in
// one order, so once `bus.ping()` resolves, every signal queued for it before has been delivered.

const children = new Fixtures();
let daemon: RunningDaemon & { cleanup(): Promise<void> };
const buses: Bus[] = [];
beforeAll(async () => {
  daemon = await withDaemon();
});
afterAll(async () => {
  await children.killAll();
  await Promise.all(buses.map((bus) => bus.close()));
  await daemon?.cleanup();
});

async function open(options: Parameters<typeof connect>[0] = {}): Promise<Bus> {
  const bus = await connect({ address: daemon.address, ...options });
  buses.push(bus);
  return bus;
}

let groups = 0;
function battery() {
  return defineGroup(`test.groups.Battery${++groups}`, {
    signals: {
      LevelChanged: z.object({ percent: z.number().min(0).max(100), source: z.string().optional() }),
      Charging: z.object({ on: z.boolean(), source: z.string().optional() }),
    },
  });
}
type Battery = ReturnType<typeof battery>;

type Received = { signal: string; payload: unknown; meta: SignalMeta };

/** Everything a subscription delivers to its handlers, in order. */
function record(sub: Subscription<Battery>): Received[] {
  const received: Received[] = [];
  sub.on('LevelChanged', (payload, meta) => received.push({ signal: 'LevelChanged', payload, meta }));
  sub.on('Charging', (payload, meta) => received.push({ signal: 'Charging', payload, meta }));
  sub.on('invalid', (error) =>
    received.push({ signal: 'invalid', payload: error.issues, meta: {} as SignalMeta }),
  );
  return received;
}

const brief = (r: Received) => [r.signal, r.payload, r.meta.sender];

describe('loopback', () => {
  it('with loopback a member receives its own signals; without, it does not', async () => {
    const owner = await open();
    const [a, b] = [await open(), await open()];
    const Looped = battery();
    const Plain = battery();
    await owner.createGroup(Looped, { emitters: 'members', loopback: true });
    await owner.createGroup(Plain, { emitters: 'members' });
    const looped = [record(await a.join(Looped)), record(await b.join(Looped))];
    const plain = [record(await a.join(Plain)), record(await b.join(Plain))];

    await a.emit(Looped, 'LevelChanged', { percent: 1 });
    await a.emit(Plain, 'LevelChanged', { percent: 2 });
    await b.emit(Plain, 'LevelChanged', { percent: 3 });
    await Promise.all([a.ping(), b.ping()]);

    const one = ['LevelChanged', { percent: 1 }, a.name];
    expect(looped.map((r) => r.map(brief))).toEqual([[one], [one]]);
    expect(plain.map((r) => r.map(brief))).toEqual([
      [['LevelChanged', { percent: 3 }, b.name]],
      [['LevelChanged', { percent: 2 }, a.name]],
    ]);
  });
});

describe('send-to-peer', () => {
  it("members' signals reach the owner's inbox, not the owner's own; other members get them too", async () => {
    const owner = await open();
    const [a, b] = [await open(), await open()];
    const Peer = battery();
    const group = await owner.createGroup(Peer, { emitters: 'members', sendToPeer: true });
    expect(group.inbox).toBeDefined();
    const inbox = record(group.inbox as Subscription<Battery>);
    const atA = record(await a.join(Peer));
    const atB = record(await b.join(Peer));

    await a.emit(Peer, 'LevelChanged', { percent: 10 });
    await group.emit('Charging', { on: true });
    await b.emit(Peer, 'LevelChanged', { percent: 20 });
    await Promise.all([owner.ping(), a.ping(), b.ping()]);

    const fromA = ['LevelChanged', { percent: 10 }, a.name];
    const fromOwner = ['Charging', { on: true }, owner.name];
    const fromB = ['LevelChanged', { percent: 20 }, b.name];
    expect(inbox.map(brief)).toEqual([fromA, fromB]);
    expect(atA.map(brief)).toEqual([fromOwner, fromB]);
    expect(atB.map(brief)).toEqual([fromA, fromOwner]);
    // One bus order for all.
    expect(inbox[1]?.meta.seq).toBe(atA[1]?.meta.seq);
    expect(inbox[0]?.meta.seq).toBe(atB[0]?.meta.seq);
  });

  it('a group without sendToPeer has no inbox, and members emitting do not reach the owner', async () => {
    const owner = await open();
    const a = await open();
    const Closed = battery();
    const group = await owner.createGroup(Closed, { emitters: 'members' });
    expect(group.inbox).toBeUndefined();
    await a.join(Closed);
    // Nobody else is a member: the emit is accepted with no recipient at all.
    expect(await a.emit(Closed, 'Charging', { on: false })).toMatchObject({ groupSeq: 1, recipients: 0 });
  });
});

describe('filters', () => {
  it('by signal, by sender, by payload fields, combined (all must hold) and alternatives (any may)', async () => {
    const owner = await open();
    const other = await open();
    const Filtered = battery();
    const group = await owner.createGroup(Filtered, { emitters: 'anyone' });
    const listener = await open();
    const subs = {
      signal: record(await listener.join(Filtered, { filter: { signal: 'Charging' } })),
      all: record(await (await open()).join(Filtered)),
    };
    const bySender = await open();
    const byFields = await open();
    const combined = await open();
    const either = await open();
    const more = {
      sender: record(await bySender.join(Filtered, { filter: { sender: other.name } })),
      fields: record(await byFields.join(Filtered, { filter: { fields: { source: 'ac' } } })),
      combined: record(
        await combined.join(Filtered, {
          filter: { signal: 'LevelChanged', sender: owner.name, fields: { source: 'ac', percent: 50 } },
        }),
      ),
      either: record(
        await either.join(Filtered, { filter: [{ signal: 'Charging' }, { fields: { percent: 50 } }] }),
      ),
    };

    const sent: [Bus, 'LevelChanged' | 'Charging', Record<string, unknown>][] = [
      [owner, 'LevelChanged', { percent: 10, source: 'battery' }],
      [other, 'LevelChanged', { percent: 50, source: 'ac' }],
      [owner, 'Charging', { on: true, source: 'ac' }],
      [other, 'LevelChanged', { percent: 50 }],
      [owner, 'LevelChanged', { percent: 50, source: 'ac' }],
      [other, 'Charging', { on: false }],
      [owner, 'LevelChanged', { percent: 51, source: 'ac' }],
    ];
    for (const [bus, signal, payload] of sent) {
      if (bus === owner) await group.emit(signal, payload as never);
      else await bus.emit(Filtered, signal, payload as never);
    }
    await Promise.all([listener, bySender, byFields, combined, either, ...buses].map((bus) => bus.ping()));

    const expected = (keep: (bus: Bus, signal: string, payload: Record<string, unknown>) => boolean) =>
      sent
        .filter(([bus, signal, payload]) => keep(bus, signal, payload))
        .map(([bus, s, p]) => [s, p, bus.name]);
    expect(subs.all.map(brief)).toEqual(expected(() => true));
    expect(subs.signal.map(brief)).toEqual(expected((_, s) => s === 'Charging'));
    expect(more.sender.map(brief)).toEqual(expected((bus) => bus === other));
    expect(more.fields.map(brief)).toEqual(expected((_, __, p) => p['source'] === 'ac'));
    expect(more.combined.map(brief)).toEqual(
      expected(
        (bus, s, p) => bus === owner && s === 'LevelChanged' && p['source'] === 'ac' && p['percent'] === 50,
      ),
    );
    expect(more.either.map(brief)).toEqual(expected((_, s, p) => s === 'Charging' || p['percent'] === 50));
    // Sanity: the filters did filter.
    expect(more.combined).toHaveLength(1);
  });
});

describe('retained values', () => {
  it('a late joiner first gets the last value of each signal, marked retained, then live signals', async () => {
    const owner = await open();
    const Retained = battery();
    const group = await owner.createGroup(Retained, { retain: true });
    const level10 = await group.emit('LevelChanged', { percent: 10 });
    const charging = await group.emit('Charging', { on: true });
    const level20 = await group.emit('LevelChanged', { percent: 20 });

    const late = await open();
    const sub = await late.join(Retained);
    expect(sub.startGroupSeq).toBe(4);
    const got = record(sub);
    await group.emit('LevelChanged', { percent: 30 });
    await late.ping();
    expect(got.map((r) => [r.signal, r.payload, r.meta.retained, r.meta.seq, r.meta.groupSeq])).toEqual([
      ['Charging', { on: true }, true, charging.seq, charging.groupSeq],
      ['LevelChanged', { percent: 20 }, true, level20.seq, level20.groupSeq],
      ['LevelChanged', { percent: 30 }, false, expect.any(Number), 4],
    ]);
    expect(level10.seq).toBeLessThan(charging.seq);
    expect(got[0]?.meta.sender).toBe(owner.name);

    // Filters apply to retained values too; an autojoin gets them as well, before anything live.
    const filtered = await open();
    const onlyCharging = record(await filtered.join(Retained, { filter: { signal: 'Charging' } }));
    const auto = await open({ join: [Retained] });
    await group.emit('Charging', { on: false });
    const autoGot = record(await auto.join(Retained));
    await Promise.all([filtered.ping(), auto.ping()]);
    expect(onlyCharging.map((r) => [r.payload, r.meta.retained])).toEqual([
      [{ on: true }, true],
      [{ on: false }, false],
    ]);
    expect(autoGot.map((r) => [r.payload, r.meta.retained])).toEqual([
      [{ on: true }, true],
      [{ percent: 30 }, true],
      [{ on: false }, false],
    ]);
  });

  it('without retain, a late joiner gets nothing from before it joined', async () => {
    const owner = await open();
    const Plain = battery();
    const group = await owner.createGroup(Plain);
    await group.emit('LevelChanged', { percent: 10 });
    const late = await open();
    const got = record(await late.join(Plain));
    await late.ping();
    expect(got).toEqual([]);
  });
});

describe('group close', () => {
  /** A member that iterates and one that listens for 'closed'. */
  async function members(name: string) {
    const contract = defineGroup(name, {
      signals: { Tick: z.object({ e: z.string(), i: z.number().int().nonnegative() }) },
    });
    const iterated = await (await open()).join(contract);
    const listened = await (await open()).join(contract);
    const iteration = (async () => {
      const ticks: number[] = [];
      for await (const { payload } of iterated) ticks.push(payload.i);
      return ticks;
    })();
    const ended = new Promise<[SubscriptionEndReason, unknown]>((resolve) =>
      listened.on('closed', (reason, error) => resolve([reason, error])),
    );
    const ticks: number[] = [];
    listened.on('Tick', ({ i }) => ticks.push(i));
    return { contract, iteration, ended, ticks, iterated, listened };
  }

  for (const how of ['exits', 'is killed'] as const) {
    it(`when the owner process ${how}, members get what it sent, then their subscriptions end with 'owner-left'`, async () => {
      const name = `test.groups.Owned${++groups}`;
      const owner = children.spawn('group-owner.mjs', { address: daemon.address, group: name });
      await owner.waitFor((e) => e.event === 'ready');
      const m = await members(name);
      owner.send({ cmd: 'emit', i: 1 });
      owner.send({ cmd: 'emit', i: 2 });
      await owner.waitFor((e) => e.event === 'emitted' && e['i'] === 2);
      if (how === 'exits') owner.send({ cmd: 'exit' });
      else await owner.kill('SIGKILL');
      await owner.exited;

      expect(await m.ended).toEqual(['owner-left', undefined]);
      expect(m.ticks).toEqual([1, 2]);
      expect(await m.iteration).toEqual([1, 2]);
      expect(m.iterated.ended).toBe(true);
      // The group is gone: its name can be taken again.
      const bus = await open();
      await expect(bus.join(name)).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_GROUP });
      await bus.createGroup(m.contract);
    });
  }

  it("when the owner closes the group, members' subscriptions end with 'closed'", async () => {
    const name = `test.groups.Owned${++groups}`;
    const owner = await open();
    const group = await owner.createGroup(name);
    const m = await members(name);
    await group.close();
    expect(group.closedReason).toBe('closed');
    expect(await m.ended).toEqual(['closed', undefined]);
    expect(await m.iteration).toEqual([]);
    await expect(group.emit('Tick', { e: 'x', i: 1 })).rejects.toSatisfy((e) =>
      isChorusError(e, ErrorCode.UNKNOWN_GROUP),
    );
  });
});
