/*
 * A private D-Bus daemon for a test (no systemd, no session bus of the machine): Debian's
 * dbus-daemon with a session-like config written here, and the fake UPower service on it.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Message, type MessageBus, MessageType, sessionBus } from '@jellybrick/dbus-next';
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

/** Runs chorus-dbus expecting it to exit (a refused config): its exit code and stderr. */
export async function runBridgeToExit(
  args: readonly string[],
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [bridgeMain, '--log-level', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stderr };
}

/** A plain D-Bus client (the Node library) on the private bus, as a desktop app would be. */
export async function dbusClient(address: string): Promise<MessageBus> {
  const bus = sessionBus({ busAddress: address });
  await new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error' as 'connect', reject as () => void);
  });
  return bus;
}

/**
 * The signals `member` of `iface` a D-Bus client receives (AddMatch in place when this resolves).
 * `received` grows as they arrive, with the sender's unique name.
 */
export async function listenForSignals(
  bus: MessageBus,
  iface: string,
): Promise<{ received: { member: string; sender: string; body: unknown[] }[]; stop(): void }> {
  const received: { member: string; sender: string; body: unknown[] }[] = [];
  const onMessage = (message: Message) => {
    if (message.type === MessageType.SIGNAL && message.interface === iface) {
      received.push({ member: message.member ?? '', sender: message.sender ?? '', body: message.body });
    }
  };
  bus.on('message', onMessage);
  await callBus(
    bus,
    'org.freedesktop.DBus',
    '/org/freedesktop/DBus',
    'org.freedesktop.DBus',
    'AddMatch',
    's',
    [`type='signal',interface='${iface}'`],
  );
  return { received, stop: () => bus.off('message', onMessage) };
}

/** A D-Bus method call; a D-Bus error rejects with { errorName, text }. */
export async function callBus(
  bus: MessageBus,
  destination: string,
  path: string,
  iface: string,
  member: string,
  signature = '',
  body: unknown[] = [],
): Promise<unknown[]> {
  let reply: Message | null;
  try {
    reply = await bus.call(
      new Message({
        type: MessageType.METHOD_CALL,
        destination,
        path,
        interface: iface,
        member,
        signature,
        body,
      }),
    );
  } catch (error) {
    // The library rejects with its DBusError: `type` is the D-Bus error name.
    const { type, text } = error as { type?: string; text?: string };
    if (type === undefined) throw error;
    throw Object.assign(new Error(text ?? type), { errorName: type });
  }
  if (reply === null) return [];
  if (reply.type === MessageType.ERROR) {
    throw Object.assign(new Error(String(reply.body[0] ?? reply.errorName)), { errorName: reply.errorName });
  }
  return reply.body;
}

/** The unique name owning `name` on D-Bus, or null. */
export async function dbusOwner(bus: MessageBus, name: string): Promise<string | null> {
  try {
    const [owner] = await callBus(
      bus,
      'org.freedesktop.DBus',
      '/org/freedesktop/DBus',
      'org.freedesktop.DBus',
      'GetNameOwner',
      's',
      [name],
    );
    return owner as string;
  } catch (error) {
    if ((error as { errorName?: string }).errorName === 'org.freedesktop.DBus.Error.NameHasNoOwner')
      return null;
    throw error;
  }
}
