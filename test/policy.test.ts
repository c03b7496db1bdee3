import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodePayload, encodeFrame, encodePayload, FrameDecoder, parseServerHeader } from '@chorus/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { RawClient } from './harness/raw-client.js';

// The access policy end to end: named tokens, denials for each action, a read-only token,
// groups under owned names, and SIGHUP reloads that are atomic.

const READER = 'reader-token-0123456789';
const APP = 'app-token-0123456789ab';
const config = {
  tokens: { reader: { value: READER }, app: { value: APP } },
  policy: {
    groupsRequireName: true,
    rules: [
      { effect: 'allow', actions: ['join', 'monitor'], identity: 'reader' },
      { effect: 'allow', actions: ['call'], identity: ['reader', 'app'], name: 'org.chorus.Bus' },
      {
        effect: 'allow',
        actions: ['own-name', 'create-group', 'emit', 'join'],
        identity: 'app',
        name: 'org.app.**',
      },
      { effect: 'allow', actions: ['call'], identity: 'app', name: 'org.app.**' },
    ],
  },
};

let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon({ config });
});
afterAll(async () => {
  await daemon.cleanup();
});

let serial = 1000;
async function bus(
  client: RawClient,
  m: string,
  input: object,
): Promise<{ code?: string; result?: unknown }> {
  const s = serial++;
  const reply = (await client.request({ t: 'call', s, dest: 'org.chorus.Bus', m }, encodePayload(input)))
    .message;
  if (reply.t === 'err') return { code: reply.code };
  const r = client.received.find((x) => x.message.t === 'ok' && x.message.s === s);
  return { result: decodePayload(r?.payload ?? new Uint8Array()) };
}

describe('policy', () => {
  it('refuses an unknown token at hello', async () => {
    const client = await RawClient.connect(daemon.socketPath);
    client.send({ t: 'hello', v: 1, token: 'not-a-known-token-at-all' });
    const err = await client.waitFor((r) => r.message.t === 'err');
    expect(err.message).toMatchObject({ code: 'NOT_PERMITTED', fatal: true });
    await client.whenClosed;
  });

  it('lets the socket owner do everything, but create groups only under a name it owns', async () => {
    const owner = await RawClient.open(daemon.socketPath);
    expect((await owner.request({ t: 'create', s: 1, g: 'org.owner.Thing' })).message).toMatchObject({
      code: 'NOT_PERMITTED',
    });
    expect(await bus(owner, 'RequestName', { name: 'org.owner' })).toEqual({
      result: { result: 'primary-owner' },
    });
    expect((await owner.request({ t: 'create', s: 2, g: 'org.owner.Thing' })).message).toMatchObject({
      t: 'ok',
    });
    expect((await owner.request({ t: 'create', s: 3, g: 'org.owner' })).message).toMatchObject({ t: 'ok' });
    owner.close();
  });

  it('denies each action the rules do not grant, with NOT_PERMITTED', async () => {
    const owner = await RawClient.open(daemon.socketPath);
    await bus(owner, 'RequestName', { name: 'org.other.Svc' });
    await owner.request({ t: 'create', s: 1, g: 'org.other.Svc', o: { emitters: 'anyone' } });
    const app = await RawClient.open(daemon.socketPath, { token: APP });
    expect(await bus(app, 'RequestName', { name: 'org.other.Mine' })).toEqual({ code: 'NOT_PERMITTED' });
    expect((await app.request({ t: 'create', s: 1, g: 'org.other.Mine' })).message).toMatchObject({
      code: 'NOT_PERMITTED',
    });
    expect((await app.request({ t: 'join', s: 2, g: 'org.other.Svc' })).message).toMatchObject({
      code: 'NOT_PERMITTED',
    });
    expect(
      (await app.request({ t: 'emit', s: 3, g: 'org.other.Svc', sig: 'X' }, encodePayload(1))).message,
    ).toMatchObject({ code: 'NOT_PERMITTED' });
    expect((await app.request({ t: 'call', s: 4, dest: 'org.other.Svc', m: 'X' })).message).toMatchObject({
      code: 'NOT_PERMITTED',
    });
    expect((await app.request({ t: 'monitor', s: 5 })).message).toMatchObject({ code: 'NOT_PERMITTED' });
    // What it is granted works.
    expect(await bus(app, 'RequestName', { name: 'org.app.Svc' })).toEqual({
      result: { result: 'primary-owner' },
    });
    expect((await app.request({ t: 'create', s: 6, g: 'org.app.Svc' })).message).toMatchObject({ t: 'ok' });
    expect(
      (await app.request({ t: 'emit', s: 7, g: 'org.app.Svc', sig: 'X' }, encodePayload(1))).message,
    ).toMatchObject({ t: 'ok' });
    const { result } = await bus(app, 'GetStats', {});
    expect((result as { daemon: { policyDenials: number } }).daemon.policyDenials).toBeGreaterThanOrEqual(6);
    app.close();
    owner.close();
  });

  it('a read-only token can watch and join but not emit, also over the WebSocket', async () => {
    const app = await RawClient.open(daemon.socketPath, { token: APP });
    await bus(app, 'RequestName', { name: 'org.app.Feed' });
    await app.request({ t: 'create', s: 1, g: 'org.app.Feed', o: { emitters: 'anyone' } });
    const ws = new WebSocket(`${daemon.wsUrl}/?token=${READER}`);
    const received: ReturnType<typeof parseServerHeader>[] = [];
    const decoder = new FrameDecoder({ frame: (h) => received.push(parseServerHeader(h)), error: () => {} });
    ws.on('message', (data: Buffer) => decoder.push(data));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const until = async (predicate: () => boolean) => {
      for (let i = 0; i < 300 && !predicate(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(predicate()).toBe(true);
    };
    ws.send(encodeFrame({ t: 'hello', v: 1, join: [{ g: 'org.app.Feed' }] }));
    await until(() => received.some((m) => m.t === 'welcome'));
    ws.send(encodeFrame({ t: 'emit', s: 2, g: 'org.app.Feed', sig: 'X' }, encodePayload(1)));
    await until(() => received.some((m) => m.t === 'err' && m.s === 2));
    expect(received.find((m) => m.t === 'err')).toMatchObject({ code: 'NOT_PERMITTED' });
    app.send({ t: 'emit', s: 3, g: 'org.app.Feed', sig: 'Y' }, encodePayload(2));
    await until(() => received.some((m) => m.t === 'sig' && m.sig === 'Y'));
    ws.close();
    app.close();
  });

  it('SIGHUP applies a new policy atomically and keeps the old one when the file is bad', async () => {
    const file = join(daemon.dir, 'config.json');
    const app = await RawClient.open(daemon.socketPath, { token: APP });
    expect((await app.request({ t: 'monitor', s: 1 })).message).toMatchObject({ code: 'NOT_PERMITTED' });
    await writeFile(file, '{ "policy": { "rules": [ { "effect": "allow", "actions": "*", "identity": "app" ');
    daemon.process.kill('SIGHUP');
    await expect.poll(() => daemon.stderr(), { timeout: 5000 }).toMatch(/config reload failed/);
    const still = await RawClient.open(daemon.socketPath, { token: APP }); // the tokens are still there
    expect((await still.request({ t: 'monitor', s: 1 })).message).toMatchObject({ code: 'NOT_PERMITTED' });
    await writeFile(
      file,
      JSON.stringify({
        ...config,
        policy: {
          ...config.policy,
          rules: [...config.policy.rules, { effect: 'allow', actions: ['monitor'], identity: 'app' }],
        },
      }),
    );
    daemon.process.kill('SIGHUP');
    // The reload is asynchronous: ask until the new rule answers (logs below warn are off here).
    let reply = (await still.request({ t: 'monitor', s: 2 })).message;
    for (let s = 3; reply.t === 'err' && s < 100; s++) {
      await new Promise((r) => setTimeout(r, 50));
      reply = (await still.request({ t: 'monitor', s })).message;
    }
    expect(reply).toMatchObject({ t: 'ok' });
    app.close();
    still.close();
  });
});
