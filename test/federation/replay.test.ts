import type { Bus, BusGap, SubscriptionGap } from '@chorus/client';
import { expect, test } from 'vitest';
import { startNatsCluster, waitUntil } from '../harness/nats.js';
import { cuttableBus } from './cutting-transport.js';
import {
  client,
  type FederatedDaemon,
  federationScene,
  restartFederated,
  startFederated,
} from './harness.js';
import { emitTicks, federatedGroup, Tick } from './traffic.js';

const scene = federationScene();

type Event =
  | { readonly kind: 'msg'; readonly key: string; readonly fseq: number; readonly seq: number }
  | { readonly kind: 'gap'; readonly gap: SubscriptionGap };

/** A subscriber on `fed` whose socket the test can cut, and whose reconnection it can hold back. */
interface Watcher {
  readonly bus: Bus;
  /** Messages and gaps, in the order the app saw them. */
  readonly events: Event[];
  readonly busGaps: BusGap[];
  /** Cuts the socket; the bus reconnects once `let()` is called. */
  cut(): void;
  let(): void;
  messages(): Extract<Event, { kind: 'msg' }>[];
  gaps(): SubscriptionGap[];
}

async function watcher(fed: FederatedDaemon, autojoin = false): Promise<Watcher> {
  // Autojoined: where the membership starts in the stream comes with the welcome.
  const cuttable = await cuttableBus(fed.daemon, autojoin ? { join: [Tick] } : {});
  const bus = cuttable.bus;
  scene.buses.push(bus);
  const events: Event[] = [];
  const busGaps: BusGap[] = [];
  bus.on('gap', (gap) => busGaps.push(gap));
  const sub = await bus.join(Tick);
  sub.on('gap', (gap) => events.push({ kind: 'gap', gap }));
  sub.on('Tick', ({ e, n }, meta) =>
    events.push({ kind: 'msg', key: `${e}.${n}`, fseq: meta.fseq ?? -1, seq: meta.seq }),
  );
  return {
    bus,
    events,
    busGaps,
    cut: () => cuttable.cut(),
    let: () => cuttable.let(),
    messages: () => events.filter((e): e is Extract<Event, { kind: 'msg' }> => e.kind === 'msg'),
    gaps: () => events.flatMap((e) => (e.kind === 'gap' ? [e.gap] : [])),
  };
}

async function setUp(extraB?: Record<string, unknown>, autojoin = false, first = 10) {
  const cluster = await startNatsCluster(3);
  scene.nats = cluster;
  scene.daemons = await Promise.all([
    startFederated(cluster, 0, 'hostA'),
    startFederated(cluster, 1, 'hostB', undefined, extraB),
  ]);
  const service = await federatedGroup(scene.daemons);
  const emitter = await client((scene.daemons[0] as FederatedDaemon).daemon);
  scene.buses.push(service, emitter);
  const watch = await watcher(scene.daemons[1] as FederatedDaemon, autojoin);
  // Before the loss: delivered live.
  const before = await emitTicks(emitter, 0, first);
  await waitUntil(
    () => watch.messages().length === first,
    15_000,
    () => `the subscriber got ${watch.messages().length} of ${first} before the loss`,
  );
  return { cluster, emitter, watch, before };
}

/** Emits `count` ticks as emitter `e`, paced, while the subscriber comes back. */
function emitLive(emitter: Bus, e: number, count: number): Promise<Set<string>> {
  return emitTicks(emitter, e, count, () => new Promise((resolve) => setTimeout(resolve, 20)));
}

/** Every acknowledged message once, in strictly increasing fseq; the ones missed came replayed. */
async function checkReplayed(watch: Watcher, acked: Set<string>, missed: Set<string>): Promise<void> {
  await waitUntil(
    () => [...acked].every((key) => watch.messages().some((m) => m.key === key)),
    30_000,
    () =>
      `missing: ${[...acked].filter((k) => !watch.messages().some((m) => m.key === k)).join(' ')}; gaps: ${JSON.stringify(watch.gaps())}`,
  );
  const got = watch.messages();
  expect(got.map((m) => m.key).sort()).toEqual([...acked].sort());
  for (let i = 1; i < got.length; i++)
    expect((got[i] as Event & { fseq: number }).fseq).toBeGreaterThan((got[i - 1] as { fseq: number }).fseq);
  // What was emitted while the subscriber was away came from the stream (seq 0: no bus order here).
  for (const m of got) if (missed.has(m.key)) expect(m.seq, `${m.key} was replayed`).toBe(0);
  expect(watch.gaps()).toEqual([]);
  expect(watch.busGaps.length).toBeGreaterThan(0);
  for (const gap of watch.busGaps) expect(gap.groups).toEqual([]);
}

test('daemon B killed with SIGKILL and restarted: the subscriber is replayed what it missed, once, in order, then the live ones; no gap', async () => {
  const { cluster, emitter, watch, before } = await setUp();
  const b = scene.daemons[1] as FederatedDaemon;
  await b.daemon.kill();
  const missed = await emitTicks(emitter, 1, 20);
  expect(missed.size).toBe(20);
  await restartFederated(cluster, 1, b);
  const live = await emitLive(emitter, 2, 30);
  await checkReplayed(watch, new Set([...before, ...missed, ...live]), missed);
}, 120_000);

test('daemon B stopped with SIGTERM and restarted: replayed, once, in order, no gap', async () => {
  const { cluster, emitter, watch, before } = await setUp();
  const b = scene.daemons[1] as FederatedDaemon;
  await b.daemon.stop();
  const missed = await emitTicks(emitter, 1, 20);
  await restartFederated(cluster, 1, b);
  const live = await emitLive(emitter, 2, 30);
  await checkReplayed(watch, new Set([...before, ...missed, ...live]), missed);
}, 120_000);

test.each([
  ['joined, after 10 messages', false, 10],
  // Nothing received before the loss: the replay starts where the welcome said the membership did.
  ['autojoined (connect({ join })), before any message', true, 0],
])(
  'the connection cut while daemon B stays up, %s: replayed, once, in order, no gap',
  async (_, autojoin, first) => {
    const { emitter, watch, before } = await setUp(undefined, autojoin, first);
    watch.cut();
    const missed = await emitTicks(emitter, 1, 20);
    watch.let();
    const live = await emitLive(emitter, 2, 30);
    await checkReplayed(watch, new Set([...before, ...missed, ...live]), missed);
  },
  120_000,
);

test('maxReplayMessages 5: a gap naming the 15 not replayed, then the last 5 from the stream, then the live ones', async () => {
  const { emitter, watch, before } = await setUp({ maxReplayMessages: 5 });
  const lastBefore = watch.messages().at(-1)?.fseq as number;
  watch.cut();
  const missed = await emitTicks(emitter, 1, 20);
  watch.let();
  await waitUntil(
    () => watch.messages().some((m) => m.key === '1.19'),
    30_000,
    () => `the replay never came: ${JSON.stringify(watch.events.slice(-3))}`,
  );
  const live = await emitTicks(emitter, 2, 5);
  await waitUntil(
    () => watch.messages().some((m) => m.key === '2.4'),
    15_000,
    () => 'the live messages never came',
  );
  const after = watch.events.slice(before.size);
  const gap = after[0];
  expect(gap?.kind).toBe('gap');
  const replayed = after.slice(1, 6) as Extract<Event, { kind: 'msg' }>[];
  expect(replayed.map((m) => m.key)).toEqual(['1.15', '1.16', '1.17', '1.18', '1.19']);
  for (const m of replayed) expect(m.seq).toBe(0);
  const first = (replayed[0] as { fseq: number }).fseq;
  expect(gap?.kind === 'gap' && gap.gap).toMatchObject({
    lastFseq: lastBefore,
    startFseq: first,
    missed: 15,
  });
  expect(after.slice(6).map((m) => (m.kind === 'msg' ? m.key : 'gap'))).toEqual([...live]);
  expect(missed.size).toBe(20);
  expect(watch.busGaps.at(-1)?.groups).toHaveLength(1);
}, 120_000);
