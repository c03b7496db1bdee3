import { setTimeout as sleep } from 'node:timers/promises';
import { encodeFrame, encodePayload } from '@chorus/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Bystander } from '../harness/bystander.js';
import { type RunningDaemon, withDaemon } from '../harness/daemon.js';
import { type ListedConnection, Observer } from '../harness/observer.js';
import { RawClient } from '../harness/raw-client.js';

// Issue 11, item 6: replies to a client that never reads were unbounded. A client that said
// hello, stopped reading and kept sending requests grew its queue far past maxQueueBytes
// (672-971 MiB after 1,200 ListGroups), since replies were queued without a bound and the socket
// was read whatever the client's queue held. Now a connection over maxQueueBytes is not read
// (its requests wait), replies never take a queue past 2 × maxQueueBytes, and a connection that
// stays over maxQueueBytes for stallTimeoutMs is evicted as a slow consumer; everyone else goes on.

const maxQueueBytes = 64 * 1024;
const ceiling = 2 * maxQueueBytes;
const limits = { maxQueueBytes, stallTimeoutMs: 1000, maxSocketBufferBytes: 16 * 1024 };

let daemon: RunningDaemon & { cleanup(): Promise<void> };
let observer: Observer;
let service: RawClient;
let bystander: Bystander;
beforeAll(async () => {
  daemon = await withDaemon({ config: { limits } });
  observer = await Observer.open(daemon.socketPath);
  // Groups with a schema each, so that every ListGroups reply is large (about 20 KiB).
  service = await RawClient.open(daemon.socketPath);
  for (let i = 0; i < 16; i++) {
    await service.ok({ t: 'create', g: `test.unread.G${i}`, schema: { doc: 'x'.repeat(1024) } });
  }
  bystander = await Bystander.start(daemon.socketPath, 'test.unread.Bystander');
});
afterAll(async () => {
  await bystander?.stop();
  observer?.close();
  service?.close();
  await daemon?.cleanup();
});

const listGroups = (s: number) =>
  encodeFrame({ t: 'call', s, dest: 'org.chorus.Bus', m: 'ListGroups' }, encodePayload({}));

/**
 * Polls ListConnections until no connection matches `which` (it was cut) or 20 s passed; returns
 * whether it went and the most it was ever seen to have queued.
 */
async function watch(which: (c: ListedConnection) => boolean): Promise<{ gone: boolean; maxQueued: number }> {
  let maxQueued = 0;
  for (const started = Date.now(); Date.now() - started < 20_000; await sleep(25)) {
    const flooder = (await observer.connections()).find(which);
    if (flooder === undefined) return { gone: true, maxQueued };
    maxQueued = Math.max(maxQueued, flooder.queuedBytes);
  }
  return { gone: false, maxQueued };
}

it('on the Unix socket: a client that floods ListGroups without reading stays bounded and is evicted', async () => {
  const { evictions } = (await observer.stats()).total;
  const flooder = await RawClient.open(daemon.socketPath, { client: 'flooder' });
  flooder.socket.pause(); // never reads again
  for (let s = 1; s <= 1000; s++) flooder.socket.write(listGroups(s));
  const { gone, maxQueued } = await watch((c) => c.name === flooder.name);
  flooder.close();
  expect(maxQueued, 'queued bytes seen').toBeLessThanOrEqual(ceiling);
  expect(gone, 'evicted').toBe(true);
  expect((await observer.stats()).total.evictions).toBeGreaterThan(evictions);
  expect(daemon.stderr()).toContain('evicted slow consumer');
  await bystander.sync('after the Unix-socket flooder');
});

it('over a WebSocket: the same', async () => {
  const { evictions } = (await observer.stats()).total;
  const ws = new WebSocket(`${daemon.wsUrl}/?token=${await daemon.wsToken()}`);
  ws.on('error', () => {});
  await new Promise((resolve) => ws.once('open', resolve));
  const welcome = new Promise((resolve) => ws.once('message', resolve));
  ws.send(encodeFrame({ t: 'hello', v: 1, client: 'ws-flooder' }));
  await welcome;
  ws.pause(); // never reads again
  for (let s = 1; s <= 1000; s++) ws.send(listGroups(s));
  const { gone, maxQueued } = await watch((c) => c.transport === 'ws');
  ws.terminate();
  expect(maxQueued, 'queued bytes seen').toBeLessThanOrEqual(ceiling);
  expect(gone, 'evicted').toBe(true);
  expect((await observer.stats()).total.evictions).toBeGreaterThan(evictions);
  await bystander.sync('after the WebSocket flooder');
});

it('a client that reads gets every reply of a burst larger than maxQueueBytes', async () => {
  const reader = await RawClient.open(daemon.socketPath, { client: 'slow-reader' });
  const replies = await Promise.all(
    Array.from({ length: 40 }, () => reader.request({ t: 'call', dest: 'org.chorus.Bus', m: 'ListGroups' })),
  );
  expect(replies.map((r) => r.message.t)).toEqual(replies.map(() => 'ok'));
  reader.close();
});
