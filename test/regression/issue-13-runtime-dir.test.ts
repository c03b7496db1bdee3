import { chmod, chown, lstat, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { daemonMain } from '../harness/daemon.js';
import { type Launched, launch } from '../harness/process.js';

// Issue 13: with XDG_RUNTIME_DIR unset, chorusd used /tmp/chorus-<uid>/ even when another user had
// created it first with mode 0777, and that user could then move the socket away and put their
// own in its place. The socket's directory must be the daemon user's own, mode 0700, never a
// symlink, or the daemon refuses to start and says which directory, whose, and what mode.

const NOBODY = 65534;
// CI runs as root; locally, without root, these cases are skipped with a printed reason.
const isRoot = process.getuid?.() === 0 || process.env['CI'] === 'true';
const dirs: string[] = [];
const running: Launched[] = [];

afterEach(async () => {
  for (const p of running.splice(0)) p.child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function runtimeDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-xdg-'));
  dirs.push(dir);
  return dir;
}

function daemon(env: NodeJS.ProcessEnv, extra: { uid?: number; gid?: number } = {}): Launched {
  const p = launch(process.execPath, [daemonMain, '--no-ws', '--log-level', 'warn'], {
    env: { ...process.env, ...env },
    ...extra,
  });
  running.push(p);
  return p;
}

it('refuses a runtime directory that others may enter (mode 0777), naming it and its mode', async () => {
  const xdg = await runtimeDir();
  await mkdir(join(xdg, 'chorus'));
  await chmod(join(xdg, 'chorus'), 0o777);
  const p = daemon({ XDG_RUNTIME_DIR: xdg });
  expect(await p.exited).toBe(1);
  expect(p.stderr()).toContain(`the socket's directory ${join(xdg, 'chorus')}`);
  expect(p.stderr()).toContain('mode 0777');
  expect(p.stderr()).toMatch(/chmod 700/);
});

it('refuses a runtime directory that is a symlink, even to a private directory', async () => {
  const xdg = await runtimeDir();
  await mkdir(join(xdg, 'elsewhere'), { mode: 0o700 });
  await symlink(join(xdg, 'elsewhere'), join(xdg, 'chorus'));
  const p = daemon({ XDG_RUNTIME_DIR: xdg });
  expect(await p.exited).toBe(1);
  expect(p.stderr()).toMatch(/is a symlink; refusing to follow it/);
});

it('creates a missing runtime directory with mode 0700 and starts', async () => {
  const xdg = await runtimeDir();
  const p = daemon({ XDG_RUNTIME_DIR: xdg });
  expect(await p.ready).toBe(`unix:path=${join(xdg, 'chorus', 'bus.sock')}`);
  expect((await lstat(join(xdg, 'chorus'))).mode & 0o777).toBe(0o700);
});

it("creates --socket's missing parent with mode 0700", async () => {
  const base = await runtimeDir();
  const socket = join(base, 'a', 'b', 'bus.sock');
  const p = launch(process.execPath, [daemonMain, '--no-ws', '--socket', socket]);
  running.push(p);
  await p.ready;
  expect((await lstat(join(base, 'a', 'b'))).mode & 0o777).toBe(0o700);
});

// As another user: the daemon runs as `nobody` with XDG_RUNTIME_DIR unset, and root (the "other
// user" here) created /tmp/chorus-65534 first.
it.runIf(isRoot)('refuses the /tmp fallback when another user created it first', async () => {
  const fallback = join('/tmp', `chorus-${NOBODY}`);
  await rm(fallback, { recursive: true, force: true });
  dirs.push(fallback);
  await mkdir(fallback);
  await chmod(fallback, 0o777);
  const env = { ...process.env, XDG_RUNTIME_DIR: '' };
  const refused = daemon(env, { uid: NOBODY, gid: NOBODY });
  expect(await refused.exited).toBe(1);
  expect(refused.stderr()).toContain(`${fallback} is owned by uid 0 with mode 0777`);
  // Owned by the other user even with mode 0700: still refused.
  await chmod(fallback, 0o700);
  const stillRefused = daemon(env, { uid: NOBODY, gid: NOBODY });
  expect(await stillRefused.exited).toBe(1);
  expect(stillRefused.stderr()).toContain('owned by uid 0 with mode 0700');
  // Gone: the daemon makes its own, and starts.
  await rm(fallback, { recursive: true });
  const started = daemon(env, { uid: NOBODY, gid: NOBODY });
  expect(await started.ready).toBe(`unix:path=${fallback}/bus.sock`);
  const stats = await lstat(fallback);
  expect([stats.uid, stats.mode & 0o777]).toEqual([NOBODY, 0o700]);
});

it.runIf(isRoot)('refuses a runtime directory owned by another uid', async () => {
  const xdg = await runtimeDir();
  await mkdir(join(xdg, 'chorus'), { mode: 0o700 });
  await chown(join(xdg, 'chorus'), NOBODY, NOBODY);
  const p = daemon({ XDG_RUNTIME_DIR: xdg });
  expect(await p.exited).toBe(1);
  expect(p.stderr()).toContain(`owned by uid ${NOBODY} with mode 0700`);
});

if (!isRoot) console.log('issue-13-runtime-dir: the other-user cases need root to act as two users; skipped');
