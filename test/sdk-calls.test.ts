/*
 * The SDK's method calls against the real daemon (in this process): serve and call on two
 * connections, one test per error code, deadlines, aborts and the end of either side. Moved from
 * packages/client/src/calls.test.ts, which ran them against a second implementation of call
 * routing; what only a scripted peer can do (silence, a daemon's own errors, bad bytes) stays there.
 */

import {
  AbortError,
  type Bus,
  type CallContext,
  defineGroup,
  ErrorCode,
  InvalidArgsError,
  InvalidReplyError,
  NoReplyError,
  RemoteError,
  ServiceUnknownError,
  TimeoutError,
  UnknownMethodError,
  z,
} from '@chorus/client';
import { describe, expect, it, vi } from 'vitest';
import { rejection } from './harness/errors.js';
import { inProcessDaemon } from './harness/in-process.js';
import { settle } from './harness/wait.js';

const Battery = defineGroup('org.example.Battery', {
  signals: { LevelChanged: z.object({ percent: z.number() }) },
  methods: {
    GetLevel: { input: z.object({}), output: z.object({ percent: z.number().min(0).max(100) }) },
    SetLimit: {
      input: z.object({ percent: z.number().min(0).max(100), label: z.string().transform((s) => s.trim()) }),
      output: z.object({ at: z.string().transform((s) => s.length) }),
    },
  },
});

/** What the caller's side of the same name looks like in a newer version: GetLevel answers a string. */
const BatteryV2 = defineGroup('org.example.Battery', {
  methods: { GetLevel: { input: z.object({}), output: z.object({ percent: z.string() }) } },
});

/** A service bus that owns Battery's name and a caller bus, on one real daemon. */
async function pair(options: Parameters<ReturnType<typeof inProcessDaemon>['connect']>[0] = {}) {
  const daemon = inProcessDaemon();
  const service = await daemon.connect();
  const caller = await daemon.connect(options);
  await service.bus.requestName(Battery.name);
  return { daemon, service, caller };
}

function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

async function closeAll(...buses: Bus[]): Promise<void> {
  await Promise.all(buses.map((bus) => bus.close()));
}

describe('call and serve', () => {
  it('route a typed call to the owner of the contract name, validated and transformed on both sides', async () => {
    const { service, caller } = await pair();
    const seen: { input: unknown; ctx: Omit<CallContext, 'signal'> }[] = [];
    service.bus.serve(Battery, {
      GetLevel: () => ({ percent: 42 }),
      SetLimit: (input, { sender, dest, method }) => {
        seen.push({ input, ctx: { sender, dest, method } });
        return { at: 'three' };
      },
    });
    expect(await caller.bus.call(Battery, 'GetLevel', {}, { timeoutMs: 1000 })).toEqual({ percent: 42 });
    expect(await caller.bus.call(Battery, 'SetLimit', { percent: 80, label: ' max ' })).toEqual({ at: 5 });
    // The input travels as given; the service parses it (trim) before the handler sees it.
    expect(seen).toEqual([
      {
        input: { percent: 80, label: 'max' },
        ctx: { sender: caller.bus.name, dest: Battery.name, method: 'SetLimit' },
      },
    ]);
    // The typed call first asked the bus for the group's schema (the compatibility check).
    const calls = caller.link
      .all('call')
      .map((r) => r.message)
      .filter((message) => (message as { dest?: string }).dest !== 'org.chorus.Bus');
    expect(calls[0]).toEqual({
      t: 'call',
      s: expect.any(Number),
      dest: Battery.name,
      m: 'GetLevel',
      g: Battery.name,
      to: 1000,
    });
    // Without timeoutMs the default deadline (callTimeoutMs) still travels as `to`.
    expect(calls[1]).toMatchObject({ m: 'SetLimit', to: expect.any(Number) });
    await closeAll(service.bus, caller.bus);
  });

  it('call by name untyped, and to another destination than the contract name', async () => {
    const { service, caller } = await pair();
    service.bus.serve(Battery, { GetLevel: () => ({ percent: 7 }), SetLimit: () => ({ at: '' }) });
    expect(await caller.bus.call(Battery.name, 'GetLevel', {})).toEqual({ percent: 7 });
    expect(caller.link.all('call')[0]?.message).not.toHaveProperty('g');
    // By unique name: routed by the interface `g`.
    expect(await caller.bus.call(Battery, 'GetLevel', {}, { destination: service.bus.name })).toEqual({
      percent: 7,
    });
    // An alias: no `g` (untyped), so the interface is the name addressed, which the connection
    // does not serve: refused, since the policy was asked about that interface only (issue 11).
    await service.bus.requestName('org.example.Alias');
    const alias = await rejection(caller.bus.call('org.example.Alias', 'GetLevel', {}));
    expect(alias).toMatchObject({ code: ErrorCode.UNKNOWN_METHOD });
    await closeAll(service.bus, caller.bus);
  });

  it('answers only from the contract the interface `g` names, never another one the connection serves', async () => {
    // The daemon checks the caller's rights against `g`: routing by the name addressed or by method
    // name instead would let a call reach a contract the policy was never asked about.
    const { service, caller } = await pair();
    const Other = defineGroup('org.example.Other', {
      methods: { GetLevel: { input: z.object({}), output: z.object({ percent: z.number() }) } },
    });
    service.bus.serve(Battery, { GetLevel: () => ({ percent: 7 }), SetLimit: () => ({ at: '' }) });
    const unserved = await rejection(caller.bus.call(Other, 'GetLevel', {}, { destination: Battery.name }));
    expect(unserved).toBeInstanceOf(UnknownMethodError);
    expect(unserved).toMatchObject({ code: ErrorCode.UNKNOWN_METHOD, destination: Battery.name });
    const byUniqueName = await rejection(
      caller.bus.call(Other, 'GetLevel', {}, { destination: service.bus.name }),
    );
    expect(byUniqueName).toMatchObject({ code: ErrorCode.UNKNOWN_METHOD });
    // Once it serves that contract, the same call is answered by it.
    service.bus.serve(Other, { GetLevel: () => ({ percent: 99 }) });
    expect(await caller.bus.call(Other, 'GetLevel', {}, { destination: Battery.name })).toEqual({
      percent: 99,
    });
    await closeAll(service.bus, caller.bus);
  });

  it('SERVICE_UNKNOWN when nobody owns the destination', async () => {
    const { caller } = await pair();
    const error = await rejection(
      caller.bus.call(Battery, 'GetLevel', {}, { destination: 'org.example.Nobody' }),
    );
    expect(error).toBeInstanceOf(ServiceUnknownError);
    expect(error).toMatchObject({
      code: ErrorCode.SERVICE_UNKNOWN,
      destination: 'org.example.Nobody',
      method: 'GetLevel',
    });
    await caller.bus.close();
  });

  it('UNKNOWN_METHOD from the service, and locally for a method the contract lacks', async () => {
    const { service, caller } = await pair();
    service.bus.serve(Battery, { GetLevel: () => ({ percent: 1 }), SetLimit: () => ({ at: '' }) });
    const remote = await rejection(caller.bus.call(Battery.name, 'Explode', {}));
    expect(remote).toBeInstanceOf(UnknownMethodError);
    expect(remote.code).toBe(ErrorCode.UNKNOWN_METHOD);
    const local = await rejection(caller.bus.call(Battery, 'Explode' as 'GetLevel', {}));
    expect(local).toBeInstanceOf(UnknownMethodError);
    expect(caller.link.all('call')).toHaveLength(1);
    await closeAll(service.bus, caller.bus);
  });

  it('UNKNOWN_METHOD for a call to a connection that serves nothing under that name', async () => {
    const { service, caller } = await pair();
    service.bus.serve('org.example.A', { Ping: () => 1 });
    service.bus.serve('org.example.B', { Ping: () => 2 });
    // Two services, the destination is neither: which one was meant is unknowable.
    const error = await rejection(caller.bus.call(Battery.name, 'Ping'));
    expect(error.code).toBe(ErrorCode.UNKNOWN_METHOD);
    await closeAll(service.bus, caller.bus);
  });

  it('INVALID_ARGS on the caller side sends nothing and carries the issues', async () => {
    const { caller } = await pair();
    const error = await rejection(caller.bus.call(Battery, 'SetLimit', { percent: 400, label: 'x' }));
    expect(error).toBeInstanceOf(InvalidArgsError);
    expect((error as InvalidArgsError).issues).toEqual([
      { code: 'too_big', path: ['percent'], message: expect.any(String) },
    ]);
    const unencodable = await rejection(caller.bus.call('org.example.Tool', 'M', { f: () => 1 }));
    expect(unencodable.code).toBe(ErrorCode.INVALID_ARGS);
    expect(caller.link.all('call')).toHaveLength(0);
    await caller.bus.close();
  });

  it('INVALID_ARGS on the service side: the handler never runs', async () => {
    const { service, caller } = await pair();
    let ran = false;
    service.bus.serve(Battery, {
      GetLevel: () => ({ percent: 1 }),
      SetLimit: () => {
        ran = true;
        return { at: '' };
      },
    });
    const error = await rejection(caller.bus.call(Battery.name, 'SetLimit', { percent: 'lots' }));
    expect(error).toBeInstanceOf(InvalidArgsError);
    expect(error.message).toContain('percent');
    expect(ran).toBe(false);
    await closeAll(service.bus, caller.bus);
  });

  it('INVALID_REPLY when the handler returns what its contract refuses (service side)', async () => {
    const { service, caller } = await pair();
    service.bus.serve(Battery, {
      GetLevel: () => ({ percent: 400 }),
      SetLimit: () => ({ at: 3 as unknown as string }),
    });
    const error = await rejection(caller.bus.call(Battery, 'GetLevel', {}));
    expect(error).toBeInstanceOf(InvalidReplyError);
    expect(error.code).toBe(ErrorCode.INVALID_REPLY);
    expect(service.link.all('ret')).toHaveLength(0);
    await closeAll(service.bus, caller.bus);
  });

  it('INVALID_REPLY when the answer does not match the caller contract (caller side)', async () => {
    const { service, caller } = await pair();
    service.bus.serve(BatteryV2, { GetLevel: () => ({ percent: 'full' }) });
    const error = await rejection(caller.bus.call(Battery, 'GetLevel', {}));
    expect(error).toBeInstanceOf(InvalidReplyError);
    expect((error as InvalidReplyError).issues[0]?.path).toEqual(['percent']);
    await closeAll(service.bus, caller.bus);
  });

  it('REMOTE_ERROR: the thrown error name and message cross, the stack does not', async () => {
    const { service, caller } = await pair();
    service.bus.serve(Battery, {
      GetLevel: async () => {
        throw new RangeError('the cell is flat');
      },
      SetLimit: () => {
        throw 'a bare string'; // anything can be thrown
      },
    });
    const error = await rejection(caller.bus.call(Battery, 'GetLevel', {}));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({
      code: ErrorCode.REMOTE_ERROR,
      remoteName: 'RangeError',
      message: 'the cell is flat',
    });
    expect(service.link.all('fail')[0]?.message).toEqual({
      t: 'fail',
      id: expect.any(Number),
      code: ErrorCode.REMOTE_ERROR,
      msg: 'the cell is flat',
      name: 'RangeError',
    });
    const bare = await rejection(caller.bus.call(Battery, 'SetLimit', { percent: 1, label: '' }));
    expect(bare).toMatchObject({ remoteName: 'Error', message: 'a bare string' });
    await closeAll(service.bus, caller.bus);
  });

  it('a reply too large for a frame reaches the caller as REMOTE_ERROR, not as silence', async () => {
    // The bus's frames are at most 256 bytes: the service's answer cannot be sent.
    const daemon = inProcessDaemon({ limits: { maxFrameBytes: 256 } });
    const service = await daemon.connect();
    const caller = await daemon.connect();
    await service.bus.requestName('org.example.Big');
    service.bus.serve('org.example.Big', { Get: () => 'x'.repeat(1000) });
    const error = await rejection(caller.bus.call('org.example.Big', 'Get'));
    expect(error).toMatchObject({ code: ErrorCode.REMOTE_ERROR, remoteName: 'MessageTooLargeError' });
    await closeAll(service.bus, caller.bus);
  });
});

describe('deadlines and aborts', () => {
  it('TIMEOUT at the caller deadline: cancel is sent and the service is told to abort', async () => {
    const { service, caller } = await pair();
    const aborted: unknown[] = [];
    service.bus.serve(Battery, {
      GetLevel: (_input, ctx) => {
        ctx.signal.addEventListener('abort', () => aborted.push(ctx.signal.reason));
        return never();
      },
      SetLimit: () => ({ at: '' }),
    });
    const error = await rejection(caller.bus.call(Battery, 'GetLevel', {}, { timeoutMs: 20 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: ErrorCode.TIMEOUT, timeoutMs: 20 });
    // Whichever deadline fired first (ours: cancel; the daemon's: `to`), the service was aborted.
    await vi.waitFor(() => expect(aborted).toHaveLength(1));
    expect(aborted[0]).toBeInstanceOf(AbortError);
    expect(['timeout', 'cancelled']).toContain((aborted[0] as AbortError).reason);
    await closeAll(service.bus, caller.bus);
  });

  it('no deadline with timeoutMs 0: no `to` is sent', async () => {
    const { service, caller } = await pair();
    service.bus.serve(Battery, { GetLevel: () => ({ percent: 3 }), SetLimit: () => ({ at: '' }) });
    await caller.bus.call(Battery, 'GetLevel', {}, { timeoutMs: 0 });
    const sent = caller.link.all('call').find((r) => (r.message as { dest?: string }).dest === Battery.name);
    expect(sent?.message).not.toHaveProperty('to');
    expect(await rejection(caller.bus.call(Battery, 'GetLevel', {}, { timeoutMs: -1 }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await closeAll(service.bus, caller.bus);
  });

  it('ABORTED through the signal: cancel is sent, the service sees reason cancelled, its late answer is dropped', async () => {
    const { service, caller } = await pair();
    let release: (value: { percent: number }) => void = () => {};
    const reasons: (string | undefined)[] = [];
    let invoked = () => {};
    const started = new Promise<void>((resolve) => {
      invoked = resolve;
    });
    service.bus.serve(Battery, {
      GetLevel: (_input, ctx) => {
        ctx.signal.addEventListener('abort', () => reasons.push((ctx.signal.reason as AbortError).reason));
        invoked();
        return new Promise((resolve) => {
          release = resolve;
        });
      },
      SetLimit: () => ({ at: '' }),
    });
    const controller = new AbortController();
    const pending = caller.bus.call(Battery, 'GetLevel', {}, { signal: controller.signal });
    await started;
    controller.abort(new Error('user went away'));
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(AbortError);
    expect(error.cause).toEqual(new Error('user went away'));
    expect(caller.link.all('cancel')).toHaveLength(1);
    await vi.waitFor(() => expect(reasons).toEqual(['cancelled']));
    release({ percent: 5 });
    await settle();
    await service.bus.ping(); // a fence: a ret sent before it would be recorded by now
    expect(service.link.all('ret')).toHaveLength(0);
    await closeAll(service.bus, caller.bus);
  });

  it('a handler that looks at its signal only after the cancel finds it aborted, with the reason', async () => {
    // The signal is made when first asked for (issue 17): one asked for late must still be aborted.
    const { service, caller } = await pair();
    let release: () => void = () => {};
    const late: { aborted: boolean; reason: string | undefined }[] = [];
    let invoked = () => {};
    const started = new Promise<void>((resolve) => {
      invoked = resolve;
    });
    service.bus.serve(Battery, {
      GetLevel: async (_input, ctx) => {
        invoked();
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        late.push({ aborted: ctx.signal.aborted, reason: (ctx.signal.reason as AbortError).reason });
        return { percent: 1 };
      },
      SetLimit: () => ({ at: '' }),
    });
    const controller = new AbortController();
    const pending = caller.bus.call(Battery, 'GetLevel', {}, { signal: controller.signal });
    await started;
    controller.abort();
    await rejection(pending);
    expect(caller.link.all('cancel')).toHaveLength(1);
    await service.bus.ping(); // the daemon's abort reached the service before this answer
    release();
    await vi.waitFor(() => expect(late).toEqual([{ aborted: true, reason: 'cancelled' }]));
    await closeAll(service.bus, caller.bus);
  });

  it('an already aborted signal rejects without sending', async () => {
    const { caller } = await pair();
    const error = await rejection(caller.bus.call(Battery, 'GetLevel', {}, { signal: AbortSignal.abort() }));
    expect(error.code).toBe('ABORTED');
    expect(caller.link.all('call')).toHaveLength(0);
    await caller.bus.close();
  });
});

describe('the end of either side', () => {
  it('NO_REPLY when the service disconnects before answering', async () => {
    const { service, caller } = await pair();
    let invoked = () => {};
    const started = new Promise<void>((resolve) => {
      invoked = resolve;
    });
    service.bus.serve(Battery, {
      GetLevel: () => {
        invoked();
        return never();
      },
      SetLimit: () => ({ at: '' }),
    });
    const pending = caller.bus.call(Battery, 'GetLevel', {});
    await started;
    service.client.destroy();
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(NoReplyError);
    expect(error.code).toBe(ErrorCode.NO_REPLY);
    await caller.bus.close();
  });

  it('the service is aborted (caller-left) when the caller disconnects', async () => {
    const { service, caller } = await pair();
    const reasons: (string | undefined)[] = [];
    let invoked = () => {};
    const started = new Promise<void>((resolve) => {
      invoked = resolve;
    });
    service.bus.serve(Battery, {
      GetLevel: (_input, ctx) => {
        ctx.signal.addEventListener('abort', () => reasons.push((ctx.signal.reason as AbortError).reason));
        invoked();
        return never();
      },
      SetLimit: () => ({ at: '' }),
    });
    void caller.bus.call(Battery, 'GetLevel', {}).catch(() => undefined);
    await started;
    caller.client.destroy();
    await caller.link.ended;
    await vi.waitFor(() => expect(reasons).toEqual(['caller-left']));
    await service.bus.close();
  });

  it('close() aborts the calls being served', async () => {
    const { service, caller } = await pair();
    const reasons: (string | undefined)[] = [];
    let invoked = () => {};
    const started = new Promise<void>((resolve) => {
      invoked = resolve;
    });
    service.bus.serve(Battery, {
      GetLevel: (_input, ctx) => {
        ctx.signal.addEventListener('abort', () => reasons.push((ctx.signal.reason as AbortError).reason));
        invoked();
        return never();
      },
      SetLimit: () => ({ at: '' }),
    });
    const pending = caller.bus.call(Battery, 'GetLevel', {});
    await started;
    await service.bus.close();
    expect(reasons).toEqual(['closed']);
    expect(await rejection(pending)).toBeInstanceOf(NoReplyError);
    await caller.bus.close();
  });
});

describe('limits and services', () => {
  it('service.close() answers the calls in progress, then later calls get UNKNOWN_METHOD', async () => {
    const { service, caller } = await pair();
    let release: (value: { percent: number }) => void = () => {};
    let invoked = () => {};
    const started = new Promise<void>((resolve) => {
      invoked = resolve;
    });
    const handle = service.bus.serve(Battery, {
      GetLevel: () =>
        new Promise((resolve) => {
          release = resolve;
          invoked();
        }),
      SetLimit: () => ({ at: '' }),
    });
    const inProgress = caller.bus.call(Battery, 'GetLevel', {});
    await started;
    expect(handle.active).toBe(1);
    const closing = handle.close();
    expect(handle.closed).toBe(true);
    const later = await rejection(caller.bus.call(Battery, 'GetLevel', {}));
    expect(later.code).toBe(ErrorCode.UNKNOWN_METHOD);
    release({ percent: 9 });
    expect(await inProgress).toEqual({ percent: 9 });
    await closing;
    expect(handle.active).toBe(0);
    await closeAll(service.bus, caller.bus);
  });
});

describe('waitForService', () => {
  it('waits for an owner and calls again', async () => {
    const daemon = inProcessDaemon();
    const caller = await daemon.connect();
    const pending = caller.bus.call(Battery, 'GetLevel', {}, { waitForService: true, timeoutMs: 5000 });
    await caller.link.take('call');
    const service = await daemon.connect();
    service.bus.serve(Battery, { GetLevel: () => ({ percent: 64 }), SetLimit: () => ({ at: '' }) });
    await caller.link.take('join'); // the watch on NameOwnerChanged is in place
    await service.bus.requestName(Battery.name);
    expect(await pending).toEqual({ percent: 64 });
    await closeAll(service.bus, caller.bus);
  });

  it('gives up with SERVICE_UNKNOWN when no owner appears in time', async () => {
    const { bus } = await inProcessDaemon().connect();
    const error = await rejection(bus.call(Battery, 'GetLevel', {}, { waitForService: { timeoutMs: 20 } }));
    expect(error).toBeInstanceOf(ServiceUnknownError);
    expect(error.cause).toBeInstanceOf(TimeoutError);
    await bus.close();
  });
});
