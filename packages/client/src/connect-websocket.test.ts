/*
 * connect() over ws:// in Node: the `ws` package's WebSocket against a real `ws` server on port 0
 * that checks the token at the upgrade as chorusd does, with a fake daemon behind it.
 */

import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { connect } from './connect-node.js';
import { isChorusError } from './errors.js';
import { FakeDaemon } from './testing/fake-daemon.js';
import { ChunkQueue } from './transports/chunk-queue.js';
import type { Transport } from './transports/transport.js';

const TOKEN = 'the-token-of-this-test';

/** The server's end of a `ws` connection as a Transport: one frame per binary message. */
function serverTransport(ws: WebSocket): Transport {
  const incoming = new ChunkQueue();
  ws.on('message', (data: Buffer) => incoming.push(data));
  ws.on('close', () => incoming.end());
  return {
    write: (bytes) => ws.send(bytes),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    close: async () => ws.close(1000),
    [Symbol.asyncIterator]: () => incoming[Symbol.asyncIterator](),
  };
}

let server: WebSocketServer;
let url: string;
let daemons: FakeDaemon<Transport>[];
let upgrades: { url: string | undefined; authorization: string | undefined }[];

beforeEach(async () => {
  daemons = [];
  upgrades = [];
  server = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    verifyClient: ({ req }: { req: IncomingMessage }) => {
      upgrades.push({ url: req.url, authorization: req.headers.authorization });
      return new URL(req.url ?? '/', 'http://x').searchParams.get('token') === TOKEN;
    },
  });
  server.on('connection', (ws) => daemons.push(new FakeDaemon(serverTransport(ws))));
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  vi.unstubAllEnvs();
  for (const client of server.clients) client.terminate();
  await new Promise((resolve) => server.close(resolve));
});

describe('connect over ws:// in Node', () => {
  it('sends the token in the query and speaks the protocol', async () => {
    const bus = await connect({ address: url, token: TOKEN });
    expect(upgrades).toEqual([{ url: `/?token=${TOKEN}`, authorization: undefined }]);
    const sub = await bus.join('org.example.Battery');
    const next = sub[Symbol.asyncIterator]().next();
    daemons[0]?.signal('org.example.Battery', 'LevelChanged', { percent: 9 });
    expect((await next).value?.payload).toEqual({ percent: 9 });
    await bus.close();
    await daemons[0]?.ended;
  });

  it('takes the token from CHORUS_TOKEN, unless one is given', async () => {
    vi.stubEnv('CHORUS_TOKEN', TOKEN);
    const bus = await connect({ address: url });
    await bus.close();
    const refused = await connect({ address: url, token: 'another-token-entirely' }).catch((e: unknown) => e);
    expect(isChorusError(refused, 'CONNECT_FAILED')).toBe(true);
    expect(upgrades.map((u) => u.url)).toEqual([`/?token=${TOKEN}`, '/?token=another-token-entirely']);
  });

  it('is refused without a token: CONNECT_FAILED with the 401, and no token in the message', async () => {
    vi.stubEnv('CHORUS_TOKEN', '');
    const error = await connect({ address: url }).then(
      () => new Error('expected a rejection'),
      (e: unknown) => e as Error,
    );
    expect(isChorusError(error, 'CONNECT_FAILED')).toBe(true);
    expect(String(error.cause)).toMatch(/401/);
    expect(upgrades.map((u) => u.url)).toEqual(['/']);
  });

  it('pauses the socket under backpressure and loses nothing', async () => {
    const bus = await connect({ address: url, token: TOKEN, maxBufferedMessages: 1 });
    const sub = await bus.join('g');
    const iterator = sub[Symbol.asyncIterator]();
    for (let i = 0; i < 200; i++) daemons[0]?.signal('g', 's', i);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const seen: unknown[] = [];
    for (let i = 0; i < 200; i++) seen.push((await iterator.next()).value?.payload);
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await bus.close();
  });
});
