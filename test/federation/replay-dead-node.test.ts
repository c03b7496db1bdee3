/*
 * [GUARANTEE: federation] a replay whose consumer lands on a dead NATS node (issue 16): after a
 * node is SIGKILLed, nats-server 2.9.10 does not mark it offline, and an ordered consumer created
 * meanwhile is placed on it about one time in three, where it delivers nothing. A replay read then
 * made no progress: it waited out publishTimeoutMs (holding the daemon's applier) and reported the
 * whole range missed. Now a read that makes no progress for stallMs is tried again on a fresh
 * consumer, from where it got to, within the same publishTimeoutMs. Eight reconnections in a row
 * with a node dead: each one replayed, no gap. Without the fix a consumer lands on the dead node
 * in one of them in about 96 runs out of 100 (1 − (2/3)^8), and that round reports a gap.
 */
import { defineGroup, z } from '@chorus/client';
import { expect, test } from 'vitest';
import { startNatsCluster, waitUntil } from '../harness/nats.js';
import { cuttableBus } from './cutting-transport.js';
import { client, federationScene, STREAM, startFederated } from './harness.js';

const Pulse = defineGroup('org.example.fed.Pulse', { signals: { Beat: z.object({ n: z.number() }) } });

const scene = federationScene();

test('a NATS node SIGKILLed, then 8 reconnections in a row: each replayed what it missed, no gap', async () => {
  scene.nats = await startNatsCluster(3);
  const cluster = scene.nats;
  const fed = await startFederated(cluster, 1, 'hostB');
  scene.daemons = [fed];
  const service = await client(fed.daemon);
  scene.buses.push(service);
  await service.createGroup(Pulse, { federated: true, emitters: 'anyone' });
  const me = await cuttableBus(fed.daemon);
  scene.buses.push(me.bus);
  const got: number[] = [];
  const gaps: unknown[] = [];
  const sub = await me.bus.join(Pulse);
  sub.on('gap', (gap) => gaps.push(gap));
  sub.on('Beat', ({ n }) => got.push(n));
  let n = 0;
  await service.emit(Pulse, 'Beat', { n: n++ });
  await waitUntil(
    () => got.length === 1,
    15_000,
    () => 'the first never came',
  );
  // A node that is neither the daemon's nor the stream's leader: the stream goes on without it.
  const leader = await cluster.streamLeader(STREAM);
  const victim = cluster.nodes.find((node, i) => i !== 1 && node !== leader);
  await cluster.kill(victim as NonNullable<typeof victim>);
  for (let round = 0; round < 8; round++) {
    me.cut();
    for (let i = 0; i < 3; i++) await service.emit(Pulse, 'Beat', { n: n++ });
    const reconnected = new Promise((resolve) => me.bus.on('reconnected', resolve));
    me.let();
    await reconnected;
    const want = n;
    await waitUntil(
      () => got.length >= want || gaps.length > 0,
      30_000,
      () => `round ${round}: got ${got.join(' ')}`,
    );
    expect(gaps, `round ${round}: ${fed.daemon.stderr()}`).toEqual([]);
  }
  expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
}, 180_000);
