import { type Bus, connect, type UnclaimedJoinError } from '@chorus/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from '../harness/daemon.js';

// Issue 13: `connect({ join: [G] })` without a later `join(G)` held the group's messages until
// the owner's emits stalled for stallTimeoutMs (onFull 'block') and the app was evicted as a slow
// consumer; it heard of it only when it next sent something. Now the SDK bounds what it holds for
// an unclaimed autojoin: at maxHeldMessages it leaves the group, tells the app at once which group
// it forgot to join, and the bus goes on.

let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon({ config: { limits: { stallTimeoutMs: 2000, maxQueueBytes: 64 * 1024 } } });
});
afterAll(async () => {
  await daemon?.cleanup();
});

it('an autojoined group never claimed is left at the bound, with an error naming it; emits go on', async () => {
  const service = await connect({ address: daemon.address, reconnect: false });
  const group = await service.createGroup('test.forgotten.G', { onFull: 'block' });
  const other = await service.createGroup('test.forgotten.Other');
  const app: Bus = await connect({
    address: daemon.address,
    reconnect: false,
    join: ['test.forgotten.G', 'test.forgotten.Other'],
    maxHeldMessages: 50,
  });
  const errors: UnclaimedJoinError[] = [];
  app.on('error', (error) => errors.push(error as UnclaimedJoinError));
  // The app does claim the other group, and must keep receiving it.
  const claimed = await app.join('test.forgotten.Other');
  const got: number[] = [];
  claimed.on('S', (payload) => got.push((payload as { i: number }).i));

  // Far more than the app holds, the daemon queues and the socket buffers together: before the
  // fix the emitter stalled here and the app was evicted after stallTimeoutMs.
  const payload = { text: 'x'.repeat(200) };
  for (let i = 0; i < 3000; i++) await group.emit('S', payload);
  expect(errors.map((e) => [e.code, e.group])).toEqual([['UNCLAIMED_JOIN', 'test.forgotten.G']]);
  expect(errors[0]?.message).toContain('bus.join(test.forgotten.G) never claimed it');

  // The app was not evicted: it still has its connection and its other membership.
  await other.emit('S', { i: 1 });
  await expect.poll(() => got).toEqual([1]);
  const me = (await service.listConnections()).find((c) => c.name === app.name);
  expect(me?.groups).toEqual(['test.forgotten.Other']);
  // Joining the group later is an ordinary join.
  const late = await app.join('test.forgotten.G');
  const seen: unknown[] = [];
  late.on('S', (p) => seen.push(p));
  await group.emit('S', { late: true });
  await expect.poll(() => seen).toEqual([{ late: true }]);
  await Promise.all([app.close(), service.close()]);
}, 60_000);
