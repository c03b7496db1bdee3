import { rm } from 'node:fs/promises';
import {
  type Bus,
  type BusGap,
  type ChorusError,
  ClientErrorCode,
  type ConnectionClosedError,
  connect,
  connectUnix,
  defineGroup,
  type Subscription,
  type SubscriptionGap,
  z,
} from '@chorus/client';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningDaemon, startDaemon } from './harness/daemon.js';

// Issue 7, §3 Faults: the daemon restarts while SDK clients are connected. The SDK reconnects
// with backoff, creates its groups again, requests its names again, goes on serving its methods,
// joins its subscriptions again and tells the application what it missed (gap events), with
// nothing delivered twice. The clients come back in any order: a subscriber may be back before
// the owner of its group, and then waits for the group (the gap comes once joined).

// Short delays, so the test does not wait long for the daemon to be back.
const RECONNECT = { initialDelayMs: 20, maxDelayMs: 200 };

let groups = 0;
function battery() {
  return defineGroup(`test.reconnect.Battery${++groups}`, {
    signals: { LevelChanged: z.object({ percent: z.number() }), Unplugged: z.undefined() },
    methods: { GetLevel: { input: z.object({}), output: z.object({ percent: z.number() }) } },
  });
}

const daemons: RunningDaemon[] = [];
const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
  const dirs = new Set(daemons.map((daemon) => daemon.dir));
  await Promise.all(daemons.splice(0).map((daemon) => daemon.kill()));
  await Promise.all([...dirs].map((dir) => rm(dir, { recursive: true, force: true })));
});

async function start(dir?: string): Promise<RunningDaemon> {
  const daemon = await startDaemon(dir === undefined ? {} : { dir });
  daemons.push(daemon);
  return daemon;
}

async function open(daemon: RunningDaemon, options: Parameters<typeof connect>[0] = {}): Promise<Bus> {
  const bus = await connect({ address: daemon.address, reconnect: RECONNECT, ...options });
  buses.push(bus);
  return bus;
}

/** Resolves with the arguments of the next event `subscribe` delivers. */
function next<TArgs extends unknown[]>(subscribe: (handler: (...args: TArgs) => void) => () => void) {
  return new Promise<TArgs>((resolve) => {
    const off = subscribe((...args) => {
      off();
      resolve(args);
    });
  });
}

type Seen = { percent: number; seq: number; groupSeq: number } | { gap: SubscriptionGap };

/** Everything a subscription delivers, messages and gaps, in order. */
function record(sub: Subscription<ReturnType<typeof battery>>): Seen[] {
  const seen: Seen[] = [];
  sub.on('LevelChanged', ({ percent }, meta) =>
    seen.push({ percent, seq: meta.seq, groupSeq: meta.groupSeq }),
  );
  sub.on('Unplugged', (_payload, meta) => seen.push({ percent: -1, seq: meta.seq, groupSeq: meta.groupSeq }));
  sub.on('gap', (gap) => seen.push({ gap }));
  return seen;
}

/**
 * A service (group owner, name owner, serving GetLevel), a subscriber with a filter and an
 * autojoined one, with three levels delivered to both.
 */
async function world(daemon: RunningDaemon) {
  const Battery = battery();
  let level = 3;
  // The service dials through a gate the test can hold shut, to decide who is back first.
  const gate = { dial: Promise.resolve() };
  const service = await open(daemon, {
    client: 'service',
    transport: async (address, signal) => {
      await gate.dial;
      if (address.kind !== 'unix') throw new Error('a unix address was expected');
      return connectUnix(address.path, { signal });
    },
  });
  service.serve(Battery, { GetLevel: () => ({ percent: level }) });
  expect(await service.requestName(Battery.name)).toBe('primary-owner');
  const group = await service.createGroup(Battery, { emitters: 'owner' });
  const filtered = await open(daemon, { client: 'filtered' });
  const filteredSub = await filtered.join(Battery, { filter: { signal: 'LevelChanged' } });
  const autojoined = await open(daemon, { client: 'autojoined', join: [Battery] });
  const autojoinedSub = await autojoined.join(Battery);
  const seen = { filtered: record(filteredSub), autojoined: record(autojoinedSub) };
  for (const percent of [1, 2, 3]) await group.emit('LevelChanged', { percent });
  await group.emit('Unplugged');
  await Promise.all([filtered.ping(), autojoined.ping()]);
  return {
    Battery,
    gate,
    service,
    group,
    filtered,
    autojoined,
    subs: { filtered: filteredSub, autojoined: autojoinedSub },
    seen,
    setLevel(percent: number) {
      level = percent;
    },
  };
}

/** The gaps a subscription will report, and the bus's `reconnected`, armed before the loss. */
function armed(w: Awaited<ReturnType<typeof world>>) {
  return {
    reconnected: Promise.all(
      [w.service, w.filtered, w.autojoined].map((bus) =>
        next<[string]>((handler) => bus.on('reconnected', handler)),
      ),
    ),
    gaps: Promise.all(
      [w.subs.filtered, w.subs.autojoined].map((sub) =>
        next<[SubscriptionGap]>((handler) => sub.on('gap', handler)),
      ),
    ),
  };
}

/** After the reconnection: the group, the name and the method are back, and new signals flow. */
async function expectRestored(w: Awaited<ReturnType<typeof world>>) {
  const { Battery, service, group } = w;
  // The restarted daemon numbers its connections from 1 again: a new name may equal an old one,
  // but each is the name of its connection on the new daemon.
  const connections = await w.filtered.listConnections();
  expect(connections.find((c) => c.name === service.name)).toMatchObject({
    owned: [Battery.name],
    names: [Battery.name],
  });
  expect(connections.find((c) => c.name === w.filtered.name)).toMatchObject({ groups: [Battery.name] });
  expect(connections.find((c) => c.name === w.autojoined.name)).toMatchObject({ groups: [Battery.name] });
  const info = (await w.autojoined.listGroups()).find((g) => g.name === Battery.name);
  expect(info).toMatchObject({ owner: service.name, members: 2, options: { emitters: 'owner' } });
  expect(await w.filtered.getNameOwner(Battery.name)).toBe(service.name);
  w.setLevel(77);
  expect(await w.autojoined.call(Battery, 'GetLevel', {})).toEqual({ percent: 77 });
  expect(group.closedReason).toBeUndefined();
  const sent = [];
  for (const percent of [4, 5]) sent.push(await group.emit('LevelChanged', { percent }));
  sent.push(await group.emit('Unplugged'));
  expect(sent.map((ack) => ack.recipients)).toEqual([2, 2, 1]);
  await Promise.all([w.filtered.ping(), w.autojoined.ping()]);
  return sent;
}

/** Old messages, then the gap (with the numbers around it), then the new ones: nothing twice. */
function expectGapBetween(
  seen: Seen[],
  sub: Pick<Subscription, 'group' | 'startSeq' | 'startGroupSeq'>,
  old: number[],
  fresh: number[],
) {
  const at = seen.findIndex((entry) => 'gap' in entry);
  expect(at).toBe(old.length);
  expect(seen.filter((entry) => 'gap' in entry)).toHaveLength(1);
  const before = seen.slice(0, at) as Extract<Seen, { percent: number }>[];
  const after = seen.slice(at + 1) as Extract<Seen, { percent: number }>[];
  const { gap } = seen[at] as { gap: SubscriptionGap };
  expect(before.map((m) => m.percent)).toEqual(old);
  expect(after.map((m) => m.percent)).toEqual(fresh);
  const last = before.at(-1);
  expect(gap).toEqual({
    group: sub.group,
    lastSeq: last?.seq,
    lastGroupSeq: last?.groupSeq,
    startSeq: sub.startSeq,
    startGroupSeq: sub.startGroupSeq,
    reason: 'reconnected',
  });
  // Joined before the owner emitted anything into the group created again: nothing missed after.
  expect(gap.startGroupSeq).toBe(1);
  expect(after[0]?.groupSeq).toBe(1);
  for (const message of after) expect(message.seq).toBeGreaterThanOrEqual(gap.startSeq);
}

describe('the daemon restarted under connected SDK clients', () => {
  it('SIGKILL: the clients reconnect, restore groups, names, methods and memberships, and report the gaps', async () => {
    const daemon = await start();
    const w = await world(daemon);
    const { reconnected, gaps } = armed(w);
    let letServiceIn = (): void => undefined;
    w.gate.dial = new Promise((resolve) => {
      letServiceIn = resolve;
    });
    const subscribersBack = [w.filtered, w.autojoined].map((bus) =>
      next<[BusGap]>((handler) => bus.on('gap', handler)),
    );
    const lost: ChorusError[] = [];
    for (const bus of [w.service, w.filtered, w.autojoined])
      bus.on('disconnected', (error) => lost.push(error));
    const nameRequest = next<[string, unknown, unknown]>((handler) => w.service.on('nameRequest', handler));
    const lastSeen = w.seen.autojoined.at(-1) as { seq: number };

    await daemon.kill();
    await start(daemon.dir);
    // The subscribers are back before the owner of their group: connected, but not in the group
    // yet (it does not exist), so no gap yet; they keep trying to join.
    const back = await Promise.all(subscribersBack);
    for (const [gap] of back) {
      expect(gap).toMatchObject({ reason: 'reconnected', groups: [], pending: [w.Battery.name] });
    }
    expect(back[1]?.[0].lastSeq).toBe(lastSeen.seq);
    expect(w.seen.filtered.some((entry) => 'gap' in entry)).toBe(false);
    letServiceIn();
    const names = (await reconnected).map(([name]) => name);
    expect(names).toEqual([w.service.name, w.filtered.name, w.autojoined.name]);
    expect(lost.map((error) => error.code)).toEqual(Array(3).fill(ClientErrorCode.CONNECTION_CLOSED));
    expect(await nameRequest).toEqual([w.Battery.name, 'primary-owner', undefined]);
    await gaps;

    await expectRestored(w);
    expectGapBetween(w.seen.filtered, w.subs.filtered, [1, 2, 3], [4, 5]);
    expectGapBetween(w.seen.autojoined, w.subs.autojoined, [1, 2, 3, -1], [4, 5, -1]);
    expect(w.subs.filtered.ended).toBe(false);
    expect(w.subs.autojoined.ended).toBe(false);
  });

  it('SIGTERM: the clients get the bye, keep trying while the daemon is down, and reconnect when it is back', async () => {
    const daemon = await start();
    const w = await world(daemon);
    const { reconnected, gaps } = armed(w);
    const lost = next<[ChorusError]>((handler) => w.service.on('disconnected', handler));
    const retried = new Promise<ChorusError>((resolve) =>
      w.service.on('reconnecting', (attempt, _delayMs, error) => attempt >= 2 && resolve(error)),
    );

    expect(await daemon.stop()).toBe(0);
    const [bye] = await lost;
    expect(bye).toMatchObject({ code: ClientErrorCode.CONNECTION_CLOSED, reason: expect.any(String) });
    expect((bye as ConnectionClosedError).reason).not.toBe('');
    // The daemon is gone (its socket too): attempts fail, the bus keeps trying, requests wait.
    expect((await retried).code).toBe(ClientErrorCode.CONNECT_FAILED);
    const waiting = w.filtered.ping();
    expect(w.subs.filtered.ended).toBe(false);

    await start(daemon.dir);
    await reconnected;
    await waiting;
    await gaps;
    await expectRestored(w);
    expectGapBetween(w.seen.filtered, w.subs.filtered, [1, 2, 3], [4, 5]);
    expectGapBetween(w.seen.autojoined, w.subs.autojoined, [1, 2, 3, -1], [4, 5, -1]);
  });

  it('reconnect: false keeps the old behaviour: the bus ends with CONNECTION_CLOSED', async () => {
    const daemon = await start();
    const Battery = battery();
    const service = await open(daemon, { reconnect: false });
    const group = await service.createGroup(Battery);
    const app = await open(daemon, { reconnect: false });
    const sub = await app.join(Battery);
    const ended = next((handler) => sub.on('closed', handler));
    const events: string[] = [];
    app.on('disconnected', () => events.push('disconnected'));
    app.on('reconnecting', () => events.push('reconnecting'));

    await daemon.kill();
    expect(await app.closed).toMatchObject({ code: ClientErrorCode.CONNECTION_CLOSED });
    expect(await service.closed).toMatchObject({ code: ClientErrorCode.CONNECTION_CLOSED });
    expect((await ended)[0]).toBe('disconnected');
    expect(group.closedReason).toBe('shutdown');
    await expect(app.ping()).rejects.toMatchObject({ code: ClientErrorCode.CONNECTION_CLOSED });
    expect(events).toEqual([]);
  });
});
