/*
 * A private D-Bus daemon for a test (no systemd, no session bus of the machine): Debian's
 * dbus-daemon with a session-like config written here, and the fake UPower service on it.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturesDir } from './child.js';

export interface PrivateDBus {
  readonly address: string;
  readonly dir: string;
  stop(): Promise<void>;
}

async function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start; stderr: ${err}`)), 20_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const match = pattern.exec(out);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1] ?? match[0]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}; stderr: ${err}`));
    });
  });
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

/** Starts `dbus-daemon --nofork --print-address` on a socket in a fresh directory. */
export async function startDBus(): Promise<PrivateDBus> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-dbus-'));
  const config = join(dir, 'session.conf');
  await writeFile(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${join(dir, 'bus')}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
  const child = spawn('/usr/bin/dbus-daemon', [`--config-file=${config}`, '--print-address', '--nofork'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const address = (await waitForLine(child, /^(unix:\S+)$/m, 'dbus-daemon')).trim();
  return {
    address,
    dir,
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface FakeService {
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts test/fixtures/fake-upower.py on `address`, owning `name`; resolves once it owns it. */
export async function startFakeUPower(
  address: string,
  name = 'org.freedesktop.UPower',
): Promise<FakeService> {
  const child = spawn('/usr/bin/python3', [join(fixturesDir, 'fake-upower.py'), address, name], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(child, /FAKE_UPOWER_READY/, 'the fake UPower');
  return { process: child, stop: () => stopChild(child, 'SIGKILL') };
}

export const bridgeMain = join(fixturesDir, '../../apps/chorus-dbus/dist/main.js');

export interface RunningBridge {
  readonly process: ChildProcess;
  /** The groups it created, as its ready line listed them. */
  readonly groups: readonly string[];
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts the built chorus-dbus and waits for its CHORUS_DBUS_READY line. */
export async function startBridgeProcess(args: readonly string[]): Promise<RunningBridge> {
  const child = spawn(process.execPath, [bridgeMain, '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const line = await waitForLine(child, /^CHORUS_DBUS_READY=(.*)$/m, 'chorus-dbus');
  return {
    process: child,
    groups: line === '' ? [] : line.split(','),
    stderr: () => err,
    stop: () => stopChild(child),
  };
}
