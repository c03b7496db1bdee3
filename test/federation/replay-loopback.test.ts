/*
 * [GUARANTEE: federation] loopback across a reconnection (issue 16): a subscriber of a federated
 * group without loopback does not get its own emits live, and must not get them replayed either,
 * though they were emitted from an earlier connection (another unique name, perhaps another run of
 * the daemon). The SDK sends the origins of its earlier connections (`welcome.origin`) with the
 * rejoin (`join.own`); the daemon skips the stream messages they emitted. Without it the
 * subscriber got its own messages back after the reconnection.
 */
import { defineGroup, z } from '@chorus/client';
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

const Chat = defineGroup('org.example.fed.Chat', {
  signals: { Said: z.object({ who: z.string(), n: z.number() }) },
});

const scene = federationScene();

async function setUp() {
  scene.nats = await startNatsCluster(3);
  const cluster = scene.nats;
  scene.daemons = await Promise.all([
    startFederated(cluster, 0, 'hostA'),
    startFederated(cluster, 1, 'hostB'),
  ]);
  const [a, b] = scene.daemons as [FederatedDaemon, FederatedDaemon];
  const service = await client(a.daemon);
  const other = await client(a.daemon);
  scene.buses.push(service, other);
  // loopback off (the default): a member does not get what it emits.
  await service.createGroup(Chat, { federated: true, emitters: 'anyone' });
  const probe = await client(b.daemon);
  scene.buses.push(probe);
  await waitUntil(
    async () => (await probe.listGroups()).some((g) => g.name === Chat.name),
    15_000,
    () => 'hostB never carried the group',
  );
  const me = await cuttableBus(b.daemon);
  scene.buses.push(me.bus);
  const got: string[] = [];
  let gaps = 0;
  const sub = await me.bus.join(Chat);
  sub.on('gap', () => gaps++);
  sub.on('Said', ({ who, n }) => got.push(`${who}.${n}`));
  return { cluster, b, other, me, got, gaps: () => gaps };
}

test('emitted, then the connection cut while the daemon stays up: the rejoin replays the others, not its own', async () => {
  const { other, me, got, gaps } = await setUp();
  await other.emit(Chat, 'Said', { who: 'other', n: 0 });
  await waitUntil(
    () => got.length === 1,
    15_000,
    () => `got ${got.join(' ')}`,
  );
  // Its own, before the cut: not delivered live, not to be replayed.
  await me.bus.emit(Chat, 'Said', { who: 'me', n: 0 });
  await me.bus.emit(Chat, 'Said', { who: 'me', n: 1 });
  me.cut();
  await other.emit(Chat, 'Said', { who: 'other', n: 1 });
  me.let();
  await other.emit(Chat, 'Said', { who: 'other', n: 2 });
  await waitUntil(
    () => got.includes('other.2'),
    30_000,
    () => `got ${got.join(' ')}`,
  );
  // And a second loss: the rejoin names both earlier connections.
  me.cut();
  me.let();
  await other.emit(Chat, 'Said', { who: 'other', n: 3 });
  await waitUntil(
    () => got.includes('other.3'),
    30_000,
    () => `got ${got.join(' ')}`,
  );
  expect(got).toEqual(['other.0', 'other.1', 'other.2', 'other.3']);
  expect(gaps()).toBe(0);
}, 120_000);

test('emitted, then its daemon killed and restarted (a new run, the same unique names again): its own are not replayed', async () => {
  const { cluster, b, other, me, got, gaps } = await setUp();
  await other.emit(Chat, 'Said', { who: 'other', n: 0 });
  await waitUntil(
    () => got.length === 1,
    15_000,
    () => `got ${got.join(' ')}`,
  );
  // After the last message it received: in the range the rejoin asks for.
  await me.bus.emit(Chat, 'Said', { who: 'me', n: 0 });
  me.cut();
  await b.daemon.kill();
  await other.emit(Chat, 'Said', { who: 'other', n: 1 });
  await restartFederated(cluster, 1, b);
  me.let();
  await other.emit(Chat, 'Said', { who: 'other', n: 2 });
  await waitUntil(
    () => got.includes('other.2'),
    30_000,
    () => `got ${got.join(' ')}`,
  );
  expect(got).toEqual(['other.0', 'other.1', 'other.2']);
  expect(gaps()).toBe(0);
}, 120_000);
