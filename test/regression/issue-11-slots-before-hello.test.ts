import { connect as connectTcp, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from '../harness/daemon.js';
import { Observer } from '../harness/observer.js';
import { RawClient } from '../harness/raw-client.js';

// Issue 11, item 8: connection slots were held before hello. A token with no rights held every
// slot with WebSocket connections that never said hello, reopening them as the hello deadline
// cut them: the socket's owner was refused LIMIT_EXCEEDED 12 times out of 12. Connections waiting
// for hello counted toward maxConnections, while maxConnectionsPerIdentity was counted only at
// hello, although a WebSocket's identity is known at the upgrade. Now a WebSocket counts against
// its identity from the upgrade (refused with 429 past it), and connections waiting for hello
// have their own bound per identity (maxHelloPending), so the owner always gets in.

const limits = {
  maxConnections: 24,
  maxConnectionsPerIdentity: 8,
  maxHelloPending: 4,
  helloTimeoutMs: 300,
};
const TOKEN = 'no-rights-token-0123456789';

let daemon: RunningDaemon & { cleanup(): Promise<void> };
let observer: Observer;
beforeAll(async () => {
  // `nobody` is a named token that no policy rule grants anything.
  daemon = await withDaemon({ config: { limits, tokens: { nobody: { value: TOKEN } } } });
  observer = await Observer.open(daemon.socketPath);
});
afterAll(async () => {
  observer?.close();
  await daemon?.cleanup();
});

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

/** Opens a WebSocket that never says hello; resolves with the HTTP status line and the socket. */
function silentWebSocket(port: number): Promise<{ status: string; socket: Socket }> {
  const socket = connectTcp(port, '127.0.0.1');
  socket.on('error', () => {});
  return new Promise((resolve) => {
    socket.once('connect', () => socket.write(upgradeRequest(TOKEN)));
    socket.once('data', (data: Buffer) =>
      resolve({ status: data.toString('latin1').split('\r\n')[0] ?? '', socket }),
    );
    socket.once('close', () => resolve({ status: 'closed', socket }));
  });
}

it('a no-rights token that keeps reopening silent WebSockets never keeps the owner out', async () => {
  const port = Number(new URL(daemon.wsUrl as string).port);
  const statuses: string[] = [];
  let attacking = true;
  // The attacker keeps up to maxConnections silent WebSockets open, reopening each one the hello
  // deadline cuts (or the daemon refuses), as fast as it can.
  const attacker = async (): Promise<void> => {
    while (attacking) {
      const { status, socket } = await silentWebSocket(port);
      statuses.push(status);
      if (status.includes('101')) await new Promise((resolve) => socket.once('close', resolve));
      else {
        socket.destroy();
        await sleep(10);
      }
    }
  };
  const attackers = Array.from({ length: limits.maxConnections }, attacker);

  const owner: string[] = [];
  for (let i = 0; i < 12; i++) {
    await sleep(100);
    try {
      (await RawClient.open(daemon.socketPath, { client: 'owner' })).close();
      owner.push('welcome');
    } catch (error) {
      owner.push(String(error)); // 'hello refused: {… "code":"LIMIT_EXCEEDED" …}'
    }
  }
  attacking = false;
  await Promise.all(attackers);

  expect(owner).toEqual(owner.map(() => 'welcome'));
  // The attacker was held to maxHelloPending at once, and told so with a 429 at the upgrade.
  expect(statuses.some((s) => s.includes('101'))).toBe(true);
  expect(statuses.some((s) => s.includes('429'))).toBe(true);
  expect((await observer.stats()).wsRejections['limit']).toBeGreaterThan(0);
  expect(daemon.stderr()).toContain('websocket refused');
});
