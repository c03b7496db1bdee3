import { ErrorCode } from '@chorus/protocol';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  BusError,
  CallError,
  ChorusError,
  ConnectionClosedError,
  callErrorFromWire,
  InvalidArgsError,
  InvalidReplyError,
  isChorusError,
  MessageTooLargeError,
  NoReplyError,
  PayloadValidationError,
  RemoteError,
  ServiceUnknownError,
  TimeoutError,
  UnknownMethodError,
} from './errors.js';

describe('errors', () => {
  it('give every kind a stable code', () => {
    expect(new ConnectionClosedError('x').code).toBe('CONNECTION_CLOSED');
    expect(new PayloadValidationError('g', 's', []).code).toBe('INVALID_PAYLOAD');
    expect(new TimeoutError('x', 5).code).toBe('TIMEOUT');
    expect(new AbortError('x').code).toBe('ABORTED');
    expect(new MessageTooLargeError(10, 5).code).toBe('MESSAGE_TOO_LARGE');
  });

  it('turn an err reply into a BusError with the wire code, fatal flag and data', () => {
    const error = BusError.fromWire({
      t: 'err',
      s: 3,
      code: 'NOT_OWNER',
      msg: 'not yours',
      data: { g: 'x' },
    });
    expect(error).toBeInstanceOf(BusError);
    expect(error).toBeInstanceOf(ChorusError);
    expect(error).toMatchObject({
      name: 'BusError',
      code: 'NOT_OWNER',
      message: 'not yours',
      fatal: false,
      data: { g: 'x' },
    });
    expect(BusError.fromWire({ t: 'err', code: 'SLOW_CONSUMER', msg: '', fatal: true }).fatal).toBe(true);
  });

  it('keep the cause, and define none when there is none', () => {
    const cause = new Error('reset');
    expect(new ConnectionClosedError('lost', { cause }).cause).toBe(cause);
    expect(Object.hasOwn(new ConnectionClosedError('closed'), 'cause')).toBe(false);
  });

  it('are recognised across duplicate copies of the package', () => {
    // What another copy's error looks like from here: same Symbol.for brand, different class.
    class OtherCopyError extends Error {
      readonly code = 'TIMEOUT';
    }
    Object.defineProperty(OtherCopyError.prototype, Symbol.for('chorus.client.ChorusError'), { value: true });
    const foreign = new OtherCopyError('late');
    expect(isChorusError(foreign)).toBe(true);
    expect(isChorusError(foreign, 'TIMEOUT')).toBe(true);
    expect(isChorusError(foreign, 'ABORTED')).toBe(false);
    expect(foreign instanceof ChorusError).toBe(true);
    // Subclasses keep the ordinary check.
    expect(foreign instanceof TimeoutError).toBe(false);
    expect(new TimeoutError('x', 1) instanceof TimeoutError).toBe(true);
    expect(new TimeoutError('x', 1) instanceof AbortError).toBe(false);
  });

  it('are not confused with other errors', () => {
    expect(isChorusError(new Error('x'))).toBe(false);
    expect(isChorusError({ code: 'TIMEOUT' })).toBe(false);
    expect(isChorusError(null)).toBe(false);
    expect(new Error('x') instanceof ChorusError).toBe(false);
  });

  it('summarise the first validation issue in the message', () => {
    const error = new PayloadValidationError('org.example.Battery', 'LevelChanged', [
      { code: 'too_big', path: ['percent'], message: 'Too big' },
    ]);
    expect(error.message).toBe('invalid payload for org.example.Battery.LevelChanged: Too big at percent');
  });
});

describe('call errors', () => {
  const target = { destination: 'org.example.Battery', method: 'GetLevel' };

  it('turn each call code into its class, carrying where the call went', () => {
    const cases = [
      ['SERVICE_UNKNOWN', ServiceUnknownError],
      ['UNKNOWN_METHOD', UnknownMethodError],
      ['INVALID_ARGS', InvalidArgsError],
      ['INVALID_REPLY', InvalidReplyError],
      ['NO_REPLY', NoReplyError],
      ['REMOTE_ERROR', RemoteError],
    ] as const;
    for (const [code, kind] of cases) {
      const error = callErrorFromWire({ t: 'err', s: 1, code, msg: 'm' }, target);
      expect(error).toBeInstanceOf(kind);
      expect(error).toBeInstanceOf(CallError);
      expect(error).toMatchObject({ code, message: 'm', ...target });
      expect(ErrorCode[code]).toBe(code);
    }
    const timeout = callErrorFromWire({ t: 'err', s: 1, code: 'TIMEOUT', msg: 'late' }, target, 250);
    expect(timeout).toBeInstanceOf(TimeoutError);
    expect(timeout).toMatchObject({ code: ErrorCode.TIMEOUT, timeoutMs: 250 });
    const other = callErrorFromWire({ t: 'err', s: 1, code: 'LIMIT_EXCEEDED', msg: 'too many' }, target);
    expect(other).toBeInstanceOf(BusError);
    expect(other.code).toBe('LIMIT_EXCEEDED');
  });

  it('read the remote error name from data.name (Error when absent)', () => {
    const named = callErrorFromWire(
      { t: 'err', s: 1, code: 'REMOTE_ERROR', msg: 'flat', data: { name: 'RangeError' } },
      target,
    );
    expect(named).toMatchObject({ name: 'RemoteError', remoteName: 'RangeError', message: 'flat' });
    expect(
      callErrorFromWire({ t: 'err', s: 1, code: 'REMOTE_ERROR', msg: 'x', data: 5 }, target),
    ).toMatchObject({
      remoteName: 'Error',
    });
  });

  it('normalize anything thrown into a fail with name and message, never the stack', () => {
    expect(RemoteError.toFail(3, new TypeError('bad'))).toEqual({
      t: 'fail',
      id: 3,
      code: 'REMOTE_ERROR',
      msg: 'bad',
      name: 'TypeError',
    });
    expect(RemoteError.toFail(3, 'plain')).toMatchObject({ msg: 'plain', name: 'Error' });
    expect(RemoteError.toFail(3, { name: 'Custom', message: 'shaped like an error' })).toMatchObject({
      msg: 'shaped like an error',
      name: 'Custom',
    });
    expect(RemoteError.toFail(3, undefined)).toMatchObject({ msg: 'undefined', name: 'Error' });
    expect(JSON.stringify(RemoteError.toFail(3, new Error('x')))).not.toContain('at ');
  });

  it('keep the issues of a validation on our side', () => {
    const issues = [{ code: 'too_big', path: ['percent'], message: 'Too big' }];
    expect(new InvalidArgsError('bad', target, issues).issues).toBe(issues);
    expect(new InvalidReplyError('bad', target).issues).toEqual([]);
    expect(new AbortError('gone', { reason: 'timeout' }).reason).toBe('timeout');
  });
});
