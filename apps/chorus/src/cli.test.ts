import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commands, run } from './cli.js';
import type { Io, OutputStream } from './context.js';
import { ExitCode } from './errors.js';

// The whole CLI with a fake process and no daemon: help, usage errors (which must not depend on
// a daemon being there) and the exit status of an unreachable bus. Against a real daemon: test/cli.test.ts.

class FakeStream implements OutputStream {
  text = '';
  constructor(readonly isTTY = false) {}
  write(text: string): boolean {
    this.text += text;
    return true;
  }
  once(): this {
    return this;
  }
}

let dir: string;
let nowhere: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chorus-cli-'));
  nowhere = `unix:path=${join(dir, 'no-daemon.sock')}`;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function chorus(argv: string[], env: Record<string, string> = {}) {
  const stdout = new FakeStream();
  const stderr = new FakeStream();
  const io: Io = {
    stdout,
    stderr,
    env: { CHORUS_BUS_ADDRESS: nowhere, ...env },
    uid: 1000,
    onInterrupt: () => () => undefined,
  };
  const code = await run(argv, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('help', () => {
  it('lists every command, the global options and the exit statuses', async () => {
    const { code, stdout, stderr } = await chorus(['--help']);
    expect(code).toBe(ExitCode.OK);
    expect(stderr).toBe('');
    for (const command of commands) expect(stdout).toContain(`  ${command.name} `);
    for (const option of ['--address ADDR', '--token TOKEN', '--json', '-h, --help', '--version']) {
      expect(stdout).toContain(option);
    }
    expect(stdout).toContain('3  cannot connect to the bus');
  });

  it.each(commands.map((command) => command.name))('%s --help shows its usage and options', async (name) => {
    const { code, stdout } = await chorus([name, '--help']);
    expect(code).toBe(ExitCode.OK);
    expect(stdout).toMatch(new RegExp(`^Usage: chorus ${name} \\[options\\]`));
    expect(stdout).toContain('--address ADDR');
    expect((await chorus(['help', name])).stdout).toBe(stdout);
  });

  it("says that emit's group lives only while the command runs", async () => {
    expect((await chorus(['emit', '--help'])).stdout).toContain('lives only while the command runs');
  });

  it('prints the version', async () => {
    expect(await chorus(['--version'])).toMatchObject({ code: 0, stdout: 'chorus 0.1.0\n' });
  });
});

describe('usage errors: exit status 2, before connecting', () => {
  it.each([
    [[], 'USAGE'],
    [['frobnicate'], 'USAGE'],
    [['status', '--bogus'], 'USAGE'],
    [['list'], 'USAGE'],
    [['list', 'everything'], 'USAGE'],
    [['introspect'], 'USAGE'],
    [['emit', 'a.B'], 'USAGE'],
    [['emit', 'a.B', 'S', '{bad json'], 'INVALID_JSON'],
    [['call', 'a.B', 'M', 'not json'], 'INVALID_JSON'],
    [['call', 'a.B', 'M', '--timeout', 'soon'], 'INVALID_ARGUMENT'],
    [['wait', 'a.B', '--timeout', '-5'], 'USAGE'],
    [['wait', 'a.B', '--timeout', '1.5'], 'INVALID_ARGUMENT'],
    [['status', '--address', 'tcp:host=x'], 'BAD_ADDRESS'],
  ])('%j: %s', async (argv, code) => {
    const result = await chorus(argv);
    expect(result.code).toBe(ExitCode.USAGE);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^chorus: ${code}: `));
    expect(result.stderr).toMatch(/Run 'chorus (\w+ )?--help' for usage\.\n$/);
  });

  it('points at the command whose usage was wrong', async () => {
    expect((await chorus(['wait'])).stderr).toContain("Run 'chorus wait --help'");
    expect((await chorus(['frobnicate'])).stderr).toContain("Run 'chorus --help'");
  });
});

describe('an unreachable bus: exit status 3', () => {
  it.each([['status'], ['list', 'groups'], ['monitor'], ['emit', 'a.B', 'S'], ['wait', 'a.B']])(
    '%j',
    async (...argv) => {
      const { code, stdout, stderr } = await chorus(argv);
      expect(code).toBe(ExitCode.UNREACHABLE);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^chorus: CONNECT_FAILED: .*no-daemon\.sock/);
    },
  );

  it('--address wins over CHORUS_BUS_ADDRESS', async () => {
    const other = `unix:path=${join(dir, 'other.sock')}`;
    const { code, stderr } = await chorus(['status', '--address', other]);
    expect(code).toBe(ExitCode.UNREACHABLE);
    expect(stderr).toContain('other.sock');
  });
});
