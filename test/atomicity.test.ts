import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Fixtures } from './harness/child.js';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { type Ack, expectConsecutive, expectSameSequence, readJson, type Tick } from './harness/records.js';

// Atomicity under failure: a recipient process is SIGKILLed while a stream is flowing to it. The
// daemon must neither lose nor reorder anything for the other recipients (each message goes to
// all of its remaining recipients or to none), and the emitter must not notice beyond the
// recipient count of its acks. [GUARANTEE: atomic]

const children = new Fixtures();
let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon();
});
afterAll(async () => {
  await children.killAll();
  await daemon?.cleanup();
});

const GROUP = 'test.atomic.Stream';

it('a recipient killed with SIGKILL mid-stream: the others get every message, in order, without a gap', async () => {
  const emitter = children.spawn('emitter.mjs', {
    address: daemon.address,
    id: 'a',
    groups: [GROUP],
    create: { [GROUP]: {} },
    // Some bulk, so that the victim has frames queued and half-written when it dies.
    padBytes: 200,
  });
  const { name: emitterName } = await emitter.waitFor((e) => e.event === 'ready');
  const recipient = (id: string) =>
    children.spawn('recipient.mjs', {
      address: daemon.address,
      groups: [GROUP],
      recordFile: join(daemon.dir, `${id}.json`),
      progressEvery: 500,
    });
  const survivors = [recipient('r1'), recipient('r2')];
  const victim = recipient('victim');
  await Promise.all([...survivors, victim].map((r) => r.waitFor((e) => e.event === 'ready')));

  emitter.send({ cmd: 'run', batch: 64 });
  await victim.waitFor((e) => e.event === 'progress' && (e['received'] as number) >= 2000);
  expect(await victim.kill('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
  // The stream goes on well past the kill before it stops.
  const atKill = Math.max(
    ...survivors.map((s) =>
      Math.max(0, ...s.events.filter((e) => e.event === 'progress').map((e) => e['received'] as number)),
    ),
  );
  await Promise.all(
    survivors.map((s) =>
      s.waitFor((e) => e.event === 'progress' && (e['received'] as number) >= atKill + 5000, 30_000),
    ),
  );
  const acksFile = join(daemon.dir, 'acks.json');
  emitter.send({ cmd: 'stop', acksFile });
  const { next: total } = await emitter.waitFor((e) => e.event === 'stopped', 30_000);
  for (const survivor of survivors) survivor.send({ cmd: 'expect', count: total });
  await Promise.all(survivors.map((s) => s.waitFor((e) => e.event === 'done', 30_000)));

  const acks = await readJson<Ack[]>(acksFile);
  expect(acks).toHaveLength(total as number);
  expectConsecutive(
    acks.map((ack) => ack[3]),
    1,
    'groupSeq of the acks',
  );
  // Three recipients, then two once the daemon noticed the death; never anything else.
  const counts = acks.map((ack) => ack[4]);
  const drop = counts.indexOf(2);
  expect(drop).toBeGreaterThan(0);
  expect(new Set(counts.slice(0, drop))).toEqual(new Set([3]));
  expect(new Set(counts.slice(drop))).toEqual(new Set([2]));

  const expected: Tick[] = acks.map(([i, group, seq, groupSeq]) => [
    seq,
    group,
    groupSeq,
    emitterName as string,
    'a',
    i,
  ]);
  for (const [k, survivor] of survivors.entries()) {
    expect(await survivor.exited).toMatchObject({ code: 0 });
    expectSameSequence(await readJson<Tick[]>(join(daemon.dir, `r${k + 1}.json`)), expected, `r${k + 1}`);
  }
  emitter.send({ cmd: 'exit' });
  expect(await emitter.exited).toMatchObject({ code: 0 });
});
