/*
 * [GUARANTEE: federation] what a federated request is refused with, typed: onFull 'reject' at
 * createGroup, a daemon without --federation, and a daemon that lost NATS (bounded by
 * publishTimeoutMs) while its local groups keep working.
 */
import { connect, defineGroup, z } from '@chorus/client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type RunningDaemon, startDaemon } from '../harness/daemon.js';
import { type NatsCluster, startNatsCluster, waitUntil } from '../harness/nats.js';

const Fed = defineGroup('org.example.fed.Refused', { signals: { S: z.object({ n: z.number() }) } });
const Local = defineGroup('org.example.fed.Local', { signals: { S: z.object({ n: z.number() }) } });

let nats: NatsCluster;
let daemon: RunningDaemon;

beforeAll(async () => {
  nats = await startNatsCluster(1);
  daemon = await startDaemon({
    args: ['--no-ws'],
    config: { federation: { servers: [nats.nodes[0]?.url], daemonId: 'solo', publishTimeoutMs: 1500 } },
  });
});

afterAll(async () => {
  await daemon?.kill();
  await nats?.stop();
});

test("onFull 'reject' and sendToPeer are refused for a federated group (BAD_FIELD, with the path)", async () => {
  const bus = await connect({ address: daemon.address });
  await expect(bus.createGroup(Fed, { federated: true, onFull: 'reject' })).rejects.toMatchObject({
    code: 'BAD_FIELD',
  });
  await expect(bus.createGroup(Fed, { federated: true, sendToPeer: true })).rejects.toMatchObject({
    code: 'BAD_FIELD',
  });
  await bus.close();
});

test('a daemon without --federation answers FEDERATION_UNAVAILABLE', async () => {
  const plain = await startDaemon({ args: ['--no-ws'] });
  try {
    const bus = await connect({ address: plain.address });
    await expect(bus.createGroup(Fed, { federated: true })).rejects.toMatchObject({
      code: 'FEDERATION_UNAVAILABLE',
    });
    await bus.close();
  } finally {
    await plain.kill();
  }
});

test('NATS gone: federated emits fail with FEDERATION_UNAVAILABLE within publishTimeoutMs; local groups work', async () => {
  const bus = await connect({ address: daemon.address });
  const fed = await bus.createGroup(Fed, { federated: true });
  const local = await bus.createGroup(Local);
  const member = await connect({ address: daemon.address });
  const sub = await member.join(Local);
  const got: number[] = [];
  sub.on('S', ({ n }) => got.push(n));
  await fed.emit('S', { n: 1 });
  await nats.kill(nats.nodes[0] as NatsCluster['nodes'][number]);
  await expect(fed.emit('S', { n: 2 })).rejects.toMatchObject({ code: 'FEDERATION_UNAVAILABLE' });
  for (let n = 0; n < 10; n++) await local.emit('S', { n });
  await waitUntil(
    () => got.length === 10,
    10_000,
    () => 'local delivery stopped',
  );
  await Promise.all([bus.close(), member.close()]);
});
