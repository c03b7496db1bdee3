import { connect, type SignalMeta } from '@chorus/client';
import { expect, it } from 'vitest';
import { withDaemon } from '../harness/daemon.js';

// Found while writing test/ordering.test.ts (issue 3, §3 and §4): messages held for autojoined
// groups reached the app one group's backlog after the other's. Claimed and given handlers in the
// same tick, two groups whose messages had arrived interleaved (seq 1..6) were delivered as
// 2, 4, 6, 1, 3, 5: out of the bus order the connection received them in. Held messages are now
// flushed together, merged by arrival.

it('held messages of several subscriptions reach their handlers in wire order', async () => {
  const daemon = await withDaemon();
  try {
    const service = await connect({ address: daemon.address });
    const a = await service.createGroup('test.regression.HeldA');
    const b = await service.createGroup('test.regression.HeldB');
    const app = await connect({
      address: daemon.address,
      join: ['test.regression.HeldA', 'test.regression.HeldB'],
    });
    const acks = [];
    for (let i = 0; i < 6; i++) acks.push(await (i % 2 === 0 ? a : b).emit('Tick', { i }));
    // Replies come after what was queued before them: everything is held by now.
    await app.ping();

    const seen: SignalMeta[] = [];
    const subA = await app.join('test.regression.HeldA');
    const subB = await app.join('test.regression.HeldB');
    subB.on('Tick', (_payload, meta) => seen.push(meta));
    subA.on('Tick', (_payload, meta) => seen.push(meta));
    // And later ones, live, keep the order too.
    for (let i = 6; i < 8; i++) acks.push(await (i % 2 === 0 ? a : b).emit('Tick', { i }));
    await app.ping();

    expect(seen.map((meta) => meta.seq)).toEqual(acks.map((ack) => ack.seq));
    await Promise.all([service.close(), app.close()]);
  } finally {
    await daemon.cleanup();
  }
});
