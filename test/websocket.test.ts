import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, defineGroup, isChorusError, z } from '@chorus/client';
import {
  encodeFrame,
  encodePayload,
  FrameDecoder,
  parseServerHeader,
  type ServerMessage,
} from '@chorus/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { RawClient } from './harness/raw-client.js';

// The WebSocket bridge: same protocol and order as the Unix socket, behind a token and an
// Origin allow-list.

let daemon: RunningDaemon & { cleanup(): Promise<void> };
let token: string;
beforeAll(async () => {
  daemon = await withDaemon();
  token = await daemon.wsToken();
});
afterAll(async () => {
  await daemon.cleanup();
});

/** Resolves with the HTTP status of a refused upgrade, or 101 when it is accepted. */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => {});
  });
}

class WsClient {
  readonly received: ServerMessage[] = [];
  constructor(readonly ws: WebSocket) {
    const decoder = new FrameDecoder({
      frame: (header) => this.received.push(parseServerHeader(header)),
      error: () => {},
    });
    ws.on('message', (data: Buffer) => decoder.push(data));
  }
  static async open(url: string): Promise<WsClient> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new WsClient(ws);
  }
  send(message: Parameters<typeof encodeFrame>[0], payload?: Uint8Array): void {
    this.ws.send(encodeFrame(message, payload));
  }
  async waitFor(predicate: (m: ServerMessage) => boolean): Promise<ServerMessage> {
    for (let i = 0; i < 500; i++) {
      const found = this.received.find(predicate);
      if (found !== undefined) return found;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out; got ${JSON.stringify(this.received).slice(0, 500)}`);
  }
}

describe('the WebSocket listener', () => {
  it('prints its URL, binds to loopback and writes its token with mode 0600', async () => {
    expect(daemon.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(token.length).toBeGreaterThanOrEqual(16);
    expect((await stat(join(daemon.dir, 'ws-token'))).mode & 0o777).toBe(0o600);
  });

  it('refuses a connection without the token, with a wrong token, or from a foreign origin; counts each', async () => {
    const url = daemon.wsUrl as string;
    expect(await upgradeStatus(url)).toBe(401);
    expect(await upgradeStatus(`${url}/?token=wrong-token-wrong-token`)).toBe(401);
    expect(await upgradeStatus(`${url}/?token=${token}`, { Origin: 'http://evil.example' })).toBe(403);
    expect(await upgradeStatus(`${url}/?token=${token}`, { Origin: url.replace('ws:', 'http:') })).toBe(101);
    expect(await upgradeStatus(url, { Authorization: `Bearer ${token}` })).toBe(101);
    const client = await RawClient.open(daemon.socketPath);
    const s = 1;
    client.send({ t: 'call', s, dest: 'org.chorus.Bus', m: 'GetStats' }, encodePayload({}));
    const reply = await client.waitFor((r) => r.message.t === 'ok' && r.message.s === s);
    const { decodePayload } = await import('@chorus/protocol');
    expect((decodePayload(reply.payload) as { wsRejections: object }).wsRejections).toMatchObject({
      token: 2,
      origin: 1,
    });
    client.close();
  });

  it('speaks the same protocol: a WebSocket and a Unix-socket member see the same order', async () => {
    const url = `${daemon.wsUrl}/?token=${token}`;
    const a = await RawClient.open(daemon.socketPath);
    await a.request({ t: 'create', s: 1, g: 'org.test.WsA', o: { emitters: 'anyone' } });
    const b = await WsClient.open(url);
    b.send({ t: 'hello', v: 1 });
    await b.waitFor((m) => m.t === 'welcome');
    b.send({ t: 'create', s: 1, g: 'org.test.WsB', o: { emitters: 'anyone' } });
    await b.waitFor((m) => m.t === 'ok');
    const wsMember = await WsClient.open(url);
    wsMember.send({ t: 'hello', v: 1, join: [{ g: 'org.test.WsA' }, { g: 'org.test.WsB' }] });
    await wsMember.waitFor((m) => m.t === 'welcome');
    const unixMember = await RawClient.open(daemon.socketPath, {
      join: [{ g: 'org.test.WsA' }, { g: 'org.test.WsB' }],
    });
    for (let i = 0; i < 200; i++) {
      a.send({ t: 'emit', s: 10 + i, g: 'org.test.WsA', sig: 'A' }, encodePayload(i));
      b.send({ t: 'emit', s: 10 + i, g: 'org.test.WsB', sig: 'B' }, encodePayload(i));
    }
    const seqs = (messages: ServerMessage[]) => messages.flatMap((m) => (m.t === 'sig' ? [m.seq] : []));
    await wsMember.waitFor(() => seqs(wsMember.received).length === 400);
    await unixMember.waitFor(() => seqs(unixMember.received.map((r) => r.message)).length === 400);
    expect(seqs(wsMember.received)).toEqual(seqs(unixMember.received.map((r) => r.message)));
    a.close();
    unixMember.close();
    b.ws.close();
    wsMember.ws.close();
  });

  it('serves /metrics in Prometheus text format, only with the token', async () => {
    const base = (daemon.wsUrl as string).replace('ws:', 'http:');
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const res = await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^# TYPE chorus_connections gauge$/m);
    expect(text).toMatch(/^chorus_websocket_rejections_total\{reason="token"\} \d+$/m);
  });
});

describe('the SDK over WebSocket', () => {
  it('connects to a ws:// address with the token and shares the bus with unix clients', async () => {
    const Hello = defineGroup('org.test.WsSdk', { signals: { Hi: z.object({ n: z.number() }) } });
    const overWs = await connect({ address: daemon.wsUrl, token });
    const group = await overWs.createGroup(Hello);
    const overUnix = await connect({ address: daemon.address, join: [Hello] });
    try {
      const sub = await overUnix.join(Hello);
      const next = sub[Symbol.asyncIterator]().next();
      const { seq } = await group.emit('Hi', { n: 1 });
      expect((await next).value).toMatchObject({ payload: { n: 1 }, meta: { seq, sender: overWs.name } });
      const connections = await overUnix.listConnections();
      expect(connections.find((c) => c.name === overWs.name)?.transport).toBe('ws');
    } finally {
      await overWs.close();
      await overUnix.close();
    }
  });

  it('takes the token from CHORUS_TOKEN in Node', async () => {
    vi.stubEnv('CHORUS_TOKEN', token);
    try {
      const bus = await connect({ address: daemon.wsUrl });
      expect(bus.name).toMatch(/^:1\.\d+$/);
      await bus.close();
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('without the token: CONNECT_FAILED, with the 401 as its cause', async () => {
    vi.stubEnv('CHORUS_TOKEN', '');
    try {
      const error = await connect({ address: daemon.wsUrl }).then(
        () => new Error('expected a rejection'),
        (e: unknown) => e as Error,
      );
      expect(isChorusError(error, 'CONNECT_FAILED')).toBe(true);
      expect(String(error.cause)).toMatch(/401/);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
