/*
 * What the SDK's reconnection does to names and calls, against the real daemon (in this process):
 * each dial is a new connection, and dropping one plays a lost connection, which the daemon sees
 * close (its names pass on, its calls end). Moved from packages/client/src/reconnect.test.ts, which
 * ran them against a second implementation of names and call routing; reconnection's own steps
 * (what is sent again, in which order, the gaps) stay there against scripted peers.
 */

import { connect } from '@chorus/client';
import { describe, expect, it } from 'vitest';
import { rejection } from './harness/errors.js';
import { type InProcessDialer, inProcessDaemon } from './harness/in-process.js';

const ADDRESS = 'unix:path=/nonexistent/bus.sock';
const FAST = { initialDelayMs: 1, maxDelayMs: 4 };

/** Resolves with the arguments of the next event `subscribe` delivers. */
function next<TArgs extends unknown[]>(subscribe: (handler: (...args: TArgs) => void) => () => void) {
  return new Promise<TArgs>((resolve) => {
    const off = subscribe((...args) => {
      off();
      resolve(args);
    });
  });
}

async function connectWith(dialer: InProcessDialer, options: Parameters<typeof connect>[0] = {}) {
  return connect({ address: ADDRESS, transport: dialer.transport, reconnect: FAST, ...options });
}

describe('reconnecting to a real daemon', () => {
  it('keeps serving: a call in progress is aborted, calls after the reconnection are answered', async () => {
    const daemon = inProcessDaemon();
    const dialer = daemon.dialer();
    const service = await connectWith(dialer);
    const aborted: string[] = [];
    let started: () => void = () => undefined;
    const hangStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    service.serve('org.example.Echo', {
      Echo: (input) => input,
      Hang: (_input, ctx) =>
        new Promise((_resolve, reject) => {
          started();
          ctx.signal.addEventListener('abort', () => {
            aborted.push((ctx.signal.reason as { reason?: string }).reason ?? '?');
            reject(ctx.signal.reason);
          });
        }),
    });
    expect(await service.requestName('org.example.Echo')).toBe('primary-owner');
    const { bus: caller } = await daemon.connect({ reconnect: false });
    expect(await caller.call('org.example.Echo', 'Echo', 1)).toBe(1);
    const hanging = rejection(caller.call('org.example.Echo', 'Hang', {}));
    await hangStarted;
    const reacquired = next<[string, unknown, unknown]>((handler) => service.on('nameRequest', handler));
    dialer.drop();
    expect((await hanging).code).toBe('NO_REPLY');
    expect(aborted).toEqual(['disconnected']);
    expect((await reacquired)[1]).toBe('primary-owner');
    // The name was requested again on the new connection, which owns it now.
    expect(await caller.getNameOwner('org.example.Echo')).toBe(service.name);
    expect(service.name).toBe(dialer.current.session.name);
    expect(await caller.call('org.example.Echo', 'Echo', 2)).toBe(2);
    await Promise.all([service.close(), caller.close()]);
  });

  it('a waitForName that waited across the loss sees an owner that appeared meanwhile', async () => {
    const daemon = inProcessDaemon();
    const dialer = daemon.dialer();
    const bus = await connectWith(dialer);
    const waiting = bus.waitForName('org.example.Late');
    await dialer.current.take('call'); // GetNameOwner: the watch is in place
    dialer.down = new Error('connect ECONNREFUSED');
    const reconnecting = next((handler) => bus.on('reconnecting', handler));
    dialer.drop();
    await reconnecting;
    const { bus: owner } = await daemon.connect({ reconnect: false });
    await owner.requestName('org.example.Late');
    dialer.down = undefined;
    expect(await waiting).toBe(owner.name);
    expect(dialer.current.received[0]?.message).toMatchObject({
      join: [{ g: 'org.chorus.Bus', f: [{ sig: 'NameOwnerChanged' }] }],
    });
    await Promise.all([bus.close(), owner.close()]);
  });
});
