import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@chorus/client';
import { afterEach, expect, it } from 'vitest';
import { repoRoot } from '../harness/daemon.js';
import { alive, type Launched, launch } from '../harness/process.js';

// Issue 13: SIGTERM to the `npm start` or `npx chorusd` process left chorusd running, orphaned,
// with its socket in place: npm signals the shell it runs the command in, and the shell does not
// pass the signal on. Service managers and scripts send exactly that.

const dirs: string[] = [];
const launched: Launched[] = [];
afterEach(async () => {
  for (const p of launched.splice(0)) p.child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A client gets through: the bus really runs. */
async function expectServing(socket: string): Promise<void> {
  const bus = await connect({ address: `unix:path=${socket}`, reconnect: false });
  await bus.close();
}

async function expectStopsOnSigterm(command: string, args: string[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-sig-'));
  dirs.push(dir);
  const socket = join(dir, 'bus.sock');
  const p = launch(command, [...args, '--socket', socket, '--no-ws', '--log-level', 'info'], {
    cwd: repoRoot,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  launched.push(p);
  await p.ready;
  await expectServing(socket);
  // The daemon logs its own pid; npm's is the child's.
  const pid = Number(/"msg":"listening".*?"pid":(\d+)/.exec(p.stderr())?.[1]);
  expect(pid).toBeGreaterThan(0);
  expect(pid).not.toBe(p.child.pid);
  p.child.kill('SIGTERM');
  await p.exited;
  // The daemon itself stops cleanly and takes its socket with it.
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(alive(pid)).toBe(false);
  expect(existsSync(socket)).toBe(false);
}

it('SIGTERM to `npm start` stops the daemon and removes its socket', async () => {
  await expectStopsOnSigterm('npm', ['start', '--silent', '--']);
}, 60_000);

it('SIGTERM to `npx chorusd` stops the daemon and removes its socket', async () => {
  await expectStopsOnSigterm('npx', ['--no-install', 'chorusd']);
}, 60_000);
