/*
 * [GUARANTEE: federation] a second reconnection in the middle of a replay: a rejoin's retained value
 * comes before the replayed signals with a later fseq than theirs (issue 16). The SDK must not take
 * it as "received up to here": the connection lost right after it, the next rejoin asks from the
 * last signal really received, and the app gets every message once (retained values aside), in
 * stream order, and no gap. Without the fix the second rejoin asked from the retained value's fseq:
 * the messages emitted during the first loss were silently never delivered.
 */
import { defineGroup, z } from '@chorus/client';
import { expect, test } from 'vitest';
import { startNatsCluster, waitUntil } from '../harness/nats.js';
import { cuttableBus } from './cutting-transport.js';
import { client, type FederatedDaemon, federationScene, startFederated } from './harness.js';

const Kept = defineGroup('org.example.fed.Kept', {
  signals: { Tick: z.object({ e: z.number(), n: z.number() }) },
});

const scene = federationScene();

test('cut right after the rejoin retained value, before the replayed signals: the next rejoin replays them all, once, no gap', async () => {
  scene.nats = await startNatsCluster(3);
  const cluster = scene.nats;
  scene.daemons = await Promise.all([
    startFederated(cluster, 0, 'hostA'),
    startFederated(cluster, 1, 'hostB'),
  ]);
  const [a, b] = scene.daemons as [FederatedDaemon, FederatedDaemon];
  const service = await client(a.daemon);
  const emitter = await client(a.daemon);
  scene.buses.push(service, emitter);
  await service.createGroup(Kept, { federated: true, emitters: 'anyone', retain: true });
  const probe = await client(b.daemon);
  scene.buses.push(probe);
  await waitUntil(
    async () => (await probe.listGroups()).some((g) => g.name === Kept.name),
    15_000,
    () => 'hostB never carried the group',
  );
  const watch = await cuttableBus(b.daemon);
  scene.buses.push(watch.bus);
  const live: { key: string; fseq: number }[] = [];
  const retained: string[] = [];
  let gaps = 0;
  const sub = await watch.bus.join(Kept);
  sub.on('gap', () => gaps++);
  sub.on('Tick', ({ e, n }, meta) => {
    if (meta.retained) retained.push(`${e}.${n}`);
    else live.push({ key: `${e}.${n}`, fseq: meta.fseq ?? -1 });
  });
  const emit = async (e: number, count: number): Promise<string[]> => {
    const keys: string[] = [];
    for (let n = 0; n < count; n++) {
      await emitter.emit(Kept, 'Tick', { e, n });
      keys.push(`${e}.${n}`);
    }
    return keys;
  };

  const before = await emit(0, 3);
  await waitUntil(
    () => live.length === 3,
    15_000,
    () => `got ${live.length} of 3 before the loss`,
  );
  watch.cut();
  const missed = await emit(1, 10);
  // The first rejoin: its ok, then the retained value (1.9, the newest), then the replay: cut
  // right after the retained value.
  watch.cutAfter((m) => m.t === 'sig' && m.g === Kept.name && m.r === true);
  watch.let();
  await waitUntil(
    () => retained.length === 1,
    30_000,
    () => 'the retained value of the first rejoin never came',
  );
  // The second rejoin replays what the first one did not deliver.
  watch.let();
  const after = await emit(2, 5);
  const all = [...before, ...missed, ...after];
  await waitUntil(
    () => all.every((key) => live.some((m) => m.key === key)),
    30_000,
    () => `missing: ${all.filter((k) => !live.some((m) => m.key === k)).join(' ')}`,
  );
  expect(live.map((m) => m.key)).toEqual(all);
  for (let i = 1; i < live.length; i++)
    expect((live[i] as { fseq: number }).fseq).toBeGreaterThan((live[i - 1] as { fseq: number }).fseq);
  expect(gaps).toBe(0);
  expect(retained[0]).toBe('1.9');
}, 120_000);
