import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, defineGroup, z } from '@chorus/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDaemon, repoRoot, withDaemon } from '../harness/daemon.js';

// Issue 13: messages that did not help. Each said what went wrong in the wire's or a library's
// words (`BAD_FIELD: o.emitters: …`, `connect ENOENT …`, `Unexpected server response: 401`), or
// not at all (`defineGroup('bad name!')` failed only at createGroup; the CLI refused the plain
// socket path the daemon's --socket takes; its unknown-option message had an unbalanced quote).
// Each now says what happened and what to do.

const run = promisify(execFile);
const cli = join(repoRoot, 'apps/chorus/dist/main.js');
let daemon: RunningDaemon & { cleanup(): Promise<void> };

beforeAll(async () => {
  daemon = await withDaemon();
});
afterAll(async () => {
  await daemon?.cleanup();
});

async function failure(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a failure');
}

describe('the SDK', () => {
  it('says no bus is running at the address, and how to start one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chorus-none-'));
    const error = await failure(connect({ address: `unix:path=${dir}/bus.sock`, reconnect: false }));
    await rm(dir, { recursive: true });
    expect(error.code).toBe('CONNECT_FAILED');
    expect(error.message).toContain(`no bus is running at unix:path=${dir}/bus.sock`);
    expect(error.message).toContain("Start one with 'npx chorusd'");
    expect(error.message).not.toContain('ENOENT');
  });

  it('says a WebSocket needs a token, and where it is', async () => {
    const error = await failure(connect({ address: daemon.wsUrl as string, reconnect: false }));
    expect(error.message).toContain(`the bus at ${daemon.wsUrl} needs a token`);
    expect(error.message).toContain('CHORUS_TOKEN');
    expect(error.message).toContain('ws-token beside its socket');
    expect(error.message).not.toContain('Unexpected server response');
    const wrong = await failure(
      connect({ address: daemon.wsUrl as string, token: 'x'.repeat(32), reconnect: false }),
    );
    expect(wrong.message).toContain('refused the token');
    expect(wrong.message).not.toContain('x'.repeat(32));
  });

  it('refuses a group name the bus would refuse at defineGroup, not at createGroup', () => {
    expect(() => defineGroup('bad name!', {})).toThrowError(
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('"bad name!" is not a valid group name'),
      }),
    );
    expect(() => defineGroup('org.example.Ok', { signals: { 'bad-signal': z.object({}) } })).toThrowError(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('"bad-signal"') }),
    );
  });

  it('names a bad group option and its choices, in the words of the API', async () => {
    const bus = await connect({ address: daemon.address, reconnect: false });
    const error = await failure(bus.createGroup('org.example.Options', { emitters: 'everyone' as never }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe(
      `group option emitters must be one of 'owner', 'members', 'anyone'; got "everyone"`,
    );
    await bus.close();
  });
});

describe('the chorus command', () => {
  it('takes the plain socket path the daemon was given', async () => {
    const { stdout } = await run(process.execPath, [cli, 'status', '--json', '--address', daemon.socketPath]);
    expect(JSON.parse(stdout)).toMatchObject({ name: expect.stringMatching(/^:1\.\d+$/) });
  });

  it('says what to do with an unknown option, with balanced quotes', async () => {
    const error = (await failure(run(process.execPath, [cli, 'emit', '--bogus']))) as {
      stderr?: string;
    } & Error;
    const line = (error.stderr ?? '').split('\n')[0] as string;
    expect(line).toBe(
      `chorus: USAGE: unknown option '--bogus'. A value that starts with '-' goes after '--', as in: -- "--bogus"`,
    );
  });
});
