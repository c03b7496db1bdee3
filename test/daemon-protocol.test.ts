import { spawn } from 'node:child_process';
import { lstat, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePayload } from '@chorus/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daemonMain, type RunningDaemon, startDaemon, withDaemon } from './harness/daemon.js';
import { RawClient } from './harness/raw-client.js';

// The daemon over a real Unix socket, driven by a hand-written client, so that we can send
// exactly the bytes the SDK never would and check what comes back.

let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon({ config: { limits: { helloTimeoutMs: 300, maxFrameBytes: 64 * 1024 } } });
});
afterAll(async () => {
  await daemon.cleanup();
});

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/** A service emitting a numbered stream and a subscriber checking it: the bystanders. */
async function bystanders(group: string) {
  const service = await RawClient.open(daemon.socketPath);
  expect((await service.request({ t: 'create', s: 1, g: group })).message.t).toBe('ok');
  const listener = await RawClient.open(daemon.socketPath);
  expect((await listener.request({ t: 'join', s: 1, g: group })).message.t).toBe('ok');
  let serial = 10;
  return {
    async emit(count: number) {
      for (let i = 0; i < count; i++)
        service.send({ t: 'emit', s: serial++, g: group, sig: 'Tick' }, encodePayload({ i }));
    },
    async expectAll(count: number) {
      await listener.waitFor((r) => r.message.t === 'sig' && r.message.gseq === count);
      const gseqs = listener.received.flatMap((r) => (r.message.t === 'sig' ? [r.message.gseq] : []));
      expect(gseqs).toEqual(Array.from({ length: count }, (_, i) => i + 1));
      service.close();
      listener.close();
    },
  };
}

describe('handshake', () => {
  it('welcomes with a unique name that is never reused', async () => {
    const a = await RawClient.open(daemon.socketPath);
    const b = await RawClient.open(daemon.socketPath);
    expect(a.name).toMatch(/^:1\.\d+$/);
    expect(b.name).toMatch(/^:1\.\d+$/);
    expect(a.name).not.toBe(b.name);
    a.close();
    const c = await RawClient.open(daemon.socketPath);
    expect([a.name, b.name]).not.toContain(c.name);
    const welcome = c.received[0]?.message;
    expect(welcome).toMatchObject({ t: 'welcome', v: 1, limits: { maxFrameBytes: 64 * 1024 } });
    b.close();
    c.close();
  });

  it('refuses a version it does not speak, with a clear error, then closes', async () => {
    const client = await RawClient.connect(daemon.socketPath);
    client.send({ t: 'hello', v: 99 });
    const err = await client.waitFor((r) => r.message.t === 'err');
    expect(err.message).toMatchObject({ code: 'VERSION_MISMATCH', fatal: true });
    await client.whenClosed;
  });

  it('requires hello first', async () => {
    const client = await RawClient.connect(daemon.socketPath);
    client.send({ t: 'ping', s: 1 });
    const err = await client.waitFor((r) => r.message.t === 'err');
    expect(err.message).toMatchObject({ code: 'HELLO_REQUIRED', fatal: true });
    await client.whenClosed;
  });

  it('closes a connection that stays silent past the hello deadline', async () => {
    const client = await RawClient.connect(daemon.socketPath);
    const err = await client.waitFor((r) => r.message.t === 'err');
    expect(err.message).toMatchObject({ code: 'HELLO_TIMEOUT', fatal: true });
    await client.whenClosed;
  });

  it('answers a second hello with DUPLICATE_HELLO and goes on', async () => {
    const client = await RawClient.open(daemon.socketPath);
    client.send({ t: 'hello', v: 1 });
    await client.waitFor((r) => r.message.t === 'err' && r.message.code === 'DUPLICATE_HELLO');
    expect((await client.request({ t: 'ping', s: 5 })).message.t).toBe('ok');
    client.close();
  });
});

describe('bad input never disturbs other connections', () => {
  it('an oversized frame: FRAME_TOO_LARGE, then close', async () => {
    const bus = await bystanders('test.bad.Oversized');
    await bus.emit(50);
    const client = await RawClient.open(daemon.socketPath);
    client.sendBytes(new Uint8Array([...u32(10), ...u32(1024 * 1024)]));
    const err = await client.waitFor((r) => r.message.t === 'err');
    expect(err.message).toMatchObject({ code: 'FRAME_TOO_LARGE', fatal: true });
    await client.whenClosed;
    await bus.emit(50);
    await bus.expectAll(100);
  });

  it('random garbage: a fatal framing error, then close', async () => {
    const bus = await bystanders('test.bad.Garbage');
    await bus.emit(20);
    const client = await RawClient.open(daemon.socketPath);
    client.sendBytes(new Uint8Array([0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]));
    const err = await client.waitFor((r) => r.message.t === 'err');
    expect(err.message).toMatchObject({ fatal: true });
    expect(['BAD_LENGTH', 'FRAME_TOO_LARGE']).toContain((err.message as { code: string }).code);
    await client.whenClosed;
    await bus.emit(20);
    await bus.expectAll(40);
  });

  it('a well-framed header that is not MessagePack: BAD_MSGPACK, and the connection goes on', async () => {
    const client = await RawClient.open(daemon.socketPath);
    client.sendBytes(new Uint8Array([...u32(1), ...u32(0), 0xc1]));
    const err = await client.waitFor((r) => r.message.t === 'err');
    expect(err.message).toMatchObject({ code: 'BAD_MSGPACK' });
    expect((err.message as { fatal?: boolean }).fatal).toBeFalsy();
    expect((await client.request({ t: 'ping', s: 2 })).message.t).toBe('ok');
    client.close();
  });

  it('an unknown message type: UNKNOWN_TYPE naming the serial', async () => {
    const client = await RawClient.open(daemon.socketPath);
    client.send({ t: 'frobnicate', s: 77 } as never);
    const err = await client.waitFor((r) => r.message.t === 'err');
    expect(err.message).toMatchObject({ code: 'UNKNOWN_TYPE', s: 77 });
    client.close();
  });

  it('a truncated frame followed by a disconnect leaves the bus working', async () => {
    const bus = await bystanders('test.bad.Truncated');
    const client = await RawClient.open(daemon.socketPath);
    client.sendBytes(new Uint8Array([...u32(20), ...u32(100), 0x82]));
    client.close();
    await bus.emit(30);
    await bus.expectAll(30);
  });
});

describe('requests', () => {
  it('creates, joins, emits and delivers with bus and group sequence numbers', async () => {
    const service = await RawClient.open(daemon.socketPath);
    const app = await RawClient.open(daemon.socketPath);
    expect((await service.request({ t: 'create', s: 1, g: 'test.req.Battery' })).message).toMatchObject({
      t: 'ok',
    });
    const joined = (await app.request({ t: 'join', s: 1, g: 'test.req.Battery' })).message;
    expect(joined).toMatchObject({ t: 'ok', r: { startGroupSeq: 1 } });
    const payload = encodePayload({ percent: 42 });
    const ack = (
      await service.request({ t: 'emit', s: 2, g: 'test.req.Battery', sig: 'LevelChanged' }, payload)
    ).message;
    expect(ack).toMatchObject({ t: 'ok', r: { gseq: 1, n: 1 } });
    const sig = await app.waitFor((r) => r.message.t === 'sig');
    expect(sig.message).toMatchObject({
      g: 'test.req.Battery',
      sig: 'LevelChanged',
      gseq: 1,
      from: service.name,
    });
    expect(sig.payload).toEqual(payload);
    const startSeq = (joined as unknown as { r: { startSeq: number } }).r.startSeq;
    expect((sig.message as { seq: number }).seq).toBeGreaterThanOrEqual(startSeq);
    service.close();
    app.close();
  });

  it('answers engine errors with their codes', async () => {
    const a = await RawClient.open(daemon.socketPath);
    const b = await RawClient.open(daemon.socketPath);
    expect((await a.request({ t: 'join', s: 1, g: 'test.req.Missing' })).message).toMatchObject({
      code: 'UNKNOWN_GROUP',
    });
    expect((await a.request({ t: 'create', s: 2, g: 'nodots' })).message).toMatchObject({
      code: 'INVALID_NAME',
    });
    expect((await a.request({ t: 'create', s: 3, g: 'test.req.Owned' })).message).toMatchObject({ t: 'ok' });
    expect((await b.request({ t: 'create', s: 1, g: 'test.req.Owned' })).message).toMatchObject({
      code: 'GROUP_EXISTS',
    });
    expect(
      (await b.request({ t: 'emit', s: 2, g: 'test.req.Owned', sig: 'X' }, encodePayload(1))).message,
    ).toMatchObject({
      code: 'NOT_PERMITTED',
    });
    expect((await b.request({ t: 'close', s: 3, g: 'test.req.Owned' })).message).toMatchObject({
      code: 'NOT_OWNER',
    });
    expect((await b.request({ t: 'leave', s: 4, g: 'test.req.Owned' })).message).toMatchObject({
      code: 'NOT_MEMBER',
    });
    a.close();
    b.close();
  });
});

describe('the socket', () => {
  it('is created with mode 0600 in a directory of mode 0700', async () => {
    const root = await mkdtemp(join(tmpdir(), 'chorus-perm-'));
    const dir = join(root, 'runtime', 'chorus');
    const d = await startDaemon({ dir });
    try {
      expect((await stat(d.socketPath)).mode & 0o777).toBe(0o600);
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
    } finally {
      await d.kill();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses to start when another daemon listens there', async () => {
    const child = spawn(process.execPath, [daemonMain, '--socket', daemon.socketPath], { stdio: 'pipe' });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/already listening/);
  });

  it('replaces a stale socket file and does not follow a planted symlink', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-stale-'));
    try {
      const path = join(dir, 'bus.sock');
      // A crashed daemon: the socket file stays behind, nobody accepts on it.
      const crashed = spawn(process.execPath, [
        '-e',
        `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
      ]);
      await new Promise((resolve) => crashed.stdout.once('data', resolve));
      crashed.kill('SIGKILL');
      await new Promise((resolve) => crashed.once('exit', resolve));
      expect((await lstat(path)).isSocket()).toBe(true);
      const d = await startDaemon({ dir });
      const client = await RawClient.open(d.socketPath);
      expect(client.name).toMatch(/^:1\./);
      client.close();
      await d.kill();

      const target = join(dir, 'target');
      await writeFile(target, 'precious');
      await rm(path, { force: true });
      await symlink(target, path);
      await expect(startDaemon({ dir })).rejects.toThrow(/not a socket/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('on SIGTERM says bye to clients, exits 0 and removes the socket file', async () => {
    const d = await startDaemon();
    const client = await RawClient.open(d.socketPath);
    const code = await d.stop();
    expect(code).toBe(0);
    await client.waitFor((r) => r.message.t === 'bye');
    await client.whenClosed;
    await expect(lstat(d.socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
    await rm(d.dir, { recursive: true, force: true });
  });
});
