/*
 * [GUARANTEE: federation] a replay does not stop the daemon's federated delivery while it reads
 * (issue 16). A replay used to hold the daemon's applier for its whole read, so a client allowed
 * to join a federated group with a long history could stop every federated group on that daemon
 * for as long as the read took, and again with each join.fseq 0 it sent (up to publishTimeoutMs
 * each time). Now the bulk is read while the applier goes on; it is held only for the tail (what
 * was applied during the bulk's read), so the seam stays exact.
 *
 * Here: a group with a backlog of BACKLOG messages; a raw client joins it with join.fseq 0 (a
 * replay of all of them); while that join is pending, a service emits to another federated group
 * on the same daemon, one emit at a time (each emit's ok waits until this daemon applied it), and
 * a subscriber counts what it receives before the join's ok. Without the fix none does.
 */
import { type Bus, defineGroup, z } from '@chorus/client';
import { expect, test } from 'vitest';
import { client, federationScene, startFederated } from '../federation/harness.js';
import { startNatsCluster } from '../harness/nats.js';
import { RawClient } from '../harness/raw-client.js';

const Big = defineGroup('org.example.fed.Big', {
  signals: { Rec: z.object({ n: z.number(), pad: z.string() }) },
});
const Live = defineGroup('org.example.fed.Live', { signals: { Beat: z.object({ n: z.number() }) } });

const BACKLOG = 8000;
const EMITTERS = 30;

const scene = federationScene();

test('while a long replay is read, federated emits on the same daemon go on and are delivered', async () => {
  scene.nats = await startNatsCluster(3);
  const fed = await startFederated(scene.nats, 0, 'hostA', undefined, { publishTimeoutMs: 60_000 });
  scene.daemons = [fed];
  const service = await client(fed.daemon);
  scene.closers.push(() => service.close());
  await service.createGroup(Big, { federated: true, emitters: 'anyone' });
  await service.createGroup(Live, { federated: true, emitters: 'anyone' });

  // The backlog, from many connections at once (one connection's federated emits are serial).
  const pad = 'x'.repeat(200);
  const emitters: Bus[] = await Promise.all(Array.from({ length: EMITTERS }, () => client(fed.daemon)));
  scene.closers.push(() => Promise.all(emitters.map((b) => b.close())));
  await Promise.all(
    emitters.map(async (bus, e) => {
      for (let n = e; n < BACKLOG; n += EMITTERS) await bus.emit(Big, 'Rec', { n, pad });
    }),
  );

  const watcher = await client(fed.daemon);
  scene.closers.push(() => watcher.close());
  const live = await watcher.join(Live);
  let beatsWhilePending = 0;
  let pending = true;
  live.on('Beat', () => {
    if (pending) beatsWhilePending++;
  });

  const raw = await RawClient.open(fed.daemon.socketPath);
  scene.closers.push(() => raw.close());
  const joined = raw.ok({ t: 'join', g: Big.name, fseq: 0 }).finally(() => {
    pending = false;
  });
  let beats = 0;
  while (pending) await service.emit(Live, 'Beat', { n: beats++ });
  const ok = await joined;

  // The replay itself is whole and exact: every backlog message once, in stream order, no gap.
  expect(ok.message).toMatchObject({ t: 'ok' });
  expect((ok.message as { r?: Record<string, unknown> }).r?.['missedTo']).toBeUndefined();
  const replayed = await (async () => {
    for (;;) {
      const got = raw.received.filter((f) => f.message.t === 'sig' && f.message.g === Big.name);
      if (got.length >= BACKLOG) return got;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const fseqs = replayed.map((f) => (f.message as { fseq: number }).fseq);
  expect(fseqs.length).toBe(BACKLOG);
  expect(fseqs.every((f, i) => i === 0 || f > (fseqs[i - 1] as number))).toBe(true);
  // Delivery went on during the read: emits completed and reached the subscriber before the
  // join's ok (without the fix none can: each waits for an applier held until that ok is queued).
  expect(beatsWhilePending).toBeGreaterThanOrEqual(1);
}, 180_000);
