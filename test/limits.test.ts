import { encodePayload } from '@chorus/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { RawClient } from './harness/raw-client.js';

// Every limit answers with its typed error when exceeded, and the connection (or, for
// connection limits, the bus) goes on serving everyone else.

const limits = {
  maxConnections: 12,
  maxConnectionsPerIdentity: 10,
  maxGroupsPerConnection: 2,
  maxMembershipsPerConnection: 2,
  maxFiltersPerMembership: 2,
  maxNamesPerConnection: 1,
  maxPendingCalls: 2,
  maxFrameBytes: 4096,
  wsPingIntervalMs: 200,
};

let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon({ config: { limits, tokens: { other: { value: 'other-token-0123456789' } } } });
});
afterAll(async () => {
  await daemon.cleanup();
});

let serial = 1;
const next = () => serial++;

describe('per-connection limits', () => {
  it('groups, memberships, filters, names, pending calls and message size each answer LIMIT_EXCEEDED', async () => {
    const a = await RawClient.open(daemon.socketPath);
    const b = await RawClient.open(daemon.socketPath);
    for (const g of ['org.lim.One', 'org.lim.Two']) {
      expect((await a.request({ t: 'create', s: next(), g })).message).toMatchObject({ t: 'ok' });
    }
    expect((await a.request({ t: 'create', s: next(), g: 'org.lim.Three' })).message).toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    expect((await b.request({ t: 'join', s: next(), g: 'org.lim.One' })).message).toMatchObject({ t: 'ok' });
    const tooManyFilters = [{ sig: 'A' }, { sig: 'B' }, { sig: 'C' }];
    expect(
      (await b.request({ t: 'join', s: next(), g: 'org.lim.Two', f: tooManyFilters })).message,
    ).toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    expect((await b.request({ t: 'join', s: next(), g: 'org.lim.Two' })).message).toMatchObject({ t: 'ok' });
    const c = await RawClient.open(daemon.socketPath);
    expect((await c.request({ t: 'create', s: next(), g: 'org.lim.Four' })).message).toMatchObject({
      t: 'ok',
    });
    expect((await b.request({ t: 'join', s: next(), g: 'org.lim.Four' })).message).toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    const name = () => ({ t: 'call' as const, s: next(), dest: 'org.chorus.Bus', m: 'RequestName' });
    expect((await b.request(name(), encodePayload({ name: 'org.lim.Name1' }))).message.t).toBe('ok');
    expect((await b.request(name(), encodePayload({ name: 'org.lim.Name2' }))).message).toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    // Pending calls: b owns org.lim.Name1 and never answers; the third call from `a` is refused.
    a.send({ t: 'call', s: next(), dest: 'org.lim.Name1', m: 'Wait' });
    a.send({ t: 'call', s: next(), dest: 'org.lim.Name1', m: 'Wait' });
    expect(
      (await a.request({ t: 'call', s: next(), dest: 'org.lim.Name1', m: 'Wait' })).message,
    ).toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    // A message that would not fit in a frame once delivered is refused, and the connection goes on.
    const big = encodePayload({ blob: 'x'.repeat(4000) });
    expect(
      (await a.request({ t: 'emit', s: next(), g: 'org.lim.One', sig: 'Big' }, big)).message,
    ).toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    expect(
      (await a.request({ t: 'emit', s: next(), g: 'org.lim.One', sig: 'Small' }, encodePayload(1))).message,
    ).toMatchObject({
      t: 'ok',
    });
    await b.waitFor((r) => r.message.t === 'sig' && r.message.sig === 'Small');
    for (const x of [a, b, c]) x.close();
  });
});

describe('connection limits', () => {
  it('refuses connections past maxConnectionsPerIdentity and maxConnections with their error', async () => {
    const clients: RawClient[] = [];
    for (let i = 0; i < limits.maxConnectionsPerIdentity; i++)
      clients.push(await RawClient.open(daemon.socketPath));
    const over = await RawClient.connect(daemon.socketPath);
    over.send({ t: 'hello', v: 1 });
    expect((await over.waitFor((r) => r.message.t === 'err')).message).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      fatal: true,
    });
    await over.whenClosed;
    // Another identity still gets in, up to the total.
    clients.push(await RawClient.open(daemon.socketPath, { token: 'other-token-0123456789' }));
    clients.push(await RawClient.connect(daemon.socketPath)); // 12th socket, still waiting for hello
    const refused = await RawClient.connect(daemon.socketPath);
    expect((await refused.waitFor((r) => r.message.t === 'err')).message).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      fatal: true,
    });
    await refused.whenClosed;
    for (const c of clients) c.close();
    // Capacity comes back once they are gone.
    await expect
      .poll(async () => {
        const c = await RawClient.connect(daemon.socketPath);
        c.send({ t: 'hello', v: 1 });
        const first = await c.waitFor((r) => r.message.t === 'welcome' || r.message.t === 'err');
        c.close();
        return first.message.t;
      })
      .toBe('welcome');
  });

  it('cuts a WebSocket connection that stops answering pings', async () => {
    const token = await daemon.wsToken();
    const ws = new WebSocket(`${daemon.wsUrl}/?token=${token}`, { autoPong: false });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    expect(await closed).toBe(1006); // terminated, no close handshake
  });
});
