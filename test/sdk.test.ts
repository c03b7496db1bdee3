import { lstat, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Bus,
  ClientErrorCode,
  ConnectionClosedError,
  connect,
  defineGroup,
  isChorusError,
  type PayloadValidationError,
  type SignalMeta,
  type SubscriptionEndReason,
  z,
} from '@chorus/client';
import { encodePayload } from '@chorus/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDaemon, startDaemon, withDaemon } from './harness/daemon.js';
import { RawClient } from './harness/raw-client.js';

// The SDK's own promises, end to end against a real daemon: validation on both ends, what a lost
// connection does to pending work, and a daemon shutting down under connected clients.

let groups = 0;
function battery() {
  return defineGroup(`test.sdk.Battery${++groups}`, {
    signals: { LevelChanged: z.object({ percent: z.number().min(0).max(100) }) },
  });
}

const buses: Bus[] = [];
afterAll(async () => {
  await Promise.all(buses.map((bus) => bus.close()));
});
async function open(daemon: RunningDaemon, options: Parameters<typeof connect>[0] = {}): Promise<Bus> {
  const bus = await connect({ address: daemon.address, ...options });
  buses.push(bus);
  return bus;
}

describe('payload validation', () => {
  let daemon: RunningDaemon & { cleanup(): Promise<void> };
  beforeAll(async () => {
    daemon = await withDaemon();
  });
  afterAll(async () => {
    await daemon?.cleanup();
  });

  it('an invalid emit rejects with INVALID_PAYLOAD and sends nothing', async () => {
    const Battery = battery();
    const service = await open(daemon);
    const group = await service.createGroup(Battery, { emitters: 'anyone' });
    const app = await open(daemon);
    const got: [number, SignalMeta][] = [];
    (await app.join(Battery)).on('LevelChanged', ({ percent }, meta) => got.push([percent, meta]));

    const tooBig = await group.emit('LevelChanged', { percent: 400 }).catch((error: unknown) => error);
    expect(tooBig).toMatchObject({ code: ClientErrorCode.INVALID_PAYLOAD, signal: 'LevelChanged' });
    expect((tooBig as PayloadValidationError).issues).toEqual([
      expect.objectContaining({ code: 'too_big', path: ['percent'] }),
    ]);
    const other = await open(daemon);
    // Wrong shape, and a signal the contract does not have: both refused before sending.
    await expect(other.emit(Battery, 'LevelChanged', { percent: 'full' } as never)).rejects.toMatchObject({
      code: ClientErrorCode.INVALID_PAYLOAD,
    });
    await expect(other.emit(Battery, 'Unplugged' as never, {} as never)).rejects.toMatchObject({
      code: ClientErrorCode.INVALID_PAYLOAD,
    });

    // Nothing went out: the first valid emit is the group's first message, the only one delivered.
    const ack = await group.emit('LevelChanged', { percent: 40 });
    expect(ack).toMatchObject({ groupSeq: 1, recipients: 1 });
    await app.ping();
    expect(got.map(([percent, meta]) => [percent, meta.groupSeq, meta.seq])).toEqual([[40, 1, ack.seq]]);
  });

  it("an invalid incoming payload is reported on 'invalid', never reaches handlers, and the subscription goes on", async () => {
    const Battery = battery();
    const service = await open(daemon);
    // validate: false, so that the daemon forwards what it would otherwise refuse (issue 14).
    await service.createGroup(Battery, { emitters: 'anyone', validate: false });
    const app = await open(daemon);
    const sub = await app.join(Battery);
    const handled: number[] = [];
    const invalid: [PayloadValidationError, SignalMeta][] = [];
    sub.on('LevelChanged', ({ percent }) => handled.push(percent));
    sub.on('invalid', (error, meta) => invalid.push([error, meta]));
    const iterated: number[] = [];
    const iteration = (async () => {
      for await (const message of sub) {
        iterated.push(message.payload.percent);
        if (iterated.length === 2) return;
      }
    })();

    // An untyped tool with its own idea of the schema, and a raw client sending bytes that are not
    // MessagePack at all: with validation off the daemon forwards payloads untouched, the SDK checks them.
    const tool = await open(daemon);
    const raw = await RawClient.open(daemon.socketPath);
    try {
      await tool.emit(Battery.name, 'LevelChanged', { percent: 10 });
      const badShape = await tool.emit(Battery.name, 'LevelChanged', { level: 'high' });
      const unknown = await tool.emit(Battery.name, 'Unplugged', {});
      expect(
        (await raw.request({ t: 'emit', s: 1, g: Battery.name, sig: 'LevelChanged' }, new Uint8Array([0xc1])))
          .message,
      ).toMatchObject({ t: 'ok' });
      expect(
        (
          await raw.request(
            { t: 'emit', s: 2, g: Battery.name, sig: 'LevelChanged' },
            encodePayload({ percent: 101 }),
          )
        ).message,
      ).toMatchObject({ t: 'ok' });
      await tool.emit(Battery.name, 'LevelChanged', { percent: 20 });
      await iteration;
      await app.ping();

      expect(handled).toEqual([10, 20]);
      expect(iterated).toEqual([10, 20]);
      expect(
        invalid.map(([error, meta]) => [error.code, error.issues[0]?.code, meta.sender, meta.signal]),
      ).toEqual([
        [ClientErrorCode.INVALID_PAYLOAD, 'invalid_type', tool.name, 'LevelChanged'],
        [ClientErrorCode.INVALID_PAYLOAD, 'unknown_signal', tool.name, 'Unplugged'],
        [ClientErrorCode.INVALID_PAYLOAD, 'invalid_encoding', raw.name, 'LevelChanged'],
        [ClientErrorCode.INVALID_PAYLOAD, 'too_big', raw.name, 'LevelChanged'],
      ]);
      expect(invalid[0]?.[1].seq).toBe(badShape.seq);
      expect(invalid[1]?.[1].seq).toBe(unknown.seq);
      expect(sub.ended).toBe(false);
    } finally {
      raw.close();
    }
  });
});

// Without reconnecting (on by default; see test/reconnect.test.ts for what it does instead).
describe('a lost connection', () => {
  it('rejects pending requests and ends iterators with CONNECTION_CLOSED when the daemon is killed', async () => {
    const daemon = await startDaemon();
    try {
      const Battery = battery();
      const service = await open(daemon, { reconnect: false });
      const group = await service.createGroup(Battery);
      const app = await open(daemon, { reconnect: false });
      const sub = await app.join(Battery);
      const ended = new Promise<[SubscriptionEndReason, unknown]>((resolve) =>
        sub.on('closed', (reason, error) => resolve([reason, error])),
      );
      const iteration = (async () => {
        const got: number[] = [];
        try {
          for await (const { payload } of sub) got.push(payload.percent);
        } catch (error) {
          return { got, error };
        }
        return { got, error: undefined };
      })();
      for (const percent of [1, 2, 3]) await group.emit('LevelChanged', { percent });
      await app.ping();

      // A daemon that hangs: requests go out and are never answered, and connecting times out.
      daemon.process.kill('SIGSTOP');
      const pending = [
        app.ping(),
        app.join(battery()),
        group.emit('LevelChanged', { percent: 4 }),
        service.createGroup(battery()),
      ].map((p) =>
        p.then(
          () => 'resolved',
          (error: unknown) => error,
        ),
      );
      await expect(open(daemon, { timeoutMs: 200 })).rejects.toMatchObject({ code: ClientErrorCode.TIMEOUT });
      const abort = new AbortController();
      const aborted = connect({ address: daemon.address, signal: abort.signal });
      await sleep(20);
      abort.abort();
      await expect(aborted).rejects.toMatchObject({ code: ClientErrorCode.ABORTED });

      await daemon.kill();
      for (const outcome of await Promise.all(pending)) {
        expect(outcome).toBeInstanceOf(ConnectionClosedError);
        expect(outcome).toMatchObject({ code: ClientErrorCode.CONNECTION_CLOSED });
      }
      const { got, error } = await iteration;
      expect(got).toEqual([1, 2, 3]);
      expect(error).toMatchObject({ code: ClientErrorCode.CONNECTION_CLOSED });
      const [reason, endError] = await ended;
      expect(reason).toBe('disconnected');
      expect(endError).toMatchObject({ code: ClientErrorCode.CONNECTION_CLOSED });
      expect(await app.closed).toMatchObject({ code: ClientErrorCode.CONNECTION_CLOSED });
      expect(await service.closed).toMatchObject({ code: ClientErrorCode.CONNECTION_CLOSED });
      // And later requests fail at once.
      await expect(app.ping()).rejects.toMatchObject({ code: ClientErrorCode.CONNECTION_CLOSED });
      await expect(group.emit('LevelChanged', { percent: 5 })).rejects.toSatisfy((e) => isChorusError(e));
    } finally {
      await daemon.kill();
      await rm(daemon.dir, { recursive: true, force: true });
    }
  });
});

describe('SIGTERM', () => {
  it('with SDK clients connected: they get what was sent, then the bye; the daemon exits 0 and removes its socket', async () => {
    const daemon = await startDaemon();
    try {
      const Battery = battery();
      const service = await open(daemon, { reconnect: false });
      const group = await service.createGroup(Battery);
      const app = await open(daemon, { reconnect: false });
      const sub = await app.join(Battery);
      const iteration = (async () => {
        const got: number[] = [];
        try {
          for await (const { payload } of sub) got.push(payload.percent);
        } catch (error) {
          return { got, error };
        }
        return { got, error: undefined };
      })();
      const idle = await open(daemon, { reconnect: false });
      const sent = Array.from({ length: 100 }, (_, i) => i % 101);
      await Promise.all(sent.map((percent) => group.emit('LevelChanged', { percent })));

      expect(await daemon.stop()).toBe(0);
      await expect(lstat(daemon.socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
      const { got, error } = await iteration;
      expect(got).toEqual(sent);
      for (const closed of [error, await app.closed, await service.closed, await idle.closed]) {
        expect(closed).toBeInstanceOf(ConnectionClosedError);
        expect(closed).toMatchObject({ code: ClientErrorCode.CONNECTION_CLOSED, reason: expect.any(String) });
        expect((closed as ConnectionClosedError).reason).not.toBe('');
      }
      expect(group.closedReason).toBe('shutdown');
      await expect(connect({ address: daemon.address, timeoutMs: 1000 })).rejects.toMatchObject({
        code: ClientErrorCode.CONNECT_FAILED,
      });
    } finally {
      await daemon.kill();
      await rm(daemon.dir, { recursive: true, force: true });
    }
  });
});
