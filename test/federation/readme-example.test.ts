/*
 * The README's federation example, exactly: one NATS server with JetStream, two daemons started
 * with `--federation`, a service on one creating a federated group and emitting, an app on the
 * other receiving it with its stream sequence.
 */
import { connect, defineGroup, z } from '@chorus/client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type RunningDaemon, startDaemon } from '../harness/daemon.js';
import { type NatsCluster, startNatsCluster, waitUntil } from '../harness/nats.js';

const Battery = defineGroup('org.example.Battery', {
  signals: { LevelChanged: z.object({ percent: z.number().min(0).max(100) }) },
});

let nats: NatsCluster;
let a: RunningDaemon;
let b: RunningDaemon;

beforeAll(async () => {
  nats = await startNatsCluster(1);
  const url = nats.nodes[0]?.url as string;
  [a, b] = await Promise.all([
    startDaemon({ args: ['--no-ws', '--federation', url] }),
    startDaemon({ args: ['--no-ws', '--federation', url] }),
  ]);
});

afterAll(async () => {
  await Promise.all([a?.kill(), b?.kill()]);
  await nats?.stop();
});

test('two daemons, one NATS, one federated group: an app on B gets what a service on A emits', async () => {
  // On host A: the service.
  const service = await connect({ address: a.address });
  const group = await service.createGroup(Battery, { federated: true });

  // On host B: an app joins the same group with the ordinary join.
  const app = await connect({ address: b.address });
  await waitUntil(
    async () => (await app.listGroups()).some((g) => g.name === Battery.name),
    10_000,
    () => 'the federated group never appeared on B',
  );
  const sub = await app.join(Battery);
  const got: { percent: number; fseq: number | undefined; sender: string }[] = [];
  sub.on('LevelChanged', ({ percent }, meta) => got.push({ percent, fseq: meta.fseq, sender: meta.sender }));

  const ack = await group.emit('LevelChanged', { percent: 42 });
  expect(ack.seq).toBeGreaterThan(0);
  await waitUntil(
    () => got.length === 1,
    10_000,
    () => 'B never got the signal',
  );
  expect(got[0]?.percent).toBe(42);
  expect(got[0]?.fseq).toBeGreaterThan(0);
  // The emitter is on another daemon: its name says which.
  expect(got[0]?.sender).toMatch(/^[A-Za-z0-9_-]+:1\.\d+$/);
  await Promise.all([service.close(), app.close()]);
});
