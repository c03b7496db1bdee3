import { describe, expect, it } from 'vitest';
import {
  AbortError,
  BusError,
  ChorusError,
  ConnectionClosedError,
  isChorusError,
  MessageTooLargeError,
  PayloadValidationError,
  TimeoutError,
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
