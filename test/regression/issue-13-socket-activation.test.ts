import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from '@chorus/client';
import { afterEach, expect, it } from 'vitest';
import { daemonMain } from '../harness/daemon.js';
import { type Launched, launch } from '../harness/process.js';

// Issue 13: there was no way to start the bus with the user's session: no systemd user unit, no
// socket activation. chorusd now takes an inherited listening socket (LISTEN_FDS/LISTEN_PID), so
// the first client starts the bus, and `chorusd install-user-service` writes the units. Tested
// with systemd-socket-activate, which speaks the protocol without a running systemd.

const run = promisify(execFile);
const activate = '/usr/bin/systemd-socket-activate';
const haveActivate = existsSync(activate);
const dirs: string[] = [];
const launched: Launched[] = [];
afterEach(async () => {
  for (const p of launched.splice(0)) p.child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-sd-'));
  dirs.push(dir);
  return dir;
}

/** systemd-socket-activate listens on `socket`; `argv` starts at the first connection. */
async function activated(socket: string, argv: string[]): Promise<Launched> {
  const p = launch(activate, ['-l', socket, '--', ...argv]);
  launched.push(p);
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return p;
}

it.skipIf(!haveActivate && process.env['CI'] !== 'true')(
  'the first client starts the bus on the socket it was handed',
  async () => {
    const dir = await tempDir();
    const socket = join(dir, 'bus.sock');
    const p = await activated(socket, [
      process.execPath,
      daemonMain,
      '--socket',
      socket,
      '--no-ws',
      '--log-level',
      'info',
    ]);
    // Nothing runs yet but the listener: the daemon starts with this connection.
    expect(p.stderr()).not.toContain('"msg":"listening"');
    const service = await connect({ address: `unix:path=${socket}`, reconnect: false });
    const app = await connect({ address: `unix:path=${socket}`, reconnect: false });
    expect((await app.listConnections()).map((c) => c.name).sort()).toEqual([service.name, app.name].sort());
    expect(p.stderr()).toMatch(/"msg":"listening".*"activated":true,"fd":3/);
    await Promise.all([service.close(), app.close()]);
    // SIGTERM stops it cleanly and leaves the socket to the service manager.
    p.child.kill('SIGTERM');
    await p.exited;
    expect(p.stderr()).toContain('"msg":"stopped"');
  },
);

it.skipIf(!haveActivate && process.env['CI'] !== 'true')(
  'install-user-service writes units that systemd accepts and that start the bus',
  async () => {
    const dir = await tempDir();
    const units = join(dir, 'units');
    const out = await run(process.execPath, [daemonMain, 'install-user-service', '--dir', units]);
    expect(out.stdout).toContain(
      'systemctl --user daemon-reload && systemctl --user enable --now chorusd.socket',
    );
    const socketUnit = await readFile(join(units, 'chorusd.socket'), 'utf8');
    const serviceUnit = await readFile(join(units, 'chorusd.service'), 'utf8');
    expect(socketUnit).toMatch(/^ListenStream=%t\/chorus\/bus\.sock$/m);
    expect(socketUnit).toMatch(/^SocketMode=0600$/m);
    expect(socketUnit).toMatch(/^DirectoryMode=0700$/m);
    // systemd's own checker, with %t the runtime directory of this test.
    const runtime = join(dir, 'run');
    await mkdir(join(runtime, 'chorus'), { recursive: true, mode: 0o700 });
    await run(
      'systemd-analyze',
      ['verify', '--user', join(units, 'chorusd.socket'), join(units, 'chorusd.service')],
      {
        env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      },
    );
    // The service's ExecStart, run as systemd would run it for the socket unit's ListenStream.
    const execStart = /^ExecStart=(.*)$/m.exec(serviceUnit)?.[1] as string;
    const argv = execStart.replaceAll('%t', runtime).split(' ');
    const socket = join(runtime, 'chorus', 'bus.sock');
    await activated(socket, argv);
    const bus = await connect({ address: `unix:path=${socket}`, reconnect: false });
    expect(bus.name).toMatch(/^:1\.\d+$/);
    await bus.close();

    const removed = await run(process.execPath, [daemonMain, 'uninstall-user-service', '--dir', units]);
    expect(removed.stdout).toContain('systemctl --user disable --now chorusd.socket chorusd.service');
    expect(existsSync(join(units, 'chorusd.socket'))).toBe(false);
    expect(existsSync(join(units, 'chorusd.service'))).toBe(false);
  },
);
