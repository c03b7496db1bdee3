import {
  AddressError,
  BusError,
  ConnectError,
  InvalidArgsError,
  RemoteError,
  TimeoutError,
} from '@chorus/client';
import { describe, expect, it } from 'vitest';
import {
  CliError,
  CliErrorCode,
  describeError,
  ExitCode,
  formatErrorReport,
  UnreachableError,
  UsageError,
} from './errors.js';

const target = { destination: 'org.example.Battery', method: 'GetLevel' };

describe('describeError', () => {
  it("keeps the CLI's own codes and exit statuses", () => {
    expect(describeError(new UsageError('missing NAME'))).toEqual({
      code: 'USAGE',
      message: 'missing NAME',
      details: [],
      exitCode: ExitCode.USAGE,
    });
    expect(describeError(new UsageError('bad', CliErrorCode.INVALID_JSON))).toMatchObject({
      code: 'INVALID_JSON',
      exitCode: 2,
    });
    expect(describeError(new UnreachableError('CONNECT_FAILED', 'no daemon'))).toMatchObject({
      code: 'CONNECT_FAILED',
      exitCode: 3,
    });
    expect(describeError(new CliError('CONNECTION_CLOSED', 'gone'))).toMatchObject({ exitCode: 1 });
  });

  it("fails with status 1 and the SDK's code for the SDK's errors", () => {
    expect(describeError(new BusError('UNKNOWN_GROUP', "no group named 'a.B'"))).toEqual({
      code: 'UNKNOWN_GROUP',
      message: "no group named 'a.B'",
      details: [],
      exitCode: ExitCode.FAILED,
    });
    expect(describeError(new TimeoutError('no owner within 5 ms', 5))).toMatchObject({
      code: 'TIMEOUT',
      exitCode: 1,
    });
    expect(describeError(new ConnectError('refused'))).toMatchObject({ code: 'CONNECT_FAILED', exitCode: 1 });
  });

  it("names a remote error's class and lists validation issues", () => {
    expect(describeError(new RemoteError('boom', 'RangeError', target))).toMatchObject({
      code: 'REMOTE_ERROR',
      message: 'RangeError: boom',
    });
    const invalid = new InvalidArgsError('invalid input', target, [
      { code: 'too_big', path: ['percent'], message: 'Too big' },
      { code: 'invalid_type', path: [], message: 'Expected object' },
    ]);
    expect(describeError(invalid).details).toEqual([
      'percent: Too big (too_big)',
      '(value): Expected object (invalid_type)',
    ]);
  });

  it('reports a malformed address as a usage error, and anything else as INTERNAL', () => {
    expect(describeError(new AddressError("'tcp:x': expected unix:path=..."))).toMatchObject({
      code: 'BAD_ADDRESS',
      exitCode: ExitCode.USAGE,
    });
    expect(describeError(new TypeError('oops'))).toMatchObject({
      code: 'INTERNAL',
      message: 'oops',
      exitCode: 1,
    });
    expect(describeError('thrown string')).toMatchObject({ code: 'INTERNAL', message: 'thrown string' });
  });
});

describe('formatErrorReport', () => {
  it("prints 'chorus: CODE: message', details indented", () => {
    expect(formatErrorReport({ code: 'TIMEOUT', message: 'late', details: [], exitCode: 1 })).toBe(
      'chorus: TIMEOUT: late\n',
    );
    expect(formatErrorReport({ code: 'INVALID_ARGS', message: 'bad', details: ['a: b'], exitCode: 1 })).toBe(
      'chorus: INVALID_ARGS: bad\n  a: b\n',
    );
  });
});
