import { connect } from '@chorus/client';
import { expect, it } from 'vitest';
import { withDaemon } from '../harness/daemon.js';

// Found by test/flow-control.test.ts (issue 3, §4): with `maxSocketBufferBytes` below the socket's
// own high-water mark (16 KiB), the daemon stopped writing to a connection for good. It stops
// taking from a connection's queue once the socket holds `maxSocketBufferBytes`, and waits for
// 'drain'; but a socket only emits 'drain' after a write that reached its high-water mark, which
// never happened. Every connection that once had more than that in flight then hung: replies and
// signals stayed queued, and a block group would stall and evict healthy consumers.

it('streams to a connection when maxSocketBufferBytes is small', { timeout: 20_000 }, async () => {
  const daemon = await withDaemon({ config: { limits: { maxSocketBufferBytes: 1024 } } });
  try {
    const service = await connect({ address: daemon.address });
    const app = await connect({ address: daemon.address });
    const group = await service.createGroup('test.regression.SmallSocketBuffer');
    const received: number[] = [];
    (await app.join('test.regression.SmallSocketBuffer')).on('Tick', (payload) =>
      received.push((payload as { i: number }).i),
    );
    const pad = 'x'.repeat(2000);
    const count = 500;
    const acks = await Promise.all(Array.from({ length: count }, (_, i) => group.emit('Tick', { i, pad })));
    expect(acks.map((ack) => ack.groupSeq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    await app.ping();
    expect(received).toEqual(Array.from({ length: count }, (_, i) => i));
    await Promise.all([service.close(), app.close()]);
  } finally {
    await daemon.cleanup();
  }
});
