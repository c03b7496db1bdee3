import { rm } from 'node:fs/promises';
import {
  type Bus,
  type ChorusError,
  connect,
  defineGroup,
  type SignalMeta,
  type SubscriptionGap,
  z,
} from '@chorus/client';
import { afterEach, expect, it } from 'vitest';
import { type RunningDaemon, startDaemon } from '../harness/daemon.js';

// Issue 11, item 10: under `groupsRequireName` only the primary owner of a name may create groups
// under it, but the SDK's restore after a reconnection created its groups before it requested its
// names again. The restarted daemon refused every create (NOT_PERMITTED), the service's groups
// closed, its emits failed UNKNOWN_GROUP, and its subscribers tried to join again forever. The
// restore must request the names first, then create the groups, then join the memberships (those
// of its own groups included, which exist only once created again).

const RECONNECT = { initialDelayMs: 20, maxDelayMs: 200 };
const config = { policy: { groupsRequireName: true } };

const Service = defineGroup('test.issue11.Restore', {
  signals: { Level: z.object({ percent: z.number() }) },
});
// A group under the service's name, which anyone may emit into and the service itself joins.
const Logs = defineGroup('test.issue11.Restore.Logs', {
  signals: { Line: z.object({ text: z.string() }) },
});

const daemons: RunningDaemon[] = [];
const buses: Bus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
  const dirs = new Set(daemons.map((daemon) => daemon.dir));
  await Promise.all(daemons.splice(0).map((daemon) => daemon.kill()));
  await Promise.all([...dirs].map((dir) => rm(dir, { recursive: true, force: true })));
});

async function start(dir?: string): Promise<RunningDaemon> {
  const daemon = await startDaemon(dir === undefined ? { config } : { config, dir });
  daemons.push(daemon);
  return daemon;
}

async function open(daemon: RunningDaemon, client: string): Promise<Bus> {
  const bus = await connect({ address: daemon.address, client, reconnect: RECONNECT });
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

/** Resolves once `items` has `count` entries (the handlers push to it). */
async function until(items: readonly unknown[], count: number): Promise<void> {
  while (items.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
}

it.each(['SIGKILL', 'SIGTERM'] as const)(
  '%s, restart: the service gets its name, then its groups and its own membership back, and its emits reach the subscriber',
  async (signal) => {
    const daemon = await start();
    const service = await open(daemon, 'service');
    expect(await service.requestName(Service.name)).toBe('primary-owner');
    const group = await service.createGroup(Service);
    const logs = await service.createGroup(Logs, { emitters: 'anyone' });
    const ownSub = await service.join(Logs);
    const lines: string[] = [];
    ownSub.on('Line', ({ text }) => lines.push(text));
    const groupErrors: ChorusError[] = [];
    for (const g of [group, logs]) g.on('error', (error) => groupErrors.push(error));

    const subscriber = await open(daemon, 'subscriber');
    const sub = await subscriber.join(Service);
    const levels: { percent: number; meta: SignalMeta }[] = [];
    sub.on('Level', ({ percent }, meta) => levels.push({ percent, meta }));
    await group.emit('Level', { percent: 1 });
    await until(levels, 1);

    const rejoined = next<[SubscriptionGap]>((handler) => sub.on('gap', handler));
    const ownRejoined = next<[SubscriptionGap]>((handler) => ownSub.on('gap', handler));
    const serviceBack = next<[string]>((handler) => service.on('reconnected', handler));
    const nameBack = next<[string, unknown, unknown]>((handler) => service.on('nameRequest', handler));
    if (signal === 'SIGKILL') await daemon.kill();
    else expect(await daemon.stop()).toBe(0);
    await start(daemon.dir);

    await serviceBack;
    expect(await nameBack).toEqual([Service.name, 'primary-owner', undefined]);
    // Created again, as the owner of the name: nothing refused, nothing closed.
    expect(groupErrors.map((error) => error.code)).toEqual([]);
    expect(group.closedReason).toBeUndefined();
    expect(logs.closedReason).toBeUndefined();
    // Its membership of its own group was joined again once the group existed.
    expect((await ownRejoined)[0]).toMatchObject({ group: Logs.name, reason: 'reconnected' });
    // The subscriber waits for the group to exist again, then joins it.
    expect((await rejoined)[0]).toMatchObject({ group: Service.name, reason: 'reconnected' });
    const me = (await service.listConnections()).find((c) => c.name === service.name);
    expect(me).toMatchObject({ names: [Service.name], groups: [Logs.name] });
    expect([...(me?.owned ?? [])].sort()).toEqual([Service.name, Logs.name].sort());

    // The service's emits succeed again and reach the subscriber, in order.
    for (const percent of [2, 3]) expect((await group.emit('Level', { percent })).recipients).toBe(1);
    await until(levels, 3);
    expect(levels.map((l) => l.percent)).toEqual([1, 2, 3]);
    expect(levels[2]?.meta.seq).toBeGreaterThan(levels[1]?.meta.seq ?? Number.POSITIVE_INFINITY);
    // And what others emit into its own group reaches its membership.
    await subscriber.emit(Logs, 'Line', { text: 'after the restart' });
    await until(lines, 1);
    expect(lines).toEqual(['after the restart']);
  },
  20_000,
);
