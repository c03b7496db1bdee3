/*
 * Method calls against a scripted peer: what a real daemon would not do on demand (stay silent,
 * answer its own TIMEOUT or LIMIT_EXCEEDED, send bytes that are not MessagePack, invoke what is not
 * served) and what needs no daemon at all (local checks, bounds). Calls routed between services
 * run against the real daemon: test/sdk-calls.test.ts.
 */

import { ErrorCode, encodePayload } from '@chorus/protocol';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineGroup } from './contract.js';
import { BusError, ConnectionClosedError, InvalidReplyError, TimeoutError } from './errors.js';
import { connectToFake, settle } from './testing/fake-daemon.js';
import { rejection } from './testing/rejection.js';

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

describe('call and serve', () => {
  it('INVALID_REPLY when the output bytes are not MessagePack', async () => {
    const { bus, daemon } = await connectToFake({}, (d) =>
      d.respond('call', ({ message }) =>
        message.t === 'call' ? [{ message: { t: 'ok', s: message.s }, payload: new Uint8Array([0xc1]) }] : [],
      ),
    );
    const error = await rejection(bus.call('org.example.Tool', 'M', {}));
    expect(error).toBeInstanceOf(InvalidReplyError);
    expect(daemon.all('call')).toHaveLength(1);
    await bus.close();
  });
});

describe('deadlines and aborts', () => {
  it('TIMEOUT from our own timer when the daemon stays silent, with a cancel naming the call', async () => {
    const { bus, daemon } = await connectToFake({}, (d) => d.respond('call', () => undefined));
    const error = await rejection(bus.call('org.example.Tool', 'M', {}, { timeoutMs: 10 }));
    expect(error).toBeInstanceOf(TimeoutError);
    const call = await daemon.take('call');
    const cancel = await daemon.take('cancel');
    expect(cancel.message).toEqual({ t: 'cancel', id: (call.message as { s: number }).s });
    // A late answer is ignored.
    daemon.send({ t: 'ok', s: (call.message as { s: number }).s }, encodePayload(1));
    await bus.ping();
    await bus.close();
  });

  it('TIMEOUT from the daemon (its deadline) without a cancel', async () => {
    const { bus, daemon } = await connectToFake({}, (d) =>
      d.respond('call', ({ message }) =>
        message.t === 'call' ? [{ t: 'err', s: message.s, code: 'TIMEOUT', msg: 'deadline passed' }] : [],
      ),
    );
    const error = await rejection(bus.call('org.example.Tool', 'M', {}, { timeoutMs: 5000 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(daemon.all('cancel')).toHaveLength(0);
    await bus.close();
  });
});

describe('the end of either side', () => {
  it('a lost connection rejects pending calls with ConnectionClosedError', async () => {
    const { bus, daemon } = await connectToFake({}, (d) => d.respond('call', () => undefined));
    const pending = bus.call('org.example.Tool', 'M', {});
    await daemon.take('call');
    await daemon.transport.close();
    const error = await rejection(pending);
    expect(error).toBeInstanceOf(ConnectionClosedError);
  });

  it('close() cancels the calls still waiting (they may take arbitrarily long)', async () => {
    const { bus, daemon } = await connectToFake({}, (d) => d.respond('call', () => undefined));
    const pending = bus.call('org.example.Tool', 'M', {}, { timeoutMs: 0 });
    await daemon.take('call');
    await bus.close();
    expect(await rejection(pending)).toBeInstanceOf(ConnectionClosedError);
    expect(daemon.all('cancel')).toHaveLength(1);
    await expect(bus.call('org.example.Tool', 'M', {})).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
  });
});

describe('limits and services', () => {
  it('bounds the calls waiting for an answer (maxPendingCalls): one more fails LIMIT_EXCEEDED at once', async () => {
    const { bus, daemon } = await connectToFake({ maxPendingCalls: 2 }, (d) =>
      d.respond('call', () => undefined),
    );
    const first = bus.call('org.example.Tool', 'M', 1);
    const second = bus.call('org.example.Tool', 'M', 2);
    const third = await rejection(bus.call('org.example.Tool', 'M', 3));
    expect(third).toBeInstanceOf(BusError);
    expect(third.code).toBe(ErrorCode.LIMIT_EXCEEDED);
    expect(daemon.all('call')).toHaveLength(2);
    // Room again once one is answered.
    const { message } = await daemon.take('call');
    daemon.send({ t: 'ok', s: (message as { s: number }).s }, encodePayload('done'));
    expect(await first).toBe('done');
    const fourth = bus.call('org.example.Tool', 'M', 4);
    await settle();
    expect(daemon.all('call')).toHaveLength(3);
    await bus.close();
    await Promise.allSettled([second, fourth]);
  });

  it('keeps other bus errors as BusError (the daemon at its own bound)', async () => {
    const { bus } = await connectToFake({}, (d) =>
      d.respond('call', ({ message }) =>
        message.t === 'call'
          ? [{ t: 'err', s: message.s, code: 'LIMIT_EXCEEDED', msg: 'too many calls' }]
          : [],
      ),
    );
    const error = await rejection(bus.call('org.example.Tool', 'M', {}));
    expect(error).toBeInstanceOf(BusError);
    expect(error.code).toBe(ErrorCode.LIMIT_EXCEEDED);
    await bus.close();
  });

  it('serves a name once, and needs a handler for every method of the contract', async () => {
    const { bus } = await connectToFake();
    bus.serve(Battery, { GetLevel: () => ({ percent: 1 }), SetLimit: () => ({ at: '' }) });
    expect(() =>
      bus.serve(Battery, { GetLevel: () => ({ percent: 1 }), SetLimit: () => ({ at: '' }) }),
    ).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => bus.serve('org.example.Other', { Get: 'nope' as never })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const Incomplete = defineGroup('org.example.Incomplete', {
      methods: { A: { input: z.null(), output: z.null() }, B: { input: z.null(), output: z.null() } },
    });
    expect(() => bus.serve(Incomplete, { A: () => null } as never)).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    await bus.close();
  });

  it('answers an invoke for nothing it serves with UNKNOWN_METHOD, and ignores an abort for an unknown id', async () => {
    const { bus, daemon } = await connectToFake();
    daemon.send({ t: 'invoke', id: 77, from: ':1.3', dest: bus.name, m: 'Anything' }, encodePayload({}));
    daemon.send({ t: 'abort', id: 78, reason: 'cancelled' });
    const { message } = await daemon.take('fail');
    expect(message).toMatchObject({ t: 'fail', id: 77, code: ErrorCode.UNKNOWN_METHOD });
    await bus.close();
  });

  it('answers INVALID_ARGS for an input that is not MessagePack', async () => {
    const { bus, daemon } = await connectToFake();
    bus.serve('org.example.Tool', { M: () => 1 });
    daemon.send(
      { t: 'invoke', id: 5, from: ':1.3', dest: 'org.example.Tool', m: 'M' },
      new Uint8Array([0xc1]),
    );
    expect((await daemon.take('fail')).message).toMatchObject({ id: 5, code: ErrorCode.INVALID_ARGS });
    await bus.close();
  });
});
