/*
 * [GUARANTEE: federation] one order everywhere: a 3-node JetStream cluster, three daemons each on
 * a different node, an emitter and two recipients on every host. Every recipient gets every
 * acknowledged message once, and all six see the same sequence, message by message.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type NatsCluster, startNatsCluster } from '../harness/nats.js';
import { client, type FederatedDaemon, startFederated } from './harness.js';
import { checkDelivery, emitTicks, federatedGroup, recipients, Tick } from './traffic.js';

let nats: NatsCluster;
let daemons: FederatedDaemon[];

beforeAll(async () => {
  nats = await startNatsCluster(3);
  daemons = await Promise.all([0, 1, 2].map((i) => startFederated(nats, i, `host${i}`)));
});

afterAll(async () => {
  await Promise.all((daemons ?? []).map((d) => d.daemon.kill()));
  await nats?.stop();
});

test('emitters on three hosts, recipients on three hosts: identical orders, nothing lost or repeated', async () => {
  const service = await federatedGroup(daemons);
  const all = await recipients(daemons, 2);
  const emitters = await Promise.all(daemons.map((d) => client(d.daemon)));
  const acked = await Promise.all(emitters.map((bus, e) => emitTicks(bus, e, 100)));
  const keys = new Set(acked.flatMap((set) => [...set]));
  expect(keys.size).toBe(300);
  await checkDelivery(all, keys);
  expect(all[0]?.got.length).toBe(300);
  // Remote senders read DAEMON:1.N, local ones :1.N.
  await Promise.all([service, ...emitters, ...all.map((r) => r.bus)].map((b) => b.close()));
  void Tick;
});
