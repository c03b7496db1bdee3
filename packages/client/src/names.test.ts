/*
 * Well-known names and the bus's own interface against the fake hub: requestName/releaseName
 * results, NameAcquired/NameLost without a membership, waitForName (race-free), the wrappers.
 */

import { decodePayload, ErrorCode } from '@chorus/protocol';
import { describe, expect, it } from 'vitest';
import { BUS_NAME, BusContract } from './bus-contract.js';
import { BusError, InvalidReplyError, isChorusError } from './errors.js';
import type { SignalMeta } from './subscription.js';
import { connectToFake, FakeHub, settle } from './testing/fake-daemon.js';

const NAME = 'org.example.Battery';

async function rejection(promise: Promise<unknown>): Promise<Error & { code: string }> {
  try {
    await promise;
  } catch (error) {
    if (isChorusError(error)) return error as never;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('requestName and releaseName', () => {
  it('answer as D-Bus does, and queued owners take over in order', async () => {
    const hub = new FakeHub();
    const a = await hub.connect();
    const b = await hub.connect();
    const c = await hub.connect();
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
    await Promise.all([a.bus.close(), b.bus.close(), c.bus.close()]);
  });

  it('send the flags only when given, as RequestName input', async () => {
    const { bus, daemon } = await connectToFake();
    await bus.requestName(NAME);
    await bus.requestName('org.example.Other', { allowReplacement: true, doNotQueue: false });
    const [first, second] = daemon.all('call');
    expect(first?.message).toMatchObject({ t: 'call', dest: BUS_NAME, m: 'RequestName', g: BUS_NAME });
    expect(decodePayload(first?.payload ?? new Uint8Array())).toEqual({ name: NAME });
    expect(decodePayload(second?.payload ?? new Uint8Array())).toEqual({
      name: 'org.example.Other',
      flags: { allowReplacement: true, doNotQueue: false },
    });
    await bus.close();
  });

  it('reject a name the daemon refuses with its BusError (INVALID_NAME)', async () => {
    const { bus } = await connectToFake();
    const error = await rejection(bus.requestName(':1.9'));
    expect(error).toBeInstanceOf(BusError);
    expect(error.code).toBe(ErrorCode.INVALID_NAME);
    await bus.close();
  });

  it('replaceExisting takes a name whose owner allowed it', async () => {
    const hub = new FakeHub();
    const a = await hub.connect();
    const b = await hub.connect();
    await a.bus.requestName(NAME, { allowReplacement: true });
    expect(await b.bus.requestName(NAME, { replaceExisting: true })).toBe('primary-owner');
    expect(await a.bus.getNameOwner(NAME)).toBe(b.bus.name);
    await Promise.all([a.bus.close(), b.bus.close()]);
  });
});

describe('NameAcquired and NameLost', () => {
  it('reach the connection concerned without a membership, before the reply', async () => {
    const hub = new FakeHub();
    const a = await hub.connect();
    const b = await hub.connect();
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
    await Promise.all([a.bus.close(), b.bus.close()]);
  });

  it('go into a membership of org.chorus.Bus only when its filters let them through', async () => {
    const hub = new FakeHub();
    const a = await hub.connect();
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
    await a.bus.close();
  });
});

describe('waitForName', () => {
  it('resolves at once when the name has an owner, joining before asking and leaving after', async () => {
    const hub = new FakeHub();
    const owner = await hub.connect();
    const { bus, daemon } = await hub.connect();
    await owner.bus.requestName(NAME);
    expect(await bus.waitForName(NAME)).toBe(owner.bus.name);
    await settle();
    const order = daemon.received.map(({ message }) =>
      message.t === 'call' ? `call ${message.m}` : message.t,
    );
    expect(order).toEqual(['hello', 'join', 'call GetNameOwner', 'leave']);
    expect(daemon.all('join')[0]?.message).toMatchObject({ g: BUS_NAME, f: [{ sig: 'NameOwnerChanged' }] });
    await Promise.all([owner.bus.close(), bus.close()]);
  });

  it('is race-free: an owner appearing between the join and GetNameOwner is not missed', async () => {
    const hub = new FakeHub();
    const owner = await hub.connect();
    let appeared = false;
    const appear = (): void => {
      if (appeared) return;
      appeared = true;
      hub.setOwner(NAME, owner.daemon);
    };
    // The owner appears right after whichever of join and GetNameOwner the daemon sees first. Asking
    // first and joining after would see no owner and then miss the signal (not yet a member).
    const { bus } = await hub.connect({}, (d) => {
      d.respond('join', (received, daemon) => {
        const answer = daemon.answer(received);
        queueMicrotask(appear);
        return answer;
      });
      d.respond('call', (received, daemon) => {
        const answer = daemon.answer(received);
        appear();
        return answer;
      });
    });
    expect(await bus.waitForName(NAME, { timeoutMs: 2000 })).toBe(owner.bus.name);
    await Promise.all([owner.bus.close(), bus.close()]);
  });

  it('resolves from the signal even when GetNameOwner answers from a view older than it', async () => {
    const hub = new FakeHub();
    const owner = await hub.connect();
    const { bus } = await hub.connect({}, (d) =>
      d.respond('join', (received, daemon) => {
        const answer = daemon.answer(received);
        queueMicrotask(() => hub.setOwner(NAME, owner.daemon));
        return answer;
      }),
    );
    hub.busMethods.set('GetNameOwner', () => ({ owner: null }));
    expect(await bus.waitForName(NAME, { timeoutMs: 2000 })).toBe(owner.bus.name);
    await Promise.all([owner.bus.close(), bus.close()]);
  });

  it('resolves on NameOwnerChanged when the owner comes later', async () => {
    const hub = new FakeHub();
    const { bus, daemon } = await hub.connect();
    const waiting = bus.waitForName(NAME, { timeoutMs: 2000 });
    await daemon.take('call');
    await settle();
    const owner = await hub.connect();
    await owner.bus.requestName(NAME);
    expect(await waiting).toBe(owner.bus.name);
    await Promise.all([owner.bus.close(), bus.close()]);
  });

  it('times out and aborts, leaving the watch', async () => {
    const { bus, daemon } = await connectToFake();
    expect(await rejection(bus.waitForName(NAME, { timeoutMs: 10 }))).toMatchObject({ code: 'TIMEOUT' });
    const controller = new AbortController();
    const aborted = bus.waitForName(NAME, { signal: controller.signal });
    await daemon.take('call');
    await daemon.take('call');
    controller.abort();
    expect(await rejection(aborted)).toMatchObject({ code: 'ABORTED' });
    await settle();
    expect(daemon.all('join')).toHaveLength(2);
    expect(daemon.all('leave')).toHaveLength(2);
    expect(await rejection(bus.waitForName(NAME, { signal: AbortSignal.abort() }))).toMatchObject({
      code: 'ABORTED',
    });
    await bus.close();
  });

  it('shares one membership between concurrent waiters', async () => {
    const hub = new FakeHub();
    const { bus, daemon } = await hub.connect();
    const first = bus.waitForName('org.example.A', { timeoutMs: 2000 });
    const second = bus.waitForName('org.example.B', { timeoutMs: 2000 });
    await daemon.take('call');
    await daemon.take('call');
    const owner = await hub.connect();
    await owner.bus.requestName('org.example.B');
    expect(await second).toBe(owner.bus.name);
    await owner.bus.requestName('org.example.A');
    expect(await first).toBe(owner.bus.name);
    await settle();
    expect(daemon.all('join')).toHaveLength(1);
    expect(daemon.all('leave')).toHaveLength(1);
    await Promise.all([owner.bus.close(), bus.close()]);
  });

  it("uses the app's own membership of org.chorus.Bus when it lets the change through", async () => {
    const hub = new FakeHub();
    const { bus, daemon } = await hub.connect();
    const sub = await bus.join(BusContract);
    const waiting = bus.waitForName(NAME);
    await daemon.take('call');
    const owner = await hub.connect();
    await owner.bus.requestName(NAME);
    expect(await waiting).toBe(owner.bus.name);
    expect(daemon.all('join')).toHaveLength(1);
    await sub.leave();
    await bus.join(BusContract, { filter: { signal: 'NameLost' } });
    expect(await rejection(bus.waitForName(NAME))).toMatchObject({ code: 'INVALID_ARGUMENT' });
    await Promise.all([owner.bus.close(), bus.close()]);
  });

  it('refuses an app join of org.chorus.Bus while waiters hold the membership', async () => {
    const { bus, daemon } = await connectToFake();
    const controller = new AbortController();
    const waiting = bus.waitForName(NAME, { signal: controller.signal });
    await daemon.take('call');
    expect(await rejection(bus.join(BusContract))).toMatchObject({ code: ErrorCode.ALREADY_MEMBER });
    controller.abort();
    await waiting.catch(() => undefined);
    // Once the waiters are gone (and the leave answered), the app may join.
    await bus.join(BusContract);
    await bus.close();
  });

  it('rejects when the connection ends while waiting', async () => {
    const { bus, daemon } = await connectToFake();
    const waiting = bus.waitForName(NAME);
    await daemon.take('call');
    await settle();
    await daemon.transport.close();
    expect(await rejection(waiting)).toMatchObject({ code: 'CONNECTION_CLOSED' });
  });
});

describe("the bus's own methods", () => {
  it('list groups, connections and names, give a schema and the stats', async () => {
    const hub = new FakeHub();
    const { bus } = await hub.connect({ client: 'tool' });
    await bus.createGroup('org.example.Logs', { emitters: 'owner' });
    expect(await bus.listGroups()).toEqual([
      {
        name: 'org.example.Logs',
        owner: bus.name,
        members: 0,
        options: { emitters: 'owner' },
        schema: null,
        seq: 0,
      },
    ]);
    expect(await bus.listConnections()).toEqual([
      {
        name: bus.name,
        transport: 'memory',
        groups: [],
        owned: ['org.example.Logs'],
        names: [],
        queuedBytes: 0,
        monitor: false,
      },
    ]);
    expect(await bus.getGroupSchema('org.example.Logs')).toBeNull();
    expect(await rejection(bus.getGroupSchema('org.example.Nope'))).toMatchObject({
      code: ErrorCode.UNKNOWN_GROUP,
    });
    expect(await bus.getStats()).toMatchObject({ total: { messages: 0, errors: 0 }, connections: 1 });
    expect(await bus.call(BusContract, 'ListNames', {})).toEqual({ names: [] });
    await bus.close();
  });

  it('validate what the daemon answers (INVALID_REPLY for a shape the contract does not know)', async () => {
    const hub = new FakeHub();
    const { bus } = await hub.connect();
    hub.busMethods.set('GetNameOwner', () => ({ owner: 5 }));
    const error = await rejection(bus.getNameOwner(NAME));
    expect(error).toBeInstanceOf(InvalidReplyError);
    await bus.close();
  });

  it('answer UNKNOWN_METHOD for a method the bus does not have', async () => {
    const { bus } = await connectToFake();
    expect(await rejection(bus.call(BUS_NAME, 'Reboot', {}))).toMatchObject({
      code: ErrorCode.UNKNOWN_METHOD,
    });
    await bus.close();
  });
});
