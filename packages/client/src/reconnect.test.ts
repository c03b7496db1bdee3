import { BUS_NAME, decodePayload, ErrorCode, encodePayload, type ServerMessage } from '@chorus/protocol';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { BusGap } from './bus.js';
import { connect } from './connect-node.js';
import { defineGroup } from './contract.js';
import type { ChorusError } from './errors.js';
import { defaultReconnectOptions, resolveReconnect } from './options.js';
import { backoffDelay } from './reconnect.js';
import type { SignalMeta, SubscriptionGap } from './subscription.js';
import { answerSchemas, type FakeDaemon, FakeDialer, settle } from './testing/fake-daemon.js';
import { rejection } from './testing/rejection.js';

// Reconnection against scripted fake daemons: each dial of the bus's transport factory makes a new
// one (numbering from 1, as a restarted daemon), and a dropped transport plays a crashed daemon.
// What reconnection does to names and calls on a real daemon: test/sdk-reconnect.test.ts.
// Delays are a few ms; nothing here asserts a timing.

const ADDRESS = 'unix:path=/nonexistent/bus.sock';
const FAST = { initialDelayMs: 1, maxDelayMs: 4 };

const Battery = defineGroup('org.example.Battery', {
  signals: { LevelChanged: z.object({ percent: z.number() }), Unplugged: z.undefined() },
});
const Own = defineGroup('org.example.Own', { signals: { Tick: z.number() } });

/** Resolves with the arguments of the next event `subscribe` delivers. */
function next<TArgs extends unknown[]>(subscribe: (handler: (...args: TArgs) => void) => () => void) {
  return new Promise<TArgs>((resolve) => {
    const off = subscribe((...args) => {
      off();
      resolve(args);
    });
  });
}

/** What a daemon received, as short strings: `hello`, `create g`, `emit g.sig`, `call dest.m`, ... */
function log(daemon: FakeDaemon): string[] {
  return daemon.received.map(({ message }) => {
    switch (message.t) {
      case 'emit':
        return `emit ${message.g}.${message.sig}`;
      case 'call':
        return `call ${message.dest}.${message.m}`;
      case 'create':
      case 'join':
      case 'leave':
        return `${message.t} ${message.g}`;
      default:
        return message.t;
    }
  });
}

/** Answers RequestName as chorusd does for a free name: NameAcquired first, then primary-owner. */
function ownsEveryName(daemon: FakeDaemon): void {
  daemon.answerBus(
    'RequestName',
    () => ({ result: 'primary-owner' }),
    (input, d) =>
      d.signal(BUS_NAME, 'NameAcquired', { name: (input as { name: string }).name }, { from: BUS_NAME }),
  );
}

async function connectWith(dialer: FakeDialer, options: Parameters<typeof connect>[0] = {}) {
  return connect({ address: ADDRESS, transport: dialer.transport, reconnect: FAST, ...options });
}

describe('backoffDelay', () => {
  const settings = { initialDelayMs: 100, maxDelayMs: 5000 };

  it('doubles per attempt, takes a random half off, and stays within maxDelayMs', () => {
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, settings, () => 1))).toEqual([
      100, 200, 400, 800,
    ]);
    expect([1, 2, 3, 4].map((attempt) => backoffDelay(attempt, settings, () => 0))).toEqual([
      50, 100, 200, 400,
    ]);
    expect(backoffDelay(7, settings, () => 1)).toBe(5000);
    expect(backoffDelay(1_000, settings, () => 0.5)).toBe(3750);
  });

  it('never retries in a tight loop, unless asked to with initialDelayMs 0', () => {
    expect(backoffDelay(1, { initialDelayMs: 1, maxDelayMs: 1 }, () => 0)).toBe(1);
    expect(backoffDelay(5, { initialDelayMs: 0, maxDelayMs: 0 }, () => 1)).toBe(0);
  });
});

describe('connect({ reconnect }) options', () => {
  it('is on by default, with the defaults', () => {
    expect(resolveReconnect({})).toEqual(defaultReconnectOptions);
    expect(resolveReconnect({ reconnect: true })).toEqual(defaultReconnectOptions);
    expect(resolveReconnect({ reconnect: false })).toBeUndefined();
    expect(resolveReconnect({ reconnect: { maxAttempts: 3 } })).toEqual({
      ...defaultReconnectOptions,
      maxAttempts: 3,
    });
    // Only a first delay above the default bound: the bound follows it.
    expect(resolveReconnect({ reconnect: { initialDelayMs: 9000 } })).toMatchObject({ maxDelayMs: 9000 });
  });

  it.each([
    { initialDelayMs: -1 },
    { maxDelayMs: 1.5 },
    { maxAttempts: 0 },
    { maxAttempts: Number.NaN },
    { initialDelayMs: 100, maxDelayMs: 10 },
  ])('refuses %o with INVALID_ARGUMENT', async (reconnect) => {
    expect(() => resolveReconnect({ reconnect })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect((await rejection(connect({ address: ADDRESS, reconnect }))).code).toBe('INVALID_ARGUMENT');
  });
});

describe('reconnecting', () => {
  it('requests its names, creates its groups and joins its memberships again, in that order', async () => {
    const dialer = new FakeDialer();
    dialer.setup = (daemon) => {
      ownsEveryName(daemon);
      answerSchemas(daemon);
    };
    const bus = await connectWith(dialer, { join: [{ group: Battery, filter: { signal: 'LevelChanged' } }] });
    const first = dialer.current;
    const group = await bus.createGroup(Own, { emitters: 'owner', retain: true });
    expect(await bus.requestName('org.example.Own', { allowReplacement: true })).toBe('primary-owner');
    await bus.join('org.example.Logs', { filter: { sender: ':1.3' } });
    const own = await bus.join(Own);
    const battery = await bus.join(Battery);
    const oldName = bus.name;

    const events: string[] = [];
    bus.on('disconnected', (error) => events.push(`disconnected ${error.code}`));
    bus.on('reconnecting', (attempt, delayMs) => {
      expect(delayMs).toBeGreaterThanOrEqual(0);
      events.push(`reconnecting ${attempt}`);
    });
    bus.on('nameAcquired', (name) => events.push(`nameAcquired ${name}`));
    bus.on('nameRequest', (name, result, error) => events.push(`nameRequest ${name} ${result} ${error}`));
    bus.on('reconnected', (name) => events.push(`reconnected ${name}`));
    const gap = next<[BusGap]>((handler) => bus.on('gap', handler));
    // A gap travels with the messages: like them, it is held until the subscription is consumed.
    const gaps: SubscriptionGap[] = [];
    own.on('gap', (g) => gaps.push(g));
    own.on('Tick', () => undefined);
    battery.on('gap', (g) => gaps.push(g));
    battery.on('LevelChanged', () => undefined);

    first.signal(Battery.name, 'LevelChanged', { percent: 1 });
    const last = first.signal(Battery.name, 'LevelChanged', { percent: 2 });
    await bus.ping();
    dialer.drop();
    const [busGap] = await gap;

    const second = dialer.current;
    expect(second).not.toBe(first);
    expect(bus.name).toBe(second.name);
    expect(bus.name).not.toBe(oldName);
    expect(events).toEqual([
      'disconnected CONNECTION_CLOSED',
      'reconnecting 1',
      'nameAcquired org.example.Own',
      'nameRequest org.example.Own primary-owner undefined',
      `reconnected ${second.name}`,
    ]);
    // Memberships of other groups in the hello (nothing missed from the first moment); the name
    // first (under groupsRequireName only its owner may create the group), then the group of our
    // own, then our membership of it.
    expect(log(second)).toEqual([
      'hello',
      'call org.chorus.Bus.RequestName',
      'create org.example.Own',
      'join org.example.Own',
    ]);
    expect(second.received[0]?.message).toMatchObject({
      join: [
        { g: Battery.name, f: [{ sig: 'LevelChanged' }] },
        { g: 'org.example.Logs', f: [{ from: ':1.3' }] },
      ],
    });
    const firstCreate = first.all('create')[0]?.message;
    expect(second.all('create')[0]?.message).toEqual({ ...firstCreate, s: expect.any(Number) });
    expect(firstCreate).toMatchObject({ o: { emitters: 'owner', retain: true }, schema: expect.any(Object) });
    expect(decodePayload(second.all('call')[0]?.payload ?? new Uint8Array())).toEqual({
      name: 'org.example.Own',
      flags: { allowReplacement: true },
    });
    // That the real daemon names the new connection owner again: test/sdk-reconnect.test.ts.
    expect(gaps).toEqual([
      {
        group: Battery.name,
        lastSeq: last.seq,
        lastGroupSeq: last.gseq,
        startSeq: battery.startSeq,
        startGroupSeq: battery.startGroupSeq,
        reason: 'reconnected',
      },
      {
        group: Own.name,
        lastSeq: undefined,
        lastGroupSeq: undefined,
        startSeq: own.startSeq,
        startGroupSeq: own.startGroupSeq,
        reason: 'reconnected',
      },
    ]);
    // Each fake connection numbers from 1: the welcome said seq 0.
    expect(busGap).toMatchObject({ reason: 'reconnected', lastSeq: last.seq, startSeq: 1 });
    expect(busGap.groups.map((g) => g.group).sort()).toEqual(
      [Battery.name, 'org.example.Logs', Own.name].sort(),
    );
    expect(busGap.pending).toEqual([]);
    expect(group.closedReason).toBeUndefined();
    expect(battery.ended).toBe(false);
    await group.emit('Tick', 5);
    await bus.close();
  });

  it('rejects the requests in flight, and sends those made meanwhile after the restore, in call order', async () => {
    const dialer = new FakeDialer();
    const bus = await connectWith(dialer);
    const group = await bus.createGroup('org.example.G');
    dialer.current.respond('ping', () => undefined);
    dialer.current.respond('emit', () => undefined);
    const inFlight = [bus.ping(), group.emit('lost', 0)].map(rejection);
    await dialer.current.take('emit');

    dialer.down = new Error('connect ECONNREFUSED');
    const twoFailures = new Promise<void>((resolve) =>
      bus.on('reconnecting', (attempt) => attempt === 3 && resolve()),
    );
    dialer.drop();
    for (const error of await Promise.all(inFlight)) expect(error.code).toBe('CONNECTION_CLOSED');
    const published = group.publish('p', 4);
    // A publish while away waits like an emit: the promise is the caller's backpressure.
    expect(published).toBeInstanceOf(Promise);
    const waiting = [
      group.emit('a', 1),
      bus.emit('org.example.G', 'b', 2),
      published,
      bus.ping(),
      group.emit('c', 3),
      bus.flush(),
    ];
    const call = bus.call('org.example.Absent', 'M', {}, { timeoutMs: 1 });
    const controller = new AbortController();
    const aborted = rejection(bus.call('org.example.Absent', 'M', {}, { signal: controller.signal }));
    controller.abort();
    expect((await rejection(call)).code).toBe('TIMEOUT');
    expect((await aborted).code).toBe('ABORTED');
    await twoFailures;
    dialer.down = undefined;
    await Promise.all(waiting);
    expect(log(dialer.current)).toEqual([
      'hello',
      'create org.example.G',
      'emit org.example.G.p',
      'emit org.example.G.a',
      'emit org.example.G.b',
      'ping',
      'emit org.example.G.c',
      'ping',
    ]);
    await bus.close();
  });

  it('reports the gap between the last message and the first of the new connection, in order', async () => {
    const dialer = new FakeDialer();
    const bus = await connectWith(dialer, { join: ['org.example.Held'] });
    const sub = await bus.join('org.example.G');
    const seen: string[] = [];
    const record = (payload: unknown, meta: SignalMeta) =>
      seen.push(`${meta.group} ${String(payload)} @${meta.seq}`);
    sub.on('x', record);
    sub.on('gap', (gap) =>
      seen.push(`gap ${gap.group} ${gap.lastSeq}/${gap.lastGroupSeq} → ${gap.startSeq}/${gap.startGroupSeq}`),
    );
    const iterator = sub[Symbol.asyncIterator]();
    dialer.current.signal('org.example.G', 'x', 'a');
    dialer.current.signal('org.example.Held', 'x', 'held');
    dialer.current.signal('org.example.G', 'x', 'b');
    await bus.ping();

    // The next fake daemon numbers from 1 again, as a restarted daemon would.
    const reconnected = next((handler) => bus.on('reconnected', handler));
    dialer.drop();
    await reconnected;
    dialer.current.signal('org.example.G', 'x', 'c');
    dialer.current.signal('org.example.Held', 'x', 'new');
    await bus.ping();
    // Claimed only now: what it held, its gap and what came after, in that order.
    const held = await bus.join('org.example.Held');
    held.on('gap', (gap) => seen.push(`gap ${gap.group} ${gap.lastSeq} → ${gap.startSeq}`));
    held.on('x', record);
    await settle();

    expect(seen).toEqual([
      'org.example.G a @1',
      'org.example.G b @3',
      'gap org.example.G 3/2 → 1/1',
      'org.example.G c @1',
      'org.example.Held held @2',
      'gap org.example.Held 2 → 1',
      'org.example.Held new @2',
    ]);
    // The iterator did not end: it goes on with the new connection's messages.
    const payloads = [];
    for (let i = 0; i < 3; i++) payloads.push((await iterator.next()).value?.payload);
    expect(payloads).toEqual(['a', 'b', 'c']);
    expect(sub.ended).toBe(false);
    await bus.close();
  });

  it('puts a value the daemon replays before the join answer behind the gap', async () => {
    const dialer = new FakeDialer();
    dialer.setup = answerSchemas;
    const bus = await connectWith(dialer);
    await bus.createGroup(Own, { retain: true });
    const sub = await bus.join(Own);
    const seen: string[] = [];
    sub.on('Tick', (n, meta) => seen.push(`Tick ${n}${meta.retained ? ' (retained)' : ''}`));
    sub.on('gap', () => seen.push('gap'));
    dialer.setup = (daemon) =>
      daemon.respond('join', ({ message }) => {
        if (message.t !== 'join') return undefined;
        const retained: ServerMessage = {
          t: 'sig',
          seq: 4,
          gseq: 1,
          g: Own.name,
          sig: 'Tick',
          from: ':1.2',
          r: true,
        };
        return [
          { message: retained, payload: encodePayload(7) },
          { t: 'ok', s: message.s, r: { startSeq: 4, startGroupSeq: 1 } },
        ];
      });
    const reconnected = next((handler) => bus.on('reconnected', handler));
    dialer.drop();
    await reconnected;
    await settle();
    expect(seen).toEqual(['gap', 'Tick 7 (retained)']);
    await bus.close();
  });

  it('joins a federated subscription again with its last fseq, after the hello, and reports only what the replay missed', async () => {
    const group = 'org.example.Fed';
    const answer = (r: Record<string, number>) => (daemon: FakeDaemon) =>
      daemon.respond('join', ({ message }) =>
        message.t === 'join'
          ? [{ t: 'ok', s: message.s, r: { startSeq: 1, startGroupSeq: 1, ...r } }]
          : undefined,
      );
    const dialer = new FakeDialer();
    dialer.setup = answer({ fseq: 10 });
    const bus = await connectWith(dialer);
    const busGaps: BusGap[] = [];
    bus.on('gap', (gap) => busGaps.push(gap));
    const sub = await bus.join(group);
    const seen: string[] = [];
    sub.on('x', (payload, meta) => seen.push(`${String(payload)} @${meta.fseq} seq ${meta.seq}`));
    sub.on('gap', (gap) =>
      seen.push(`gap after ${gap.lastFseq}, from ${gap.startFseq} (${gap.missed} missed)`),
    );
    dialer.current.signal(group, 'x', 'a', { fseq: 12 });
    await bus.ping();

    // Everything replayed: no gap.
    dialer.setup = answer({ fseq: 20 });
    let reconnected = next((handler) => bus.on('reconnected', handler));
    dialer.drop();
    await reconnected;
    expect(dialer.current.all('hello')[0]?.message).not.toHaveProperty('join');
    expect(dialer.current.all('join')[0]?.message).toMatchObject({ g: group, fseq: 12 });
    dialer.current.signal(group, 'x', 'b', { seq: 0, gseq: 0, fseq: 15 });
    dialer.current.signal(group, 'x', 'c', { fseq: 21 });
    await bus.ping();

    // The replay missed what followed 21 up to 25: the gap says so, before the replayed message.
    dialer.setup = answer({ fseq: 30, missedTo: 25, missed: 3 });
    reconnected = next((handler) => bus.on('reconnected', handler));
    dialer.drop();
    await reconnected;
    expect(dialer.current.all('join')[0]?.message).toMatchObject({ g: group, fseq: 21 });
    dialer.current.signal(group, 'x', 'd', { seq: 0, gseq: 0, fseq: 27 });
    await bus.ping();
    await settle();

    expect(seen).toEqual([
      'a @12 seq 1',
      'b @15 seq 0',
      'c @21 seq 2',
      'gap after 21, from 26 (3 missed)',
      'd @27 seq 0',
    ]);
    expect(busGaps.map((gap) => gap.groups.length)).toEqual([0, 1]);
    await bus.close();
  });

  it('counts again from the point when the daemon says its stream never reached the fseq sent (missedTo below it)', async () => {
    const group = 'org.example.Fed';
    const answer = (r: Record<string, number>) => (daemon: FakeDaemon) =>
      daemon.respond('join', ({ message }) =>
        message.t === 'join'
          ? [{ t: 'ok', s: message.s, r: { startSeq: 1, startGroupSeq: 1, ...r } }]
          : undefined,
      );
    const dialer = new FakeDialer();
    dialer.setup = answer({ fseq: 10 });
    const bus = await connectWith(dialer);
    const sub = await bus.join(group);
    const gaps: SubscriptionGap[] = [];
    sub.on('gap', (gap) => gaps.push(gap));
    sub.on('x', () => {});
    dialer.current.signal(group, 'x', 'a', { fseq: 500 });
    await bus.ping();

    // The stream was created again: its sequence is at 7, below the 500 the app got.
    dialer.setup = answer({ fseq: 7, missedTo: 7 });
    let reconnected = next((handler) => bus.on('reconnected', handler));
    dialer.drop();
    await reconnected;
    expect(dialer.current.all('join')[0]?.message).toMatchObject({ g: group, fseq: 500 });
    await settle();
    expect(gaps).toMatchObject([{ lastFseq: 500, startFseq: 8 }]);

    dialer.setup = answer({ fseq: 9 });
    reconnected = next((handler) => bus.on('reconnected', handler));
    dialer.drop();
    await reconnected;
    // From the new stream's point, not from 500: what follows 7 is replayed.
    expect(dialer.current.all('join')[0]?.message).toMatchObject({ g: group, fseq: 7 });
    await bus.close();
  });

  it('closes a group it cannot create again, telling why on its error event', async () => {
    const dialer = new FakeDialer();
    const bus = await connectWith(dialer);
    const group = await bus.createGroup(Own, { sendToPeer: true });
    const errors: ChorusError[] = [];
    group.on('error', (error) => errors.push(error));
    dialer.setup = (daemon) =>
      daemon.respond('create', ({ message }) => [
        { t: 'err', s: 's' in message ? message.s : undefined, code: ErrorCode.GROUP_EXISTS, msg: 'taken' },
      ]);
    const reconnected = next((handler) => bus.on('reconnected', handler));
    dialer.drop();
    await reconnected;
    expect(errors.map((error) => error.code)).toEqual([ErrorCode.GROUP_EXISTS]);
    expect(group.closedReason).toBe('owner-left');
    expect(group.inbox?.ended).toBe(true);
    await bus.close();
  });

  it('joins one by one when the hello is refused for its joins, and waits for a group not created again yet', async () => {
    const dialer = new FakeDialer();
    const bus = await connectWith(dialer);
    const sub = await bus.join('org.example.G', { filter: { signal: 'x' } });
    sub.on('x', () => undefined);
    let refusals = 2;
    dialer.setup = (daemon) => {
      daemon.respond('hello', (received, d) => {
        if (received.message.t === 'hello' && received.message.join !== undefined) {
          return [{ t: 'err', code: ErrorCode.UNKNOWN_GROUP, msg: 'no such group', fatal: true }];
        }
        return d.answer(received);
      });
      daemon.respond('join', (received, d) => {
        if (refusals-- > 0 && 's' in received.message) {
          return [{ t: 'err', s: received.message.s, code: ErrorCode.UNKNOWN_GROUP, msg: 'not yet' }];
        }
        return d.answer(received);
      });
    };
    const busGap = next<[BusGap]>((handler) => bus.on('gap', handler));
    const subGap = next<[SubscriptionGap]>((handler) => sub.on('gap', handler));
    dialer.drop();
    const [gap] = await busGap;
    expect(gap.pending).toEqual(['org.example.G']);
    expect(gap.groups).toEqual([]);
    const [joined] = await subGap;
    expect(joined).toMatchObject({ group: 'org.example.G', reason: 'reconnected' });
    const refused = dialer.daemons[1];
    const accepted = dialer.current;
    expect(refused?.received[0]?.message).toMatchObject({ t: 'hello', join: [{ g: 'org.example.G' }] });
    expect(log(accepted)).toEqual([
      'hello',
      'join org.example.G',
      'join org.example.G',
      'join org.example.G',
    ]);
    expect(accepted.received[0]?.message).not.toHaveProperty('join');
    expect(accepted.all('join')[2]?.message).toMatchObject({ f: [{ sig: 'x' }] });
    expect(sub.ended).toBe(false);
    await bus.close();
  });

  it('gives up after maxAttempts: everything ends with CONNECTION_CLOSED, as without reconnecting', async () => {
    const dialer = new FakeDialer();
    const bus = await connectWith(dialer, { reconnect: { ...FAST, maxAttempts: 3 } });
    const sub = await bus.join('org.example.G');
    const iteration = rejection(sub[Symbol.asyncIterator]().next());
    const attempts: number[] = [];
    bus.on('reconnecting', (attempt) => attempts.push(attempt));
    const failed = next<[ChorusError]>((handler) => bus.on('reconnectFailed', handler));
    dialer.down = new Error('connect ECONNREFUSED');
    dialer.drop();
    const waiting = rejection(bus.ping());
    const [error] = await failed;
    expect(attempts).toEqual([1, 2, 3]);
    expect(dialer.dials).toBe(4);
    expect(error).toMatchObject({ code: 'CONNECTION_CLOSED', cause: { code: 'CONNECT_FAILED' } });
    expect(await bus.closed).toBe(error);
    expect((await waiting).code).toBe('CONNECTION_CLOSED');
    expect((await iteration).code).toBe('CONNECTION_CLOSED');
    expect((await rejection(bus.ping())).code).toBe('CONNECTION_CLOSED');
  });

  it.each([ErrorCode.VERSION_MISMATCH, ErrorCode.NOT_PERMITTED])(
    'does not try again after a hello refused with %s',
    async (code) => {
      const dialer = new FakeDialer();
      const bus = await connectWith(dialer);
      dialer.setup = (daemon) =>
        daemon.respond('hello', () => [{ t: 'err', code, msg: 'refused', fatal: true }]);
      const failed = next<[ChorusError]>((handler) => bus.on('reconnectFailed', handler));
      dialer.drop();
      const [error] = await failed;
      expect(error).toMatchObject({ code: 'CONNECTION_CLOSED', cause: { code } });
      expect(dialer.dials).toBe(2);
    },
  );

  it('reconnects after a bye and after an eviction, not after close()', async () => {
    const dialer = new FakeDialer();
    const bus = await connectWith(dialer);
    const reasons: string[] = [];
    bus.on('disconnected', (error) => reasons.push(error.code));
    let reconnected = next((handler) => bus.on('reconnected', handler));
    dialer.current.send({ t: 'bye', reason: 'bus is shutting down' });
    await reconnected;
    reconnected = next((handler) => bus.on('reconnected', handler));
    dialer.current.send({ t: 'err', code: ErrorCode.SLOW_CONSUMER, msg: 'too slow', fatal: true });
    await reconnected;
    expect(reasons).toEqual(['CONNECTION_CLOSED', ErrorCode.SLOW_CONSUMER]);
    await bus.close();
    await settle();
    expect(dialer.dials).toBe(3);
    expect(await bus.closed).toBeUndefined();
  });

  it('stops when closed while reconnecting: what waits fails, closed resolves with undefined', async () => {
    const dialer = new FakeDialer();
    const bus = await connectWith(dialer, { reconnect: { initialDelayMs: 5, maxDelayMs: 5 } });
    const sub = await bus.join('org.example.G');
    dialer.down = new Error('connect ECONNREFUSED');
    const reconnecting = next((handler) => bus.on('reconnecting', handler));
    dialer.drop();
    await reconnecting;
    const waiting = rejection(bus.ping());
    await bus.close();
    expect((await waiting).code).toBe('CONNECTION_CLOSED');
    expect(await bus.closed).toBeUndefined();
    expect(sub.ended).toBe(true);
    const dials = dialer.dials;
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(dialer.dials).toBe(dials);
  });

  it('with reconnect: false, or a transport given as an object, ends as before', async () => {
    const dialer = new FakeDialer();
    const off = await connectWith(dialer, { reconnect: false });
    const events: string[] = [];
    off.on('disconnected', () => events.push('disconnected'));
    dialer.drop();
    expect(await off.closed).toMatchObject({ code: 'CONNECTION_CLOSED' });

    const given = await dialer.transport();
    const daemon = dialer.current;
    const fixed = await connect({ transport: given });
    daemon.transport.destroy();
    expect(await fixed.closed).toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(events).toEqual([]);
    expect(dialer.dials).toBe(2);
  });

  it('a monitor watches again, and reports its gap', async () => {
    const dialer = new FakeDialer();
    const bus = await connectWith(dialer, { monitor: { groups: ['org.example.G'] } });
    const monitor = bus.monitor;
    const gaps: SubscriptionGap[] = [];
    monitor?.on('gap', (gap) => gaps.push(gap));
    const iterator = monitor?.[Symbol.asyncIterator]();
    const first = iterator?.next();
    const last = dialer.current.signal('org.example.G', 'x', 1);
    await bus.ping();
    const reconnected = next((handler) => bus.on('reconnected', handler));
    dialer.drop();
    await reconnected;
    expect(log(dialer.current)).toEqual(['hello', 'monitor']);
    expect(dialer.current.all('monitor')[0]?.message).toMatchObject({ g: ['org.example.G'] });
    expect(gaps).toEqual([
      {
        group: '*',
        lastSeq: last.seq,
        lastGroupSeq: undefined,
        startSeq: 1,
        startGroupSeq: 0,
        reason: 'reconnected',
      },
    ]);
    expect((await first)?.value?.meta.seq).toBe(last.seq);
    expect(bus.monitor).toBe(monitor);
    await bus.close();
  });
});
