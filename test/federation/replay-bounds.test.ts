/*
 * [GUARANTEE: federation] the bounds of a replay (issue 16), against real daemons:
 * - the room left in the connection's queue (`limits.maxQueueBytes`): only the most recent missed
 *   messages that fit are replayed; the gap before them names exactly the others (how many, and
 *   from which fseq the replayed ones start), and nothing is delivered twice;
 * - a message held up by `onFull: 'block'` when the subscriber comes back (the applier is paused on
 *   it): it is not replayed but delivered live once room is made (the join point is before it),
 *   so it arrives exactly once.
 */
import { type Bus, defineGroup, type SubscriptionGap, z } from '@chorus/client';
import { expect, test } from 'vitest';
import { type RunningDaemon, startDaemon } from '../harness/daemon.js';
import { startNatsCluster, waitUntil } from '../harness/nats.js';
import { RawClient } from '../harness/raw-client.js';
import { cuttableBus } from './cutting-transport.js';
import { client, federationConfig, federationScene, startFederated } from './harness.js';

const Blob = defineGroup('org.example.fed.Blob', {
  signals: { Put: z.object({ e: z.number(), n: z.number(), pad: z.string() }) },
});

const scene = federationScene<RunningDaemon>((d) => d.kill());

type Event = { kind: 'msg'; key: string; fseq: number; seq: number } | { kind: 'gap'; gap: SubscriptionGap };

async function setUp(limits: Record<string, number>) {
  scene.nats = await startNatsCluster(3);
  const a = await startFederated(scene.nats, 0, 'hostA');
  const b = await startDaemon({
    config: { ...federationConfig(scene.nats, 1, 'hostB'), limits },
    args: ['--no-ws'],
  });
  scene.daemons = [a.daemon, b];
  const service = await client(a.daemon);
  const emitter = await client(a.daemon);
  scene.closers.push(
    () => service.close(),
    () => emitter.close(),
  );
  await service.createGroup(Blob, { federated: true, emitters: 'anyone' });
  const probe = await client(b);
  scene.closers.push(() => probe.close());
  await waitUntil(
    async () => (await probe.listGroups()).some((g) => g.name === Blob.name),
    15_000,
    () => 'hostB never carried the group',
  );
  const me = await cuttableBus(b);
  scene.closers.push(() => me.bus.close());
  const events: Event[] = [];
  const sub = await me.bus.join(Blob);
  sub.on('gap', (gap) => events.push({ kind: 'gap', gap }));
  sub.on('Put', ({ e, n }, meta) =>
    events.push({ kind: 'msg', key: `${e}.${n}`, fseq: meta.fseq ?? -1, seq: meta.seq }),
  );
  const emit = async (bus: Bus, e: number, count: number, size: number): Promise<void> => {
    for (let n = 0; n < count; n++) await bus.emit(Blob, 'Put', { e, n, pad: 'x'.repeat(size) });
  };
  return { b, emitter, me, events, emit };
}

const messages = (events: Event[]) =>
  events.filter((e): e is Extract<Event, { kind: 'msg' }> => e.kind === 'msg');

test('maxQueueBytes: the most recent missed messages that fit are replayed, the gap names exactly the others', async () => {
  const { emitter, me, events, emit } = await setUp({ maxQueueBytes: 65_536 });
  await emit(emitter, 0, 2, 10);
  await waitUntil(
    () => messages(events).length === 2,
    15_000,
    () => 'the first two never came',
  );
  const lastBefore = messages(events)[1]?.fseq as number;
  me.cut();
  // 30 × 4 KiB: about twice the room.
  await emit(emitter, 1, 30, 4096);
  me.let();
  await waitUntil(
    () => messages(events).some((m) => m.key === '1.29'),
    30_000,
    () =>
      `the replay never came: ${JSON.stringify(events.slice(-2).map((e) => (e.kind === 'gap' ? e.gap : e.key)))}`,
  );
  await emit(emitter, 2, 3, 10);
  await waitUntil(
    () => messages(events).some((m) => m.key === '2.2'),
    15_000,
    () => 'the live ones never came',
  );
  const after = events.slice(2);
  const gap = after[0];
  if (gap?.kind !== 'gap') throw new Error(`a gap first, got ${JSON.stringify(gap)}`);
  const replayed = messages(after.slice(1)).filter((m) => m.key.startsWith('1.'));
  expect(replayed.length).toBeGreaterThan(0);
  expect(replayed.length).toBeLessThan(30);
  const first = 30 - replayed.length;
  // Exactly the most recent ones, in order, replayed (seq 0), then the live ones.
  expect(after.slice(1).map((m) => (m.kind === 'msg' ? m.key : 'gap'))).toEqual([
    ...Array.from({ length: replayed.length }, (_, i) => `1.${first + i}`),
    '2.0',
    '2.1',
    '2.2',
  ]);
  for (const m of replayed) expect(m.seq).toBe(0);
  expect(gap.gap).toMatchObject({ lastFseq: lastBefore, startFseq: replayed[0]?.fseq, missed: first });
  expect(events.filter((e) => e.kind === 'gap')).toHaveLength(1);
}, 120_000);

/** Where a membership of the group made now on `daemon` starts in the stream (its `fseq`). */
async function pointOn(socketPath: string): Promise<number> {
  const probe = await RawClient.open(socketPath);
  try {
    const reply = await probe.ok({ t: 'join', g: Blob.name });
    return (reply.message.t === 'ok' ? reply.message.r?.['fseq'] : undefined) as number;
  } finally {
    probe.close();
  }
}

test("onFull 'block': the message the applier is held on when the subscriber comes back is not replayed but arrives once, live; the gap is exact", async () => {
  const { b, emitter, me, events, emit } = await setUp({ maxQueueBytes: 16_384, stallTimeoutMs: 120_000 });
  await emit(emitter, 0, 1, 10);
  await waitUntil(
    () => messages(events).length === 1,
    15_000,
    () => 'the first never came',
  );
  const lastBefore = messages(events)[0]?.fseq as number;
  // A member on hostB that reads nothing: once its socket and its queue are full, hostB's applier
  // holds on a message (onFull 'block', the federated default) and applies nothing more (not
  // evicted: stallTimeoutMs is longer than the test).
  const stuck = await RawClient.open(b.socketPath);
  scene.closers.push(() => stuck.close());
  await stuck.ok({ t: 'join', g: Blob.name });
  stuck.socket.pause();
  me.cut();
  const count = 100;
  await emit(emitter, 1, count, 8192);
  const tail = lastBefore + count;
  // Held: the point stays below the tail (a blocked applier never moves on by itself).
  let held = -1;
  await waitUntil(
    async () => {
      const point = await pointOn(b.socketPath);
      const stable = point === held;
      held = point;
      return stable && point < tail;
    },
    30_000,
    () => `hostB's applier never held (point ${held}, tail ${tail})`,
  );
  const reconnected = new Promise((resolve) => me.bus.on('reconnected', resolve));
  me.let();
  await reconnected;
  // Rejoined while held: the applier is still where it was.
  expect(await pointOn(b.socketPath)).toBe(held);
  stuck.close();
  await waitUntil(
    () => messages(events).some((m) => m.key === `1.${count - 1}`),
    30_000,
    () =>
      `got ${messages(events)
        .map((m) => m.key)
        .join(' ')}`,
  );
  const after = events.slice(1);
  const gap = after[0];
  if (gap?.kind !== 'gap') throw new Error(`a gap first, got ${JSON.stringify(gap)}`);
  const got = messages(after);
  const first = gap.gap.missed as number;
  // Every message once: the gap's, then the rest in order (replayed up to the held one, then live).
  expect(got.map((m) => m.key)).toEqual(Array.from({ length: count - first }, (_, i) => `1.${first + i}`));
  expect(gap.gap).toMatchObject({ lastFseq: lastBefore, startFseq: got[0]?.fseq });
  for (let i = 1; i < got.length; i++) expect(got[i]?.fseq).toBe((got[i - 1]?.fseq as number) + 1);
  // The held message (held + 1) came live, not replayed.
  const heldMessage = got.find((m) => m.fseq === held + 1);
  expect(heldMessage?.seq).toBeGreaterThan(0);
  for (const m of got) if (m.fseq <= held) expect(m.seq).toBe(0);
  expect(events.filter((e) => e.kind === 'gap')).toHaveLength(1);
}, 120_000);
