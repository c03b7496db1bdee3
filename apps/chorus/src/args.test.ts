import { describe, expect, it } from 'vitest';
import { type CommandSpec, parseCommandLine, parseJsonArgument, parseMilliseconds, usageOf } from './args.js';
import { CliErrorCode, ExitCode, UsageError } from './errors.js';

const specs: CommandSpec[] = [
  { name: 'status', args: [], options: {} },
  {
    name: 'emit',
    args: [{ name: 'GROUP' }, { name: 'SIGNAL' }, { name: 'JSON', optional: true }],
    options: {},
  },
  { name: 'monitor', args: [{ name: 'GROUP', variadic: true }], options: {} },
  { name: 'wait', args: [{ name: 'NAME' }], options: { timeout: { type: 'string' } } },
];

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv, specs);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
}

describe('parseCommandLine', () => {
  it('finds the command, its arguments and options', () => {
    expect(parseCommandLine(['emit', 'g.G', 'Sig', '{"a":1}', '--json'], specs)).toEqual({
      kind: 'command',
      command: 'emit',
      positionals: ['g.G', 'Sig', '{"a":1}'],
      values: { json: true },
    });
  });

  it('takes global options before the command, with their values', () => {
    const line = parseCommandLine(['--address', 'unix:path=/x', '--json', 'status'], specs);
    expect(line).toMatchObject({
      kind: 'command',
      command: 'status',
      values: { address: 'unix:path=/x', json: true },
    });
    const inline = parseCommandLine(['--address=unix:path=/y', 'status'], specs);
    expect(inline).toMatchObject({ command: 'status', values: { address: 'unix:path=/y' } });
  });

  it("does not take a command option's value for the command", () => {
    expect(parseCommandLine(['--timeout', '5', 'wait', 'a.B'], specs)).toMatchObject({
      command: 'wait',
      positionals: ['a.B'],
      values: { timeout: '5' },
    });
  });

  it('takes any number of arguments for a variadic command', () => {
    expect(parseCommandLine(['monitor'], specs)).toMatchObject({ positionals: [] });
    expect(parseCommandLine(['monitor', 'a', 'b', 'c'], specs)).toMatchObject({
      positionals: ['a', 'b', 'c'],
    });
  });

  it("passes arguments after '--' as they are", () => {
    expect(parseCommandLine(['emit', 'g', 's', '--', '-1'], specs)).toMatchObject({
      positionals: ['g', 's', '-1'],
    });
  });

  it('recognises every way to ask for help, and --version', () => {
    expect(parseCommandLine(['--help'], specs)).toEqual({ kind: 'help', command: undefined });
    expect(parseCommandLine(['-h'], specs)).toEqual({ kind: 'help', command: undefined });
    expect(parseCommandLine(['help'], specs)).toEqual({ kind: 'help', command: undefined });
    expect(parseCommandLine(['help', 'emit'], specs)).toEqual({ kind: 'help', command: 'emit' });
    expect(parseCommandLine(['emit', '--help'], specs)).toEqual({ kind: 'help', command: 'emit' });
    // Help wins over missing arguments.
    expect(parseCommandLine(['wait', '-h'], specs)).toEqual({ kind: 'help', command: 'wait' });
    expect(parseCommandLine(['--version'], specs)).toEqual({ kind: 'version' });
  });

  it.each([
    [[], 'missing command', undefined],
    [['--json'], 'missing command', undefined],
    [['frobnicate'], "unknown command 'frobnicate'", undefined],
    [['help', 'frobnicate'], "unknown command 'frobnicate'", undefined],
    [['emit', 'g'], 'missing SIGNAL', 'emit'],
    [['wait'], 'missing NAME', 'wait'],
    [['status', 'extra'], "unexpected argument 'extra'", 'status'],
    [['emit', 'g', 's', '1', '2'], "unexpected argument '2'", 'emit'],
  ])('%j is a usage error: %s', (argv, message, command) => {
    const error = usageError(argv);
    expect(error).toMatchObject({ code: CliErrorCode.USAGE, exitCode: ExitCode.USAGE, command });
    expect(error.message).toBe(message);
  });

  it('rejects unknown options, options of other commands and missing option values', () => {
    expect(usageError(['status', '--bogus'])).toMatchObject({ code: 'USAGE', command: 'status' });
    expect(usageError(['status', '--timeout', '5'])).toMatchObject({ code: 'USAGE', command: 'status' });
    expect(usageError(['wait', 'a.B', '--timeout'])).toMatchObject({ code: 'USAGE', command: 'wait' });
    expect(usageError(['emit', 'g', 's', '-1']).message).toContain("'-1'");
    expect(usageError(['--version', 'status'])).toMatchObject({ code: 'USAGE' });
  });
});

describe('parseMilliseconds', () => {
  it('reads whole milliseconds, 0 included', () => {
    expect(parseMilliseconds(undefined, 'timeout')).toBeUndefined();
    expect(parseMilliseconds('0', 'timeout')).toBe(0);
    expect(parseMilliseconds('1500', 'timeout')).toBe(1500);
    expect(parseMilliseconds('2147483647', 'timeout')).toBe(2_147_483_647);
  });

  it.each(['', 'soon', '1.5', '-1', '1e3', '5s', '2147483648'])(
    'rejects %j with INVALID_ARGUMENT',
    (text) => {
      expect(() => parseMilliseconds(text, 'timeout')).toThrow(
        expect.objectContaining({ code: CliErrorCode.INVALID_ARGUMENT, exitCode: ExitCode.USAGE }),
      );
    },
  );
});

describe('parseJsonArgument', () => {
  it('parses any JSON value; absent stays undefined', () => {
    expect(parseJsonArgument('{"percent":42}', 'the payload')).toEqual({ percent: 42 });
    expect(parseJsonArgument('[1,"a",null]', 'the payload')).toEqual([1, 'a', null]);
    expect(parseJsonArgument('"text"', 'the payload')).toBe('text');
    expect(parseJsonArgument('-1', 'the payload')).toBe(-1);
    expect(parseJsonArgument('null', 'the payload')).toBeNull();
    expect(parseJsonArgument(undefined, 'the payload')).toBeUndefined();
  });

  it.each(['{bad', 'text', "{'a':1}", ''])('rejects %j with INVALID_JSON (exit 2)', (text) => {
    expect(() => parseJsonArgument(text, 'the payload')).toThrow(
      expect.objectContaining({ code: CliErrorCode.INVALID_JSON, exitCode: ExitCode.USAGE }),
    );
  });
});

describe('usageOf', () => {
  it('brackets optional and variadic arguments', () => {
    expect(usageOf(specs[1]?.args ?? [])).toBe('GROUP SIGNAL [JSON]');
    expect(usageOf(specs[2]?.args ?? [])).toBe('[GROUP...]');
    expect(usageOf([])).toBe('');
  });
});
