import { connect as connectTcp, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from '../harness/daemon.js';
import { Observer } from '../harness/observer.js';
import { RawClient } from '../harness/raw-client.js';

// Issue 7: a connection the daemon refuses (past maxConnections, or a WebSocket upgrade without
// the right token) had no 'error' listener while the daemon wrote its refusal. A client that
// vanished at once (EPIPE / ECONNRESET on that write), or sent a malformed WebSocket frame,
// crashed the whole daemon with an unhandled 'error' event: any local process could take the
// bus down. Found by test/faults.test.ts while checking that refused clients leave nothing behind.

let daemon: RunningDaemon & { cleanup(): Promise<void> };
let observer: Observer;
let filler: RawClient;
beforeAll(async () => {
  daemon = await withDaemon({ config: { limits: { maxConnections: 2 } } });
  observer = await Observer.open(daemon.socketPath);
  filler = await RawClient.open(daemon.socketPath); // the bus is now full
});
afterAll(async () => {
  observer?.close();
  filler?.close();
  await daemon?.cleanup();
});

function tcp(port: number): Promise<Socket> {
  const socket = connectTcp(port, '127.0.0.1');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
  });
}

function upgradeRequest(token: string): string {
  return [
    `GET /?token=${token} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    '',
    '',
  ].join('\r\n');
}

async function expectAlive(): Promise<void> {
  await sleep(300); // an unhandled 'error' is emitted on a later tick
  expect(daemon.process.exitCode, daemon.stderr()).toBeNull();
  expect((await observer.stats()).connections).toBe(2);
}

it('a Unix-socket client refused at maxConnections that vanishes at once', async () => {
  for (let i = 0; i < 200; i++) {
    const peer = await RawClient.connect(daemon.socketPath);
    peer.close();
  }
  await expectAlive();
});

it('a WebSocket refused at maxConnections that then sends a malformed frame', async () => {
  const port = Number(new URL(daemon.wsUrl as string).port);
  const token = await daemon.wsToken();
  for (let i = 0; i < 20; i++) {
    const socket = await tcp(port);
    socket.write(upgradeRequest(token));
    await new Promise((resolve) => socket.once('data', resolve)); // 101 Switching Protocols
    socket.write(Buffer.from([0x82, 0x00])); // a client frame without a mask: a protocol error
    socket.destroy();
  }
  await expectAlive();
});

it('a WebSocket upgrade refused for its token whose client resets', async () => {
  const port = Number(new URL(daemon.wsUrl as string).port);
  for (let i = 0; i < 200; i++) {
    const socket = await tcp(port);
    socket.write(upgradeRequest('wrong-token'));
    if (i % 2 === 0) socket.resetAndDestroy();
    else socket.destroy();
  }
  await expectAlive();
  // A reset may discard the request before the daemon reads it (the kernel drops unread data on
  // RST), so only the 100 closed with a FIN are sure to arrive; they arrive in their own time.
  await expect
    .poll(async () => (await observer.stats()).wsRejections['token'], { timeout: 10_000 })
    .toBeGreaterThanOrEqual(100);
});
