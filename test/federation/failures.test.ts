/*
 * [GUARANTEE: federation] failures of the cluster and of a daemon lose no acknowledged message,
 * repeat none and reorder nothing: the stream leader killed mid-stream, a node frozen with
 * SIGSTOP, a daemon killed with SIGKILL and started again. Each test has its own 3-node cluster
 * and three daemons, each attached first to a different node.
 */
import type { Bus } from '@chorus/client';
import { expect, test } from 'vitest';
import { type NatsCluster, startNatsCluster, waitUntil } from '../harness/nats.js';
import {
  client,
  type FederatedDaemon,
  federationScene,
  restartFederated,
  STREAM,
  startFederated,
} from './harness.js';
import { checkDelivery, emitTicks, federatedGroup, type Recipient, recipients } from './traffic.js';

const scene = federationScene();

async function setUp(): Promise<{ cluster: NatsCluster; all: Recipient[]; emitters: Bus[] }> {
  const cluster = await startNatsCluster(3);
  scene.nats = cluster;
  scene.daemons = await Promise.all([0, 1, 2].map((i) => startFederated(cluster, i, `host${i}`)));
  const service = await federatedGroup(scene.daemons);
  const all = await recipients(scene.daemons, 1);
  const emitters = await Promise.all(scene.daemons.map((d) => client(d.daemon)));
  scene.buses = [service, ...emitters, ...all.map((r) => r.bus)];
  return { cluster, all, emitters };
}

const pace = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

test('the stream leader killed mid-stream: no acknowledged message lost, none repeated, one order', async () => {
  const { cluster, all, emitters } = await setUp();
  const sending = Promise.all(emitters.map((bus, e) => emitTicks(bus, e, 150, pace)));
  await waitUntil(
    () => (all[0]?.got.length ?? 0) >= 100,
    30_000,
    () => 'traffic did not start',
  );
  const leader = await cluster.streamLeader(STREAM);
  expect(leader).toBeDefined();
  await cluster.kill(leader as NonNullable<typeof leader>);
  const acked = new Set((await sending).flatMap((set) => [...set]));
  expect(acked.size).toBeGreaterThan(150);
  await checkDelivery(all, acked, 45_000);
}, 120_000);

test('a NATS node frozen with SIGSTOP for a few seconds: no loss, no repeat, one order', async () => {
  const { cluster, all, emitters } = await setUp();
  const sending = Promise.all(emitters.map((bus, e) => emitTicks(bus, e, 150, pace)));
  await waitUntil(
    () => (all[0]?.got.length ?? 0) >= 100,
    30_000,
    () => 'traffic did not start',
  );
  const leader = (await cluster.streamLeader(STREAM)) ?? cluster.nodes[0];
  cluster.freeze(leader as NonNullable<typeof leader>);
  await new Promise((resolve) => setTimeout(resolve, 4_000));
  cluster.thaw(leader as NonNullable<typeof leader>);
  const acked = new Set((await sending).flatMap((set) => [...set]));
  await checkDelivery(all, acked, 45_000);
}, 120_000);

test('a daemon killed with SIGKILL and restarted: nobody loses anything, its own recipient catches up from the stream; it carries the group again', async () => {
  const { cluster, all, emitters } = await setUp();
  // Emitters on the hosts that stay; the killed host's recipient reconnects to the new daemon.
  const sending = Promise.all([0, 2].map((e) => emitTicks(emitters[e] as Bus, e, 150, pace)));
  await waitUntil(
    () => (all[0]?.got.length ?? 0) >= 100,
    30_000,
    () => 'traffic did not start',
  );
  const victim = scene.daemons[1] as FederatedDaemon;
  await victim.daemon.kill();
  await new Promise((resolve) => setTimeout(resolve, 500));
  await restartFederated(cluster, 1, victim);
  const acked = new Set((await sending).flatMap((set) => [...set]));
  // The recipient that was on the killed daemon too: the SDK reconnects and rejoins, and what it
  // missed while its daemon was down is replayed from the stream (catch-up): the same sequence as
  // everyone's, message by message, and no gap.
  await checkDelivery(all, acked, 45_000);
  const back = all.find((r) => r.host === 1) as Recipient;
  expect(back.gaps).toBe(0);
  // The restarted daemon knows the group from the stream: a new member there gets what follows.
  const late = await client(victim.daemon);
  scene.buses.push(late);
  const sub = await late.join('org.example.fed.Tick');
  const got: number[] = [];
  sub.on('Tick', (_payload, meta) => got.push(meta.fseq ?? -1));
  const after = await emitTicks(emitters[0] as Bus, 9, 20);
  expect(after.size).toBe(20);
  await waitUntil(
    () => got.length === 20,
    15_000,
    () => `the restarted daemon delivered ${got.length} of 20`,
  );
  for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThan(got[i - 1] as number);
  await checkDelivery(all, new Set([...acked, ...after]), 15_000);
}, 120_000);
