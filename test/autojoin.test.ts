import { setTimeout as sleep } from 'node:timers/promises';
import { type Bus, connect, defineGroup, type SignalMeta, type Subscription, z } from '@chorus/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Fixtures } from './harness/child.js';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { expectConsecutive, expectSameSequence } from './harness/records.js';

// Race-free joins, raced for real: while emitter processes keep the bus busy, clients join
// (in the handshake, or with `join`) over and over. Each must get exactly the messages accepted
// from its `startSeq` on: the first one it gets is the first of the group at or after `startSeq`,
// then every later one, without a gap; and a message emitted after `connect` (or `join`)
// resolved is never missed. A recorder that joined before anything was emitted is the reference.
// [GUARANTEE: join]

const BUSY = 'test.autojoin.Busy';
const NOISE = 'test.autojoin.Noise';
const Busy = defineGroup(BUSY, {
  signals: {
    Tick: z.object({ e: z.string(), i: z.number().int().nonnegative(), pad: z.string().optional() }),
  },
});

type Seen = { seq: number; groupSeq: number; e: string; i: number };
const seen = ({ e, i }: { e: string; i: number }, meta: SignalMeta): Seen => ({
  seq: meta.seq,
  groupSeq: meta.groupSeq,
  e,
  i,
});

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

/** Collects a subscription's ticks until `done` says so. */
function collect(sub: Subscription<typeof Busy>, done: (ticks: Seen[]) => boolean): Promise<Seen[]> {
  const ticks: Seen[] = [];
  return new Promise((resolve, reject) => {
    sub.on('Tick', (payload, meta) => {
      ticks.push(seen(payload, meta));
      if (done(ticks)) resolve(ticks);
    });
    sub.on('invalid', reject);
    sub.on('closed', (reason, error) => reject(error ?? new Error(`subscription ended: ${reason}`)));
  });
}

it('clients joining a busy group, in the handshake or later, get exactly what follows their startSeq', async () => {
  // The busy group takes emits from anyone, so the test can emit its markers; a second emitter
  // in another group makes the bus sequence numbers skip, so startSeq is tested against the
  // bus order and not just the group's.
  const busy = children.spawn('emitter.mjs', {
    address: daemon.address,
    id: 'busy',
    groups: [BUSY],
    create: { [BUSY]: { emitters: 'anyone' } },
  });
  const noise = children.spawn('emitter.mjs', {
    address: daemon.address,
    id: 'noise',
    groups: [NOISE],
    create: { [NOISE]: {} },
  });
  await Promise.all([busy, noise].map((c) => c.waitFor((e) => e.event === 'ready')));

  const recorderBus = await open();
  const recorder: Seen[] = [];
  (await recorderBus.join(Busy)).on('Tick', (payload, meta) => recorder.push(seen(payload, meta)));
  const poker = await open();

  busy.send({ cmd: 'run', batch: 32 });
  noise.send({ cmd: 'run', batch: 8 });
  // Well inside the stream before the first round.
  await expect.poll(() => recorder.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(100);

  const rounds: { mode: string; startSeq: number; startGroupSeq: number; ticks: Seen[] }[] = [];
  for (let round = 0; round < 24; round++) {
    const mode = ['autojoin', 'autojoin-claimed-late', 'join'][round % 3] as string;
    const isMarker = (t: Seen): boolean => t.e === 'marker' && t.i === round;
    let bus: Bus;
    let sub: Subscription<typeof Busy>;
    let marker: Promise<unknown>;
    if (mode === 'join') {
      bus = await open();
      sub = await bus.join(Busy);
      marker = poker.emit(Busy, 'Tick', { e: 'marker', i: round });
    } else {
      bus = await open({ join: [Busy] });
      // Emitted once connect() resolved: the client must get it, even before claiming the group.
      marker = poker.emit(Busy, 'Tick', { e: 'marker', i: round });
      // Claimed late, messages are held meanwhile (and come first).
      if (mode === 'autojoin-claimed-late') await sleep(20);
      sub = await bus.join(Busy);
    }
    const ticks = await collect(sub, (t) => t.length >= 30 && t.some(isMarker));
    await marker;
    rounds.push({ mode, startSeq: sub.startSeq, startGroupSeq: sub.startGroupSeq, ticks });
    await bus.close();
  }

  busy.send({ cmd: 'stop' });
  noise.send({ cmd: 'stop' });
  const { next: busyCount } = await busy.waitFor((e) => e.event === 'stopped');
  await noise.waitFor((e) => e.event === 'stopped');
  // The recorder has everything once it has the busy emitter's ticks and every marker.
  const total = (busyCount as number) + rounds.length;
  await expect.poll(() => recorder.length, { timeout: 20_000 }).toBe(total);
  expectConsecutive(
    recorder.map((t) => t.groupSeq),
    1,
    'recorder groupSeq',
  );

  for (const [round, { mode, startSeq, startGroupSeq, ticks }] of rounds.entries()) {
    const from = recorder.findIndex((t) => t.seq >= startSeq);
    expect(from, `round ${round} (${mode}): startSeq ${startSeq} is within the stream`).toBeGreaterThan(0);
    // Exact: the first message is the first accepted at or after startSeq, and so on without a gap.
    expect(ticks[0], `round ${round} (${mode}): first message`).toEqual(recorder[from]);
    expect(ticks[0]?.groupSeq).toBe(startGroupSeq);
    expectSameSequence(ticks, recorder.slice(from, from + ticks.length), `round ${round} (${mode})`);
    expect(ticks.some((t) => t.e === 'marker' && t.i === round)).toBe(true);
  }
});
