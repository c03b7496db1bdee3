/*
 * [GUARANTEE: federation] a join.fseq the stream never reached (issue 16): the stream was created
 * again (its sequence restarted below the client's), or a client sends a made-up position. The
 * daemon does not wait for its applier to get there (it never will): it answers at once, the
 * membership live from its point, with a gap for everything before it (`missedTo` = `fseq`), and
 * its applier goes on. Without the fix the join waited publishTimeoutMs (here a minute) and then
 * answered with no gap, and the SDK kept the unreachable position, so its next rejoin skipped
 * everything silently (the SDK's side: packages/client/src/reconnect.test.ts). A count that is not
 * one (negative, fractional) is a typed BAD_FIELD error. A member repeating its join with a
 * join.fseq is refused (ALREADY_MEMBER) before anything is read: it used to read the whole range,
 * holding the daemon's applier, and only then be refused, as often as it liked.
 */
import { defineGroup, z } from '@chorus/client';
import { ErrorCode } from '@chorus/protocol';
import { expect, test } from 'vitest';
import { startNatsCluster, waitUntil } from '../harness/nats.js';
import { RawClient } from '../harness/raw-client.js';
import { client, federationScene, startFederated } from './harness.js';

const Note = defineGroup('org.example.fed.Note', { signals: { Noted: z.object({ n: z.number() }) } });

const scene = federationScene();

test('a join.fseq beyond the stream: answered at once with a gap up to the point, then live; a bad count is BAD_FIELD', async () => {
  scene.nats = await startNatsCluster(3);
  const fed = await startFederated(scene.nats, 0, 'hostA', undefined, { publishTimeoutMs: 60_000 });
  scene.daemons = [fed];
  const service = await client(fed.daemon);
  scene.closers.push(() => service.close());
  await service.createGroup(Note, { federated: true, emitters: 'anyone' });
  for (let n = 0; n < 3; n++) await service.emit(Note, 'Noted', { n });

  const raw = await RawClient.open(fed.daemon.socketPath);
  scene.closers.push(() => raw.close());
  expect(raw.welcome?.origin).toMatch(/^hostA\//);
  let timer: NodeJS.Timeout | undefined;
  const reply = await Promise.race([
    raw.request({ t: 'join', g: Note.name, fseq: 1_000_000_000_000 }),
    new Promise<'no answer'>((resolve) => {
      timer = setTimeout(() => resolve('no answer'), 20_000);
    }),
  ]);
  clearTimeout(timer);
  expect(reply).not.toBe('no answer');
  const r = (reply as { message: { t: string; r?: Record<string, number> } }).message;
  expect(r.t).toBe('ok');
  const point = r.r?.['fseq'] as number;
  expect(point).toBeGreaterThanOrEqual(4); // the create and three signals
  expect(r.r?.['missedTo']).toBe(point);
  // Live from the point on: the applier was not held.
  await service.emit(Note, 'Noted', { n: 3 });
  const live = await raw.waitFor((f) => f.message.t === 'sig' && f.message.g === Note.name, 15_000);
  expect(live.message).toMatchObject({ fseq: point + 1 });

  for (const fseq of [-1, 1.5]) {
    const bad = await raw.request({ t: 'join', g: Note.name, fseq });
    expect(bad.message).toMatchObject({ t: 'err', code: ErrorCode.BAD_FIELD });
  }
  await waitUntil(
    () => !raw.closed,
    1000,
    () => 'the connection closed',
  );
}, 120_000);

test('a member joining again with join.fseq 0 is refused before any replay is read (the applier is not held)', async () => {
  scene.nats = await startNatsCluster(3);
  const fed = await startFederated(scene.nats, 0, 'hostA', undefined, { publishTimeoutMs: 3000 });
  scene.daemons = [fed];
  const service = await client(fed.daemon);
  scene.closers.push(() => service.close());
  await service.createGroup(Note, { federated: true, emitters: 'anyone' });
  const raw = await RawClient.open(fed.daemon.socketPath);
  scene.closers.push(() => raw.close());
  await raw.ok({ t: 'join', g: Note.name });
  // NATS gone: a replay read could only fail, and would say so in the daemon's log.
  await scene.nats.stop();
  scene.nats = undefined;
  for (let i = 0; i < 3; i++) {
    const again = await raw.request({ t: 'join', g: Note.name, fseq: 0 });
    expect(again.message).toMatchObject({ t: 'err', code: ErrorCode.ALREADY_MEMBER });
  }
  expect(fed.daemon.stderr()).not.toMatch(/federated replay/);
}, 120_000);
