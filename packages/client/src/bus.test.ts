import { decodePayload, ErrorCode } from '@chorus/protocol';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineGroup } from './contract.js';
import { type ChorusError, PayloadDroppedError, PayloadValidationError } from './errors.js';
import type { SignalMeta } from './subscription.js';
import { connectToFakeWithSchemas as connectToFake, type FakeDaemon, settle } from './testing/fake-daemon.js';

import { rejection as anyRejection } from './testing/rejection.js';

const Battery = defineGroup('org.example.Battery', {
  signals: {
    LevelChanged: z.object({ percent: z.number().min(0).max(100) }),
    Unplugged: z.undefined(),
  },
});

/** The fields tests look at on a rejection (each error class has some of them). */
interface Rejection {
  code: string;
  fatal?: boolean;
  data?: unknown;
  reason?: string;
  limit?: number;
}

function rejection(promise: Promise<unknown>): Promise<ChorusError & Rejection> {
  return anyRejection(promise) as Promise<ChorusError & Rejection>;
}

/** Answers nothing of type `t`, so the test decides when (and how) to answer. */
function silent(t: 'join' | 'emit' | 'ping' | 'create' | 'leave' | 'close') {
  return (daemon: FakeDaemon) => daemon.respond(t, () => undefined);
}

describe('handshake', () => {
  it('sends hello first and learns its name and limits from welcome', async () => {
    const { bus, daemon } = await connectToFake({ client: 'test-tool', token: 's3cret' }, (d) => {
      d.name = ':1.42';
      d.limits = { maxFrameBytes: 4096, maxQueueBytes: 65_536 };
    });
    expect(daemon.received[0]?.message).toEqual({ t: 'hello', v: 1, client: 'test-tool', token: 's3cret' });
    expect(bus.name).toBe(':1.42');
    expect(bus.limits.maxFrameBytes).toBe(4096);
    await bus.close();
  });

  it('sends autojoin specs with wire filters', async () => {
    const { bus, daemon } = await connectToFake({
      join: [
        Battery,
        {
          group: 'org.example.Logs',
          filter: [{ signal: 'line', sender: ':1.3', fields: { level: 'error' } }],
        },
      ],
    });
    expect(daemon.received[0]?.message).toMatchObject({
      t: 'hello',
      join: [
        { g: 'org.example.Battery' },
        { g: 'org.example.Logs', f: [{ sig: 'line', from: ':1.3', eq: { level: 'error' } }] },
      ],
    });
    await bus.close();
  });

  it('rejects with the BusError the daemon answers instead of welcome', async () => {
    const error = await rejection(
      connectToFake({}, (d) =>
        d.respond('hello', () => [{ t: 'err', code: 'VERSION_MISMATCH', msg: 'speaks v2', fatal: true }]),
      ),
    );
    expect(error.code).toBe(ErrorCode.VERSION_MISMATCH);
    expect(error.fatal).toBe(true);
  });

  it('rejects when the daemon closes during the handshake', async () => {
    const error = await rejection(
      connectToFake({}, (d) =>
        d.respond('hello', (_r, daemon) => {
          void daemon.transport.close();
          return undefined;
        }),
      ),
    );
    expect(error.code).toBe('CONNECTION_CLOSED');
  });

  it('rejects a daemon that sends a signal before welcome', async () => {
    const error = await rejection(
      connectToFake({}, (d) =>
        d.respond('hello', () => [{ t: 'sig', seq: 1, gseq: 1, g: 'x', sig: 'y', from: ':1.1' }]),
      ),
    );
    expect(error.code).toBe('PROTOCOL_VIOLATION');
  });
});

describe('autojoin', () => {
  it('holds messages until bus.join claims the group, without a round trip', async () => {
    const { bus, daemon } = await connectToFake({ join: [Battery] }, (d) => {
      d.seq = 10;
      // The signals follow the welcome at once, before the app could have attached anything.
      d.respond('hello', (received, daemon) => {
        const welcome = daemon.answer(received);
        queueMicrotask(() => {
          daemon.signal(Battery.name, 'LevelChanged', { percent: 1 });
          daemon.signal(Battery.name, 'LevelChanged', { percent: 2 });
        });
        return welcome;
      });
    });
    await settle();
    const sub = await bus.join(Battery);
    expect(daemon.all('join')).toHaveLength(0);
    expect(sub.startSeq).toBe(11);
    expect(sub.startGroupSeq).toBe(1);
    const seen: number[] = [];
    sub.on('LevelChanged', ({ percent }) => seen.push(percent));
    daemon.signal(Battery.name, 'LevelChanged', { percent: 3 });
    await settle();
    expect(seen).toEqual([1, 2, 3]);
    await bus.close();
  });

  it('gives the held messages first to an iterator', async () => {
    const { bus, daemon } = await connectToFake({ join: [Battery] });
    daemon.signal(Battery.name, 'LevelChanged', { percent: 5 });
    daemon.signal(Battery.name, 'Unplugged', undefined);
    await settle();
    const sub = await bus.join(Battery);
    const iterator = sub[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value).toMatchObject({ signal: 'LevelChanged', payload: { percent: 5 } });
    expect((await iterator.next()).value).toMatchObject({ signal: 'Unplugged', payload: undefined });
    await iterator.return?.();
    await bus.close();
  });

  it('pauses reading when a claimed subscription holds maxHeldMessages, and resumes once consumed', async () => {
    const { bus, daemon, client } = await connectToFake({ join: [Battery], maxHeldMessages: 2 });
    // Claimed (bus.join) but not consumed yet: held, and reading pauses at the bound.
    const sub = await bus.join(Battery);
    for (let i = 0; i < 6; i++) daemon.signal(Battery.name, 'LevelChanged', { percent: i });
    await settle();
    expect(client.paused).toBe(true);
    expect(client.bufferedBytes).toBeGreaterThan(0);
    const seen: number[] = [];
    sub.on('LevelChanged', ({ percent }) => seen.push(percent));
    await settle();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
    expect(client.paused).toBe(false);
    await bus.close();
  });

  // Issue 13: an autojoin the app never claims must not pause the connection (that stalled the
  // group's emitters until the app was evicted): at the bound it is left and reported at once.
  it('leaves an unclaimed autojoin at maxHeldMessages and reports it, without pausing', async () => {
    const { bus, daemon, client } = await connectToFake({ join: [Battery], maxHeldMessages: 2 });
    const errors: { code: string; group?: string }[] = [];
    bus.on('error', (error) => errors.push(error as never));
    for (let i = 0; i < 6; i++) daemon.signal(Battery.name, 'LevelChanged', { percent: i });
    await settle();
    expect(client.paused).toBe(false);
    expect(errors).toEqual([expect.objectContaining({ code: 'UNCLAIMED_JOIN', group: Battery.name })]);
    expect((await daemon.take('leave')).message).toMatchObject({ t: 'leave', g: Battery.name });
    await bus.close();
  });

  it('refuses to claim an autojoined group with other filters', async () => {
    const { bus } = await connectToFake({ join: [{ group: Battery, filter: { signal: 'LevelChanged' } }] });
    const error = await rejection(bus.join(Battery, { filter: { signal: 'Unplugged' } }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    const sub = await bus.join(Battery, { filter: { signal: 'LevelChanged' } });
    expect(sub.group).toBe(Battery.name);
    await bus.close();
  });

  it('delivers what was held even if the group closed before the claim', async () => {
    const { bus, daemon } = await connectToFake({ join: [Battery] });
    daemon.signal(Battery.name, 'LevelChanged', { percent: 7 });
    daemon.send({ t: 'gclosed', g: Battery.name, reason: 'owner-left' });
    await settle();
    const sub = await bus.join(Battery);
    const messages: unknown[] = [];
    for await (const message of sub) messages.push(message.payload);
    expect(messages).toEqual([{ percent: 7 }]);
    expect(sub.ended).toBe(true);
    await bus.close();
  });
});

describe('validation', () => {
  it('rejects an invalid emit with the issues as data and sends nothing', async () => {
    const { bus, daemon } = await connectToFake();
    const group = await bus.createGroup(Battery);
    const error = (await rejection(
      group.emit('LevelChanged', { percent: 420 }),
    )) as unknown as PayloadValidationError;
    expect(error.code).toBe('INVALID_PAYLOAD');
    expect(error.issues).toEqual([{ code: 'too_big', path: ['percent'], message: expect.any(String) }]);
    const viaBus = await rejection(bus.emit(Battery, 'LevelChanged', { percent: -1 }));
    expect(viaBus.code).toBe('INVALID_PAYLOAD');
    // A JS caller can name a signal the contract does not have.
    const unknown = (await rejection(
      (group.emit as (s: string, p: unknown) => Promise<unknown>)('Exploded', {}),
    )) as unknown as PayloadValidationError;
    expect(unknown.issues[0]?.code).toBe('unknown_signal');
    await bus.ping();
    expect(daemon.all('emit')).toHaveLength(0);
    await bus.close();
  });

  it('sends the payload as given and resolves with the daemon numbers', async () => {
    const { bus, daemon } = await connectToFake();
    const group = await bus.createGroup(Battery);
    const result = await group.emit('LevelChanged', { percent: 42 });
    expect(result).toEqual({ seq: 1, groupSeq: 1, recipients: 1 });
    const [emit] = daemon.all('emit');
    expect(emit?.message).toMatchObject({ t: 'emit', g: Battery.name, sig: 'LevelChanged' });
    expect(decodePayload(emit?.payload ?? new Uint8Array())).toEqual({ percent: 42 });
    await bus.close();
  });

  it('reports an invalid incoming payload as an invalid event and goes on', async () => {
    const { bus, daemon } = await connectToFake();
    const sub = await bus.join(Battery);
    const valid: number[] = [];
    const invalid: { error: PayloadValidationError; meta: SignalMeta }[] = [];
    sub.on('LevelChanged', ({ percent }) => valid.push(percent));
    sub.on('invalid', (error, meta) => invalid.push({ error, meta }));
    daemon.signal(Battery.name, 'LevelChanged', { percent: 'lots' });
    daemon.signal(Battery.name, 'Exploded', {});
    daemon.send(
      { t: 'sig', seq: 99, gseq: 99, g: Battery.name, sig: 'LevelChanged', from: ':1.5' },
      new Uint8Array([0xc1]),
    );
    daemon.signal(Battery.name, 'LevelChanged', { percent: 50 });
    await settle();
    expect(valid).toEqual([50]);
    expect(invalid.map(({ error }) => [error.code, error.issues[0]?.code])).toEqual([
      ['INVALID_PAYLOAD', 'invalid_type'],
      ['INVALID_PAYLOAD', 'unknown_signal'],
      ['INVALID_PAYLOAD', 'invalid_encoding'],
    ]);
    expect(invalid[0]?.meta).toMatchObject({ group: Battery.name, signal: 'LevelChanged', sender: ':1.2' });
    await bus.close();
  });

  it("reports an invalid payload nobody listens for on the bus's error event, once per group and signal", async () => {
    const { bus, daemon } = await connectToFake();
    const errors: ChorusError[] = [];
    bus.on('error', (error) => errors.push(error));
    const sub = await bus.join(Battery);
    const valid: number[] = [];
    sub.on('LevelChanged', ({ percent }) => valid.push(percent));
    daemon.signal(Battery.name, 'LevelChanged', { percent: 'lots' });
    daemon.signal(Battery.name, 'LevelChanged', { percent: 'more' });
    daemon.signal(Battery.name, 'Exploded', {});
    daemon.signal(Battery.name, 'Exploded', {});
    daemon.signal(Battery.name, 'LevelChanged', { percent: 50 });
    await settle();
    expect(valid).toEqual([50]);
    expect(errors.map((e) => [e.code, (e as PayloadDroppedError).signal])).toEqual([
      ['PAYLOAD_DROPPED', 'LevelChanged'],
      ['PAYLOAD_DROPPED', 'Exploded'],
    ]);
    expect(errors[0]).toBeInstanceOf(PayloadDroppedError);
    expect((errors[0] as PayloadDroppedError).issues[0]?.path).toEqual(['percent']);
    expect(errors[0]?.cause).toBeInstanceOf(PayloadValidationError);
    // With an `invalid` listener the app hears of each one there, and the bus says nothing more.
    const invalid: PayloadValidationError[] = [];
    sub.on('invalid', (error) => invalid.push(error));
    daemon.signal(Battery.name, 'LevelChanged', { percent: 'again' });
    daemon.signal(Battery.name, 'Imploded', {});
    await settle();
    expect(invalid).toHaveLength(2);
    expect(errors).toHaveLength(2);
    await bus.close();
  });

  it('keeps invalid payloads away from iterators', async () => {
    const { bus, daemon } = await connectToFake();
    const sub = await bus.join(Battery);
    daemon.signal(Battery.name, 'LevelChanged', { percent: 1000 });
    daemon.signal(Battery.name, 'LevelChanged', { percent: 10 });
    const iterator = sub[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.payload).toEqual({ percent: 10 });
    await bus.close();
  });

  it('works untyped: any payload, by group name', async () => {
    const { bus, daemon } = await connectToFake();
    const sub = await bus.join('org.example.Battery');
    const group = await bus.createGroup('org.example.Tool');
    await group.emit('Anything', [1, 'two', { three: 3 }]);
    await bus.emit('org.example.Tool', 'Nothing');
    expect(daemon.all('emit').map((r) => r.message)).toMatchObject([{ sig: 'Anything' }, { sig: 'Nothing' }]);
    const got: unknown[] = [];
    sub.on('whatever', (payload, meta) => got.push([payload, meta.signal]));
    daemon.signal('org.example.Battery', 'whatever', { percent: 'not checked' });
    await settle();
    expect(got).toEqual([[{ percent: 'not checked' }, 'whatever']]);
    await bus.close();
  });

  it('runs schema transforms on the receiving side', async () => {
    const Temps = defineGroup('org.example.Temps', {
      signals: { Reading: z.object({ celsius: z.string().transform(Number) }) },
    });
    const { bus, daemon } = await connectToFake();
    const sub = await bus.join(Temps);
    const got: number[] = [];
    sub.on('Reading', ({ celsius }) => got.push(celsius));
    daemon.signal(Temps.name, 'Reading', { celsius: '21.5' });
    await settle();
    expect(got).toEqual([21.5]);
    await bus.close();
  });
});

describe('requests', () => {
  it('matches replies to requests by serial, in any order', async () => {
    const { bus, daemon } = await connectToFake({}, silent('join'));
    const a = bus.join('a');
    const b = bus.join('b');
    const c = bus.join('c');
    const joins = [await daemon.take('join'), await daemon.take('join'), await daemon.take('join')];
    const serials = joins.map((r) => (r.message as { s: number }).s);
    expect(new Set(serials).size).toBe(3);
    for (const [i, r] of [...joins.entries()].reverse()) {
      daemon.send({ t: 'ok', s: (r.message as { s: number }).s, r: { startSeq: 100 + i, startGroupSeq: i } });
    }
    expect((await a).startSeq).toBe(100);
    expect((await b).startSeq).toBe(101);
    expect((await c).startSeq).toBe(102);
    await bus.close();
  });

  it('rejects only the request an err names, with its wire code', async () => {
    const { bus, daemon } = await connectToFake({}, (d) =>
      d.respond('close', ({ message }) => [
        {
          t: 'err',
          s: (message as { s: number }).s,
          code: 'NOT_OWNER',
          msg: 'not yours',
          data: { owner: ':1.1' },
        },
      ]),
    );
    const group = await bus.createGroup('mine');
    const ping = bus.ping();
    const error = await rejection(group.close());
    await ping;
    expect(error.code).toBe(ErrorCode.NOT_OWNER);
    expect(group.closedReason).toBeUndefined();
    expect(error.data).toEqual({ owner: ':1.1' });
    expect(daemon.all('ping')).toHaveLength(1);
    await bus.close();
  });

  it('reports an err without serial on the bus error event', async () => {
    const { bus, daemon } = await connectToFake();
    const errors: string[] = [];
    bus.on('error', (error) => errors.push(error.code));
    daemon.send({ t: 'err', code: 'BAD_FIELD', msg: 'could not read the serial' });
    await bus.ping();
    expect(errors).toEqual(['BAD_FIELD']);
    await bus.close();
  });

  it('refuses a frame larger than the daemon accepts, sending nothing', async () => {
    const { bus, daemon } = await connectToFake({}, (d) => {
      d.limits = { maxFrameBytes: 100, maxQueueBytes: 1000 };
    });
    const error = await rejection(bus.emit('g', 'blob', 'x'.repeat(200)));
    expect(error.code).toBe('MESSAGE_TOO_LARGE');
    expect(error.limit).toBe(100);
    await bus.ping();
    expect(daemon.all('emit')).toHaveLength(0);
    await bus.close();
  });

  it('answers ALREADY_MEMBER for a second join of the same group, as the daemon would', async () => {
    const { bus, daemon } = await connectToFake();
    await bus.join(Battery);
    const error = await rejection(bus.join(Battery));
    expect(error.code).toBe(ErrorCode.ALREADY_MEMBER);
    expect(daemon.all('join')).toHaveLength(1);
    await bus.close();
  });
});

describe('pipelined emits', () => {
  it('keeps at most maxInFlight emits unanswered, sending the rest in order as room frees', async () => {
    const { bus, daemon } = await connectToFake({ maxInFlight: 3 }, silent('emit'));
    const group = await bus.createGroup(Battery);
    const results = Array.from({ length: 8 }, (_, i) => group.emit('LevelChanged', { percent: i }));
    await settle();
    expect(daemon.all('emit')).toHaveLength(3);
    const answer = async (): Promise<void> => {
      const { message } = await daemon.take('emit');
      daemon.seq++;
      daemon.send({
        t: 'ok',
        s: (message as { s: number }).s,
        r: { seq: daemon.seq, gseq: daemon.seq, n: 2 },
      });
    };
    await answer();
    await settle();
    expect(daemon.all('emit')).toHaveLength(4);
    for (let i = 1; i < 8; i++) await answer();
    const resolved = await Promise.all(results);
    expect(resolved.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(resolved[0]).toEqual({ seq: 1, groupSeq: 1, recipients: 2 });
    expect(daemon.all('emit').map((r) => (decodePayload(r.payload) as { percent: number }).percent)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ]);
    await bus.close();
  });

  it('keeps at most maxInFlightBytes of emits unanswered, but always lets one through', async () => {
    const Log = defineGroup('org.example.Log', { signals: { Line: z.object({ text: z.string() }) } });
    const { bus, daemon } = await connectToFake({ maxInFlightBytes: 1100 }, silent('emit'));
    const group = await bus.createGroup(Log);
    const sizes = [300, 300, 300, 300, 2000, 10];
    const results = sizes.map((n) => group.emit('Line', { text: 'x'.repeat(n) }));
    await settle();
    // Three frames of ~355 bytes fit in 1100, a fourth does not.
    const sent = () =>
      daemon.all('emit').map((r) => (decodePayload(r.payload) as { text: string }).text.length);
    expect(sent()).toEqual([300, 300, 300]);
    const answer = async (): Promise<void> => {
      const { message } = await daemon.take('emit');
      daemon.seq++;
      daemon.send({
        t: 'ok',
        s: (message as { s: number }).s,
        r: { seq: daemon.seq, gseq: daemon.seq, n: 1 },
      });
    };
    await answer();
    await settle();
    expect(sent()).toEqual([300, 300, 300, 300]);
    // The 2000-byte emit is larger than the bound: it goes once it is alone, and the next waits for it.
    for (let i = 0; i < 3; i++) await answer();
    await settle();
    expect(sent()).toEqual([300, 300, 300, 300, 2000]);
    await answer();
    await settle();
    expect(sent()).toEqual(sizes);
    await answer();
    expect((await Promise.all(results)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    await bus.close();
  });

  it('frees the slot of an emit the daemon refused', async () => {
    const { bus } = await connectToFake({ maxInFlight: 1 }, (d) =>
      d.respond('emit', ({ message }) => [
        { t: 'err', s: (message as { s: number }).s, code: 'NOT_PERMITTED', msg: 'no' },
      ]),
    );
    const first = await rejection(bus.emit('g', 's', 1));
    const second = await rejection(bus.emit('g', 's', 2));
    expect([first.code, second.code]).toEqual(['NOT_PERMITTED', 'NOT_PERMITTED']);
    await bus.close();
  });
});

describe('the end of the connection', () => {
  it('rejects every pending request and ends every iterator with the error when the connection is lost', async () => {
    const { bus, daemon } = await connectToFake({ maxInFlight: 1 }, (d) => {
      d.respond('emit', () => undefined);
      d.respond('ping', () => undefined);
    });
    const sub = await bus.join(Battery);
    const closed: unknown[] = [];
    sub.on('closed', (reason, error) => closed.push([reason, error?.code]));
    const iterator = sub[Symbol.asyncIterator]();
    daemon.signal(Battery.name, 'LevelChanged', { percent: 1 });
    await settle();
    const sent = bus.emit(Battery, 'LevelChanged', { percent: 2 });
    const waiting = bus.emit(Battery, 'LevelChanged', { percent: 3 }); // no room: never sent
    const ping = bus.ping();
    await settle();
    daemon.transport.destroy(new Error('connection reset'));
    for (const pending of [sent, waiting, ping])
      expect((await rejection(pending)).code).toBe('CONNECTION_CLOSED');
    // What was received is still delivered, then the iterator throws the error.
    expect((await iterator.next()).value?.payload).toEqual({ percent: 1 });
    expect((await rejection(iterator.next())).code).toBe('CONNECTION_CLOSED');
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    expect(closed).toEqual([['disconnected', 'CONNECTION_CLOSED']]);
    const error = await bus.closed;
    expect(error?.code).toBe('CONNECTION_CLOSED');
    expect(error?.cause).toMatchObject({ message: 'connection reset' });
    expect((await rejection(bus.join('later'))).code).toBe('CONNECTION_CLOSED');
  });

  it('ends a waiting iterator on EOF', async () => {
    const { bus, daemon } = await connectToFake();
    const sub = await bus.join(Battery);
    const next = sub[Symbol.asyncIterator]().next();
    await daemon.transport.close();
    expect((await rejection(next)).code).toBe('CONNECTION_CLOSED');
  });

  it('treats bye as the end, with its reason', async () => {
    const { bus, daemon } = await connectToFake({}, silent('ping'));
    const ping = bus.ping();
    await settle();
    daemon.send({ t: 'bye', reason: 'shutdown' });
    const error = await rejection(ping);
    expect(error.code).toBe('CONNECTION_CLOSED');
    expect(error.reason).toBe('shutdown');
    expect((await bus.closed)?.code).toBe('CONNECTION_CLOSED');
  });

  it('ends everything with a fatal err (evicted as a slow consumer)', async () => {
    const { bus, daemon } = await connectToFake({}, silent('ping'));
    const sub = await bus.join(Battery);
    const next = sub[Symbol.asyncIterator]().next();
    const ping = bus.ping();
    await settle();
    daemon.send({ t: 'err', code: 'SLOW_CONSUMER', msg: 'evicted', fatal: true });
    expect((await rejection(ping)).code).toBe(ErrorCode.SLOW_CONSUMER);
    expect((await rejection(next)).code).toBe(ErrorCode.SLOW_CONSUMER);
    expect((await bus.closed)?.code).toBe(ErrorCode.SLOW_CONSUMER);
  });

  it('closes gracefully: answers to sent requests arrive, iterators finish, later calls reject', async () => {
    const { bus, daemon } = await connectToFake({}, silent('emit'));
    const sub = await bus.join(Battery);
    const next = sub[Symbol.asyncIterator]().next();
    const sent = bus.emit(Battery, 'LevelChanged', { percent: 9 });
    const closing = bus.close();
    const { message } = await daemon.take('emit');
    daemon.send({ t: 'ok', s: (message as { s: number }).s, r: { seq: 5, gseq: 2, n: 0 } });
    expect(await sent).toEqual({ seq: 5, groupSeq: 2, recipients: 0 });
    await closing;
    expect(await next).toEqual({ done: true, value: undefined });
    expect(await bus.closed).toBeUndefined();
    expect((await rejection(bus.ping())).code).toBe('CONNECTION_CLOSED');
  });
});

describe('backpressure', () => {
  it('pauses the transport while an unconsumed iterator buffer is full, and resumes as it drains', async () => {
    const { bus, daemon, client } = await connectToFake({ maxBufferedMessages: 4 });
    const sub = await bus.join(Battery);
    const iterator = sub[Symbol.asyncIterator]();
    for (let i = 0; i < 20; i++) daemon.signal(Battery.name, 'LevelChanged', { percent: i });
    await settle();
    expect(client.paused).toBe(true);
    expect(client.bufferedBytes).toBeGreaterThan(0);
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      const { value } = await iterator.next();
      seen.push((value?.payload as { percent: number } | undefined)?.percent ?? -1);
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(client.paused).toBe(false);
    await bus.close();
  });

  it('reads up to twice the bound while a reply is awaited, so the reply can get through', async () => {
    const { bus, daemon, client } = await connectToFake({ maxBufferedMessages: 4 }, silent('ping'));
    const sub = await bus.join(Battery);
    const iterator = sub[Symbol.asyncIterator]();
    const ping = bus.ping();
    const { message } = await daemon.take('ping');
    for (let i = 0; i < 6; i++) daemon.signal(Battery.name, 'LevelChanged', { percent: i });
    daemon.send({ t: 'ok', s: (message as { s: number }).s });
    await ping; // would hang if reading had paused at 4 messages
    await settle();
    expect(client.paused).toBe(true);
    for (let i = 0; i < 6; i++) expect((await iterator.next()).done).toBe(false);
    await bus.close();
  });

  it('does not buffer for handlers: they run as messages arrive', async () => {
    const { bus, daemon, client } = await connectToFake({ maxBufferedMessages: 2 });
    const sub = await bus.join(Battery);
    let count = 0;
    sub.on('LevelChanged', () => count++);
    for (let i = 0; i < 10; i++) daemon.signal(Battery.name, 'LevelChanged', { percent: i });
    await settle();
    expect(count).toBe(10);
    expect(client.paused).toBe(false);
    await bus.close();
  });

  it('resumes when the iterator is abandoned', async () => {
    const { bus, daemon, client } = await connectToFake({ maxBufferedMessages: 2 });
    const sub = await bus.join(Battery);
    const iterator = sub[Symbol.asyncIterator]();
    for (let i = 0; i < 5; i++) daemon.signal(Battery.name, 'LevelChanged', { percent: i });
    await settle();
    expect(client.paused).toBe(true);
    await iterator.return?.();
    expect(client.paused).toBe(false);
    await bus.close();
  });
});

describe('subscriptions', () => {
  it('finish on gclosed, with a closed event carrying the reason', async () => {
    const { bus, daemon } = await connectToFake();
    const sub = await bus.join(Battery);
    const reasons: string[] = [];
    sub.on('closed', (reason) => reasons.push(reason));
    daemon.signal(Battery.name, 'LevelChanged', { percent: 3 });
    daemon.send({ t: 'gclosed', g: Battery.name, reason: 'owner-left' });
    daemon.signal(Battery.name, 'LevelChanged', { percent: 4 });
    const payloads: unknown[] = [];
    for await (const { payload } of sub) payloads.push(payload);
    expect(payloads).toEqual([{ percent: 3 }]);
    expect(reasons).toEqual(['owner-left']);
    // Registered late, it still hears about the end.
    const late = await new Promise((resolve) => sub.on('closed', resolve));
    expect(late).toBe('owner-left');
    await bus.close();
  });

  it('drop signals after leave, and can join again', async () => {
    const { bus, daemon } = await connectToFake({}, silent('leave'));
    const sub = await bus.join(Battery);
    const seen: number[] = [];
    sub.on('LevelChanged', ({ percent }) => seen.push(percent));
    daemon.signal(Battery.name, 'LevelChanged', { percent: 1 });
    await settle();
    const left = sub.leave();
    expect(sub.leave()).toBe(left);
    daemon.signal(Battery.name, 'LevelChanged', { percent: 2 });
    const again = bus.join(Battery); // waits for the leave to finish
    const { message } = await daemon.take('leave');
    expect(message).toMatchObject({ t: 'leave', g: Battery.name });
    await settle();
    expect(daemon.all('join')).toHaveLength(1);
    daemon.send({ t: 'ok', s: (message as { s: number }).s });
    await left;
    const sub2 = await again;
    sub2.on('LevelChanged', ({ percent }) => seen.push(percent));
    daemon.signal(Battery.name, 'LevelChanged', { percent: 3 });
    await settle();
    expect(seen).toEqual([1, 3]);
    await bus.close();
  });

  it('leave resolves without a round trip once the group is gone, and tolerates NOT_MEMBER', async () => {
    const { bus, daemon } = await connectToFake({}, (d) =>
      d.respond('leave', ({ message }) => [
        { t: 'err', s: (message as { s: number }).s, code: 'NOT_MEMBER', msg: '' },
      ]),
    );
    const closedGroup = await bus.join('a');
    daemon.send({ t: 'gclosed', g: 'a', reason: 'closed' });
    await settle();
    await closedGroup.leave();
    expect(daemon.all('leave')).toHaveLength(0);
    const raced = await bus.join('b');
    await raced.leave();
    expect(daemon.all('leave')).toHaveLength(1);
    await bus.close();
  });

  it('receive a retained value the daemon replays before answering the join', async () => {
    const { bus } = await connectToFake({}, (d) =>
      d.respond('join', (received, daemon) => {
        daemon.signal(Battery.name, 'LevelChanged', { percent: 77 }, { r: true });
        return daemon.answer(received);
      }),
    );
    const sub = await bus.join(Battery);
    const iterator = sub[Symbol.asyncIterator]();
    const { value } = await iterator.next();
    expect(value?.payload).toEqual({ percent: 77 });
    expect(value?.meta.retained).toBe(true);
    await bus.close();
  });

  it('calls every handler registered in the same tick for the first message', async () => {
    const { bus } = await connectToFake({}, (d) =>
      d.respond('join', (received, daemon) => {
        const ok = daemon.answer(received);
        queueMicrotask(() => daemon.signal(Battery.name, 'Unplugged', undefined));
        return ok;
      }),
    );
    const sub = await bus.join(Battery);
    const calls: string[] = [];
    await settle();
    sub.on('LevelChanged', () => calls.push('level'));
    sub.on('Unplugged', () => calls.push('unplugged'));
    await settle();
    expect(calls).toEqual(['unplugged']);
    await bus.close();
  });

  it('allow one iterator at a time', async () => {
    const { bus } = await connectToFake();
    const sub = await bus.join(Battery);
    const iterator = sub[Symbol.asyncIterator]();
    expect(() => sub[Symbol.asyncIterator]()).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    await iterator.return?.();
    expect(() => sub[Symbol.asyncIterator]()).not.toThrow();
    await bus.close();
  });

  it('remove a handler with the function on() returns', async () => {
    const { bus, daemon } = await connectToFake();
    const sub = await bus.join(Battery);
    let calls = 0;
    const off = sub.on('Unplugged', () => calls++);
    daemon.signal(Battery.name, 'Unplugged', undefined);
    await settle();
    off();
    daemon.signal(Battery.name, 'Unplugged', undefined);
    await settle();
    expect(calls).toBe(1);
    await bus.close();
  });
});

describe('owned groups', () => {
  it('creates with the given options and the contract JSON Schema', async () => {
    const Meter = defineGroup('org.example.Meter', {
      signals: { LevelChanged: z.object({ percent: z.number().min(0).max(100) }) },
    });
    const { bus, daemon } = await connectToFake();
    const group = await bus.createGroup(Meter, { emitters: 'owner', retain: true, onFull: 'block' });
    const { message } = await daemon.take('create');
    expect(message).toMatchObject({
      t: 'create',
      g: Meter.name,
      o: { emitters: 'owner', retain: true, onFull: 'block' },
    });
    const schema = (
      message as { schema?: { properties?: { signals?: { properties?: { LevelChanged?: unknown } } } } }
    ).schema;
    expect(schema?.properties?.signals?.properties?.LevelChanged).toMatchObject({
      type: 'object',
      properties: { percent: { type: 'number', minimum: 0, maximum: 100 } },
    });
    await bus.createGroup('plain');
    expect((await daemon.take('create')).message).toEqual({ t: 'create', s: expect.any(Number), g: 'plain' });
    expect(group.closedReason).toBeUndefined();
    await group.close();
    expect(group.closedReason).toBe('closed');
    expect((await daemon.take('close')).message).toMatchObject({ t: 'close', g: Meter.name });
    await group.close();
    expect(daemon.all('close')).toHaveLength(1);
    await bus.close();
  });

  it('refuses a contract without a JSON Schema form, naming the place, and sends nothing', async () => {
    // A partial schema (with `{}` for the date) would claim to accept what the contract refuses.
    const Dated = defineGroup('org.example.Dated', { signals: { At: z.object({ when: z.date() }) } });
    const { bus, daemon } = await connectToFake();
    const error = await rejection(bus.createGroup(Dated));
    expect(error).toMatchObject({ code: 'UNPUBLISHABLE_CONTRACT', issues: [{ path: 'signals.At.when' }] });
    expect(daemon.all('create')).toHaveLength(0);
    // No value (Unplugged: z.undefined()) and bytes have markers.
    await bus.createGroup(Battery);
    const { message } = await daemon.take('create');
    expect(message).toMatchObject({
      schema: {
        properties: { signals: { properties: { Unplugged: { not: {}, 'x-chorus-undefined': true } } } },
      },
    });
    await bus.close();
  });

  it('delivers members signals to the inbox of a sendToPeer group', async () => {
    const { bus, daemon } = await connectToFake();
    const group = await bus.createGroup(Battery, { emitters: 'members', sendToPeer: true });
    const seen: number[] = [];
    group.inbox?.on('LevelChanged', ({ percent }) => seen.push(percent));
    daemon.signal(Battery.name, 'LevelChanged', { percent: 12 });
    await settle();
    expect(seen).toEqual([12]);
    daemon.send({ t: 'gclosed', g: Battery.name, reason: 'shutdown' });
    await settle();
    expect(group.closedReason).toBe('shutdown');
    expect(group.inbox?.ended).toBe(true);
    await bus.close();
  });
});
