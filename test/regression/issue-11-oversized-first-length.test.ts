import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningDaemon, withDaemon } from '../harness/daemon.js';
import { RawClient } from '../harness/raw-client.js';

// Issue 11, item 9: a frame prefix announcing more than maxFrameBytes was acted on only once all
// 8 prefix bytes had arrived. A client that sent just the first length (0xFFFFFFFF) held its
// connection, and a connection slot, until the hello deadline. The header length alone is enough
// to refuse the frame: the fatal FRAME_TOO_LARGE comes at once.

const helloTimeoutMs = 60_000; // far beyond the test's own wait: only an immediate refusal passes
let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon({ config: { limits: { helloTimeoutMs } } });
});
afterAll(async () => {
  await daemon?.cleanup();
});

/** Resolves with what happened first: the promise, or 'waited' after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'waited'> {
  return Promise.race([promise, sleep(ms, 'waited' as const)]);
}

it('on the Unix socket: 4 bytes 0xFFFFFFFF get the fatal FRAME_TOO_LARGE at once, then the close', async () => {
  const peer = await RawClient.connect(daemon.socketPath);
  peer.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  expect(await within(peer.whenClosed, 10_000)).not.toBe('waited');
  expect(peer.fatal).toMatchObject({ code: 'FRAME_TOO_LARGE', fatal: true });
});

it('the same after hello, one byte at a time', async () => {
  const peer = await RawClient.open(daemon.socketPath);
  for (let i = 0; i < 4; i++) {
    peer.socket.write(Buffer.from([0xff]));
    await sleep(20);
  }
  expect(await within(peer.whenClosed, 10_000)).not.toBe('waited');
  expect(peer.fatal).toMatchObject({ code: 'FRAME_TOO_LARGE', fatal: true });
});

it('over a WebSocket: a 4-byte message 0xFFFFFFFF gets the fatal FRAME_TOO_LARGE at once', async () => {
  const ws = new WebSocket(`${daemon.wsUrl}/?token=${await daemon.wsToken()}`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const messages: Buffer[] = [];
  ws.on('message', (data: Buffer) => messages.push(data));
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  expect(await within(closed, 10_000)).not.toBe('waited');
  expect(messages.map((m) => m.toString('latin1')).join('')).toContain('FRAME_TOO_LARGE');
});
