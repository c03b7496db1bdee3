import { join } from 'node:path';
import { type Bus, connect } from '@chorus/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Fixtures } from './harness/child.js';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import {
  type Ack,
  expectConsecutive,
  expectIncreasing,
  expectSameSequence,
  readJson,
  type Tick,
} from './harness/records.js';

// The seed's ordering scenario (the multicast Unix sockets proposal), over real sockets and
// processes: two emitters and two recipients in overlapping groups. Every recipient must see the
// messages it shares with the other in the same interleaving, and that order must be the bus
// order the daemon acknowledged to the emitters. [GUARANTEE: order]

const children = new Fixtures();
let daemon: RunningDaemon & { cleanup(): Promise<void> };
let owner: Bus;
beforeAll(async () => {
  daemon = await withDaemon();
  owner = await connect({ address: daemon.address });
});
afterAll(async () => {
  await children.killAll();
  await owner?.close();
  await daemon?.cleanup();
});

const COUNT = 10_000;
const LEFT = 'test.order.Left';
const SHARED = 'test.order.Shared';
const RIGHT = 'test.order.Right';

it('two emitter processes, two recipient processes in overlapping groups: identical interleavings', async () => {
  // The groups are the test's; anyone may emit. Each emitter cycles through all three, in its
  // own order, so both interleave with each other in every group.
  for (const name of [LEFT, SHARED, RIGHT]) await owner.createGroup(name, { emitters: 'anyone' });
  const emitterGroups = { a: [LEFT, SHARED, RIGHT], b: [SHARED, RIGHT, LEFT] };
  const recipientGroups = { r1: [LEFT, SHARED], r2: [SHARED, RIGHT] };
  const groupOf = (e: 'a' | 'b', i: number): string => emitterGroups[e][i % 3] as string;
  const expectedCount = (groups: string[]): number =>
    (['a', 'b'] as const).reduce(
      (sum, e) =>
        sum + Array.from({ length: COUNT }, (_, i) => groupOf(e, i)).filter((g) => groups.includes(g)).length,
      0,
    );

  const recipients = Object.entries(recipientGroups).map(([id, groups]) => ({
    id,
    groups,
    file: join(daemon.dir, `${id}.json`),
    process: children.spawn('recipient.mjs', {
      address: daemon.address,
      groups,
      expect: expectedCount(groups),
      recordFile: join(daemon.dir, `${id}.json`),
    }),
  }));
  const emitters = (['a', 'b'] as const).map((id) => ({
    id,
    file: join(daemon.dir, `acks-${id}.json`),
    process: children.spawn('emitter.mjs', { address: daemon.address, id, groups: emitterGroups[id] }),
  }));
  const ready = await Promise.all(
    [...recipients, ...emitters].map((c) => c.process.waitFor((e) => e.event === 'ready')),
  );
  const senderOf = new Map(emitters.map((e, k) => [e.id, ready[recipients.length + k]?.['name'] as string]));

  for (const emitter of emitters) emitter.process.send({ cmd: 'emit', count: COUNT, acksFile: emitter.file });
  await Promise.all(emitters.map((e) => e.process.waitFor((ev) => ev.event === 'emitted', 40_000)));
  await Promise.all(recipients.map((r) => r.process.waitFor((ev) => ev.event === 'done', 40_000)));

  // What the daemon acknowledged: each emitter's messages in its own order, gap-free per group.
  const accepted: Tick[] = [];
  for (const emitter of emitters) {
    const acks = await readJson<Ack[]>(emitter.file);
    expect(acks).toHaveLength(COUNT);
    expectIncreasing(
      acks.map((ack) => ack[2]),
      `${emitter.id}: bus seq of its emits`,
    );
    for (const [i, group, seq, groupSeq, n] of acks) {
      expect(group).toBe(groupOf(emitter.id, i));
      // Recipients: the members of the group (the owner is not one).
      expect(n, `${emitter.id} #${i} to ${group}`).toBe(group === SHARED ? 2 : 1);
      accepted.push([seq, group, groupSeq, senderOf.get(emitter.id) as string, emitter.id, i]);
    }
  }
  accepted.sort((x, y) => x[0] - y[0]);
  expectConsecutive(
    accepted.map((t) => t[0]),
    accepted[0]?.[0] ?? 0,
    'bus seq over all emits',
  );
  for (const group of [LEFT, SHARED, RIGHT]) {
    expectConsecutive(
      accepted.filter((t) => t[1] === group).map((t) => t[2]),
      1,
      `${group} groupSeq`,
    );
  }

  // Each recipient got exactly its groups' messages, in bus order, once each.
  const records = new Map<string, Tick[]>();
  for (const recipient of recipients) {
    const record = await readJson<Tick[]>(recipient.file);
    records.set(recipient.id, record);
    expectSameSequence(
      record,
      accepted.filter((t) => recipient.groups.includes(t[1])),
      `${recipient.id}'s record`,
    );
  }
  // The messages both received, in the same interleaving (of both emitters) at both.
  const shared = (id: string) => (records.get(id) ?? []).filter((t) => t[1] === SHARED);
  expect(shared('r1')).toHaveLength(expectedCount([SHARED]));
  expectSameSequence(shared('r1'), shared('r2'), 'interleaving of the shared group');

  for (const recipient of recipients) expect(await recipient.process.exited).toMatchObject({ code: 0 });
  for (const emitter of emitters) emitter.process.send({ cmd: 'exit' });
  for (const emitter of emitters) expect(await emitter.process.exited).toMatchObject({ code: 0 });
});
