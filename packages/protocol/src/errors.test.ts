import { describe, expect, it } from 'vitest';
import { ErrorCode, isFatalByDefault, isProtocolError, ProtocolError } from './errors.js';

describe('ErrorCode', () => {
  it('holds every code of the spec, each equal to its key', () => {
    expect(Object.keys(ErrorCode)).toEqual([
      'BAD_LENGTH',
      'FRAME_TOO_LARGE',
      'BAD_MSGPACK',
      'UNKNOWN_TYPE',
      'BAD_FIELD',
      'HELLO_REQUIRED',
      'VERSION_MISMATCH',
      'HELLO_TIMEOUT',
      'DUPLICATE_HELLO',
      'UNKNOWN_GROUP',
      'NOT_MEMBER',
      'ALREADY_MEMBER',
      'GROUP_EXISTS',
      'NOT_OWNER',
      'NOT_PERMITTED',
      'QUEUE_FULL',
      'INVALID_NAME',
      'LIMIT_EXCEEDED',
      'SLOW_CONSUMER',
      'BUS_CLOSING',
      'INTERNAL',
      'SERVICE_UNKNOWN',
      'UNKNOWN_METHOD',
      'INVALID_ARGS',
      'INVALID_REPLY',
      'TIMEOUT',
      'NO_REPLY',
      'REMOTE_ERROR',
      'MONITOR_ONLY',
      'FEDERATION_UNAVAILABLE',
      'INVALID_PAYLOAD',
      'INVALID_SCHEMA',
    ]);
    for (const [key, value] of Object.entries(ErrorCode)) expect(value).toBe(key);
  });

  it('marks fatal exactly the codes the spec makes fatal', () => {
    const fatal = Object.values(ErrorCode).filter(isFatalByDefault);
    expect(fatal).toEqual([
      'BAD_LENGTH',
      'FRAME_TOO_LARGE',
      'HELLO_REQUIRED',
      'VERSION_MISMATCH',
      'HELLO_TIMEOUT',
      'SLOW_CONSUMER',
    ]);
  });
});

describe('ProtocolError', () => {
  it('carries code, fatal, serial, data and cause', () => {
    const cause = new Error('inner');
    const error = new ProtocolError(ErrorCode.BAD_FIELD, 'g: required', {
      serial: 3,
      data: { path: ['g'] },
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ProtocolError');
    expect(error.code).toBe('BAD_FIELD');
    expect(error.message).toBe('g: required');
    expect(error.fatal).toBe(false);
    expect(error.serial).toBe(3);
    expect(error.data).toEqual({ path: ['g'] });
    expect(error.cause).toBe(cause);
  });

  it('defaults fatal from the code and lets the caller override it', () => {
    expect(new ProtocolError(ErrorCode.HELLO_TIMEOUT, 'x').fatal).toBe(true);
    expect(new ProtocolError(ErrorCode.INTERNAL, 'x').fatal).toBe(false);
    expect(new ProtocolError(ErrorCode.INTERNAL, 'x', { fatal: true }).fatal).toBe(true);
    expect(new ProtocolError(ErrorCode.SLOW_CONSUMER, 'x', { fatal: false }).fatal).toBe(false);
  });

  it('has no own cause when none is given', () => {
    expect(Object.hasOwn(new ProtocolError(ErrorCode.INTERNAL, 'x'), 'cause')).toBe(false);
  });

  it('converts to an err reply with only the fields that apply, never the stack', () => {
    expect(
      new ProtocolError(ErrorCode.NOT_MEMBER, 'not a member', { serial: 9 }).toErrorReply(),
    ).toStrictEqual({
      t: 'err',
      s: 9,
      code: 'NOT_MEMBER',
      msg: 'not a member',
    });
    expect(
      new ProtocolError(ErrorCode.VERSION_MISMATCH, 'daemon speaks 1', {
        data: { versions: [1] },
      }).toErrorReply(),
    ).toStrictEqual({
      t: 'err',
      code: 'VERSION_MISMATCH',
      msg: 'daemon speaks 1',
      fatal: true,
      data: { versions: [1] },
    });
  });

  it('is recognised across copies of the package (Symbol.for brand)', () => {
    // What a second copy's error looks like to this copy: another class, the same registered brand.
    class OtherCopyError extends Error {}
    Object.defineProperty(OtherCopyError.prototype, Symbol.for('chorus.protocol.ProtocolError'), {
      value: true,
    });
    const foreign = new OtherCopyError('x');
    expect(foreign instanceof ProtocolError).toBe(true);
    expect(isProtocolError(foreign)).toBe(true);
    expect(isProtocolError(new Error('x'))).toBe(false);
    expect(isProtocolError(null)).toBe(false);
    expect(isProtocolError({ code: 'BAD_FIELD' })).toBe(false);
    expect(new Error('x') instanceof ProtocolError).toBe(false);
  });
});
