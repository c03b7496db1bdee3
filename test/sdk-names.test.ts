/*
 * The SDK's well-known names and the bus's own interface against the real daemon (in this
 * process): requestName/releaseName results, NameAcquired/NameLost without a membership,
 * waitForName (race-free), the wrappers. Moved from packages/client/src/names.test.ts, which ran
 * them against a second implementation of the name queue; what only a scripted peer can do
 * (answers a real daemon never gives) stays there.
 */

import { BUS_NAME, BusContract, BusError, ErrorCode, type SignalMeta } from '@chorus/client';
import { decodePayload } from '@chorus/protocol';
import { describe, expect, it } from 'vitest';
import { rejection } from './harness/errors.js';
import { inProcessDaemon } from './harness/in-process.js';
import { settle } from './harness/wait.js';

const NAME = 'org.example.Battery';

describe('requestName and releaseName', () => {
  it('answer as D-Bus does, and queued owners take over in order', async () => {
    const daemon = inProcessDaemon();
    const a = await daemon.connect();
    const b = await daemon.connect();
    const c = await daemon.connect();
    expect(await a.bus.requestName(NAME)).toBe('primary-owner');
    expect(await a.bus.requestName(NAME)).toBe('already-owner');
    expect(await b.bus.requestName(NAME)).toBe('in-queue');
    expect(await c.bus.requestName(NAME, { doNotQueue: true })).toBe('exists');
    expect(await c.bus.releaseName(NAME)).toBe('not-owner');
    expect(await c.bus.releaseName('org.example.Nothing')).toBe('non-existent');
    expect(await c.bus.getNameOwner(NAME)).toBe(a.bus.name);
    expect(await c.bus.listNames()).toEqual([{ name: NAME, owner: a.bus.name, queue: [b.bus.name] }]);
    expect(await a.bus.releaseName(NAME)).toBe('released');
    expect(await c.bus.getNameOwner(NAME)).toBe(b.bus.name);
  });

  it('doNotQueue takes a waiting connection out of the queue (as the real NameRegistry does)', async () => {
    const daemon = inProcessDaemon();
    const a = await daemon.connect();
    const b = await daemon.connect();
    await a.bus.requestName(NAME);
    expect(await b.bus.requestName(NAME)).toBe('in-queue');
    expect(await b.bus.requestName(NAME, { doNotQueue: true })).toBe('exists');
    expect(await a.bus.listNames()).toEqual([{ name: NAME, owner: a.bus.name, queue: [] }]);
  });

  it('send the flags only when given, as RequestName input', async () => {
    const { bus, link } = await inProcessDaemon().connect();
    await bus.requestName(NAME);
    await bus.requestName('org.example.Other', { allowReplacement: true, doNotQueue: false });
    const [first, second] = link.all('call');
    expect(first?.message).toMatchObject({ t: 'call', dest: BUS_NAME, m: 'RequestName', g: BUS_NAME });
    expect(decodePayload(first?.payload ?? new Uint8Array())).toEqual({ name: NAME });
    expect(decodePayload(second?.payload ?? new Uint8Array())).toEqual({
      name: 'org.example.Other',
      flags: { allowReplacement: true, doNotQueue: false },
    });
  });

  it('reject a name the daemon refuses with its BusError (INVALID_NAME)', async () => {
    const { bus } = await inProcessDaemon().connect();
    const error = await rejection(bus.requestName(':1.9'));
    expect(error).toBeInstanceOf(BusError);
    expect(error.code).toBe(ErrorCode.INVALID_NAME);
  });

  it('replaceExisting takes a name whose owner allowed it; the old owner waits first in the queue', async () => {
    const daemon = inProcessDaemon();
    const a = await daemon.connect();
    const b = await daemon.connect();
    await a.bus.requestName(NAME, { allowReplacement: true });
    expect(await b.bus.requestName(NAME, { replaceExisting: true })).toBe('primary-owner');
    expect(await a.bus.getNameOwner(NAME)).toBe(b.bus.name);
    expect(await a.bus.listNames()).toEqual([{ name: NAME, owner: b.bus.name, queue: [a.bus.name] }]);
  });

  it('a replaced owner that asked doNotQueue leaves instead of waiting', async () => {
    const daemon = inProcessDaemon();
    const a = await daemon.connect();
    const b = await daemon.connect();
    await a.bus.requestName(NAME, { allowReplacement: true, doNotQueue: true });
    expect(await b.bus.requestName(NAME, { replaceExisting: true })).toBe('primary-owner');
    expect(await a.bus.listNames()).toEqual([{ name: NAME, owner: b.bus.name, queue: [] }]);
  });
});

describe('NameAcquired and NameLost', () => {
  it('reach the connection concerned without a membership, before the reply', async () => {
    const daemon = inProcessDaemon();
    const a = await daemon.connect();
    const b = await daemon.connect();
    const events: string[] = [];
    a.bus.on('nameAcquired', (name, meta: SignalMeta) => events.push(`acquired ${name} from ${meta.sender}`));
    a.bus.on('nameLost', (name) => events.push(`lost ${name}`));
    const errors: unknown[] = [];
    a.bus.on('error', (error) => errors.push(error));
    await a.bus.requestName(NAME, { allowReplacement: true });
    expect(events).toEqual([`acquired ${NAME} from ${BUS_NAME}`]);
    await b.bus.requestName(NAME, { replaceExisting: true });
    await a.bus.ping();
    expect(events).toEqual([`acquired ${NAME} from ${BUS_NAME}`, `lost ${NAME}`]);
    expect(errors).toEqual([]);
  });

  it('go into a membership of org.chorus.Bus only when its filters let them through', async () => {
    const a = await inProcessDaemon().connect();
    const changes = await a.bus.join(BusContract, { filter: { signal: 'NameOwnerChanged' } });
    const seen: string[] = [];
    changes.on('NameOwnerChanged', ({ name, oldOwner, newOwner }) =>
      seen.push(`${name} ${oldOwner} ${newOwner}`),
    );
    changes.on('NameAcquired', () => seen.push('acquired in the membership'));
    let acquired = 0;
    a.bus.on('nameAcquired', () => acquired++);
    await a.bus.requestName(NAME);
    await settle();
    expect(seen).toEqual([`${NAME} null ${a.bus.name}`]);
    expect(acquired).toBe(1);
    await changes.leave();

    const all = await a.bus.join(BusContract);
    const signals: string[] = [];
    for (const signal of ['NameOwnerChanged', 'NameAcquired'] as const)
      all.on(signal, () => signals.push(signal));
    await a.bus.requestName('org.example.Second');
    await settle();
    expect(signals).toEqual(['NameOwnerChanged', 'NameAcquired']);
  });
});

describe('waitForName', () => {
  it('resolves at once when the name has an owner, joining before asking and leaving after', async () => {
    const daemon = inProcessDaemon();
    const owner = await daemon.connect();
    const { bus, link } = await daemon.connect();
    await owner.bus.requestName(NAME);
    expect(await bus.waitForName(NAME)).toBe(owner.bus.name);
    await settle();
    const order = link.received.map(({ message }) =>
      message.t === 'call' ? `call ${message.m}` : message.t,
    );
    expect(order).toEqual(['hello', 'join', 'call GetNameOwner', 'leave']);
    expect(link.all('join')[0]?.message).toMatchObject({ g: BUS_NAME, f: [{ sig: 'NameOwnerChanged' }] });
  });

  it('is race-free: an owner appearing between the join and GetNameOwner is not missed', async () => {
    const daemon = inProcessDaemon();
    const owner = await daemon.connect();
    let appeared = false;
    // The owner appears right after whichever of join and GetNameOwner the daemon sees first (by
    // the real engine, between two frames of the waiter). Asking first and joining after would see
    // no owner and then miss the signal (not yet a member).
    const { bus, link } = await daemon.connect();
    link.afterFrame = ({ message }) => {
      if (appeared || (message.t !== 'join' && message.t !== 'call')) return;
      appeared = true;
      daemon.daemon.engine.requestName(owner.link.session.id, NAME);
    };
    expect(await bus.waitForName(NAME, { timeoutMs: 2000 })).toBe(owner.bus.name);
  });

  it('resolves on NameOwnerChanged when the owner comes later', async () => {
    const daemon = inProcessDaemon();
    const { bus, link } = await daemon.connect();
    const waiting = bus.waitForName(NAME, { timeoutMs: 2000 });
    await link.take('call');
    await settle();
    const owner = await daemon.connect();
    await owner.bus.requestName(NAME);
    expect(await waiting).toBe(owner.bus.name);
  });

  it('times out and aborts, leaving the watch', async () => {
    const { bus, link } = await inProcessDaemon().connect();
    expect(await rejection(bus.waitForName(NAME, { timeoutMs: 10 }))).toMatchObject({ code: 'TIMEOUT' });
    const controller = new AbortController();
    const aborted = bus.waitForName(NAME, { signal: controller.signal });
    await link.take('call');
    await link.take('call');
    controller.abort();
    expect(await rejection(aborted)).toMatchObject({ code: 'ABORTED' });
    await settle();
    expect(link.all('join')).toHaveLength(2);
    expect(link.all('leave')).toHaveLength(2);
    expect(await rejection(bus.waitForName(NAME, { signal: AbortSignal.abort() }))).toMatchObject({
      code: 'ABORTED',
    });
  });

  it('shares one membership between concurrent waiters', async () => {
    const daemon = inProcessDaemon();
    const { bus, link } = await daemon.connect();
    const first = bus.waitForName('org.example.A', { timeoutMs: 2000 });
    const second = bus.waitForName('org.example.B', { timeoutMs: 2000 });
    await link.take('call');
    await link.take('call');
    const owner = await daemon.connect();
    await owner.bus.requestName('org.example.B');
    expect(await second).toBe(owner.bus.name);
    await owner.bus.requestName('org.example.A');
    expect(await first).toBe(owner.bus.name);
    await settle();
    expect(link.all('join')).toHaveLength(1);
    expect(link.all('leave')).toHaveLength(1);
  });

  it("uses the app's own membership of org.chorus.Bus when it lets the change through", async () => {
    const daemon = inProcessDaemon();
    const { bus, link } = await daemon.connect();
    const sub = await bus.join(BusContract);
    const waiting = bus.waitForName(NAME);
    await link.take('call');
    const owner = await daemon.connect();
    await owner.bus.requestName(NAME);
    expect(await waiting).toBe(owner.bus.name);
    expect(link.all('join')).toHaveLength(1);
    await sub.leave();
    await bus.join(BusContract, { filter: { signal: 'NameLost' } });
    expect(await rejection(bus.waitForName(NAME))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses an app join of org.chorus.Bus while waiters hold the membership', async () => {
    const { bus, link } = await inProcessDaemon().connect();
    const controller = new AbortController();
    const waiting = bus.waitForName(NAME, { signal: controller.signal });
    await link.take('call');
    expect(await rejection(bus.join(BusContract))).toMatchObject({ code: ErrorCode.ALREADY_MEMBER });
    controller.abort();
    await waiting.catch(() => undefined);
    // Once the waiters are gone (and the leave answered), the app may join.
    await bus.join(BusContract);
  });

  it('rejects when the connection ends while waiting', async () => {
    const { bus, link } = await inProcessDaemon().connect();
    const waiting = bus.waitForName(NAME);
    await link.take('call');
    await settle();
    await link.transport.close();
    expect(await rejection(waiting)).toMatchObject({ code: 'CONNECTION_CLOSED' });
  });
});

describe("the bus's own methods", () => {
  it('list groups, connections and names, give a schema and the stats', async () => {
    const { bus } = await inProcessDaemon().connect({ client: 'tool' });
    await bus.createGroup('org.example.Logs', { emitters: 'owner' });
    expect((await bus.listGroups()).filter((g) => g.name !== BUS_NAME)).toEqual([
      {
        name: 'org.example.Logs',
        owner: bus.name,
        members: 0,
        // Every option with its value, `validate` (issue 14: the bus checks emits) included.
        options: {
          emitters: 'owner',
          loopback: false,
          sendToPeer: false,
          onFull: 'block',
          retain: false,
          validate: true,
        },
        schema: null,
        seq: 0,
      },
    ]);
    expect(await bus.listConnections()).toEqual([
      {
        name: bus.name,
        transport: 'unix',
        identity: 'owner',
        groups: [],
        owned: ['org.example.Logs'],
        names: [],
        queuedBytes: 0,
        monitor: false,
        pendingCalls: 0,
        // In process, over a memory transport: no socket, so no process or address to tell;
        // the name the client declared is given as declared.
        pid: null,
        uid: null,
        command: null,
        remote: null,
        client: 'tool',
      },
    ]);
    expect(await bus.getGroupSchema('org.example.Logs')).toBeNull();
    expect(await rejection(bus.getGroupSchema('org.example.Nope'))).toMatchObject({
      code: ErrorCode.UNKNOWN_GROUP,
    });
    // One error answered: the UNKNOWN_GROUP just above (every refused request is counted).
    expect(await bus.getStats()).toMatchObject({ total: { messages: 0, errors: 1 }, connections: 1 });
    expect(await bus.call(BusContract, 'ListNames', {})).toEqual({ names: [] });
  });

  it('answer UNKNOWN_METHOD for a method the bus does not have', async () => {
    const { bus } = await inProcessDaemon().connect();
    expect(await rejection(bus.call(BUS_NAME, 'Reboot', {}))).toMatchObject({
      code: ErrorCode.UNKNOWN_METHOD,
    });
  });
});
