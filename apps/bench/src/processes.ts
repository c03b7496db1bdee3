/*
 * Helpers to run brokers as child processes: spawn and wait until they listen, stop them, find
 * binaries and free ports, read a process's RSS.
 */

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { access, constants, readFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { sleep } from './clock.js';

export interface Spawned {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Brokers still running: killed if the bench exits early (Ctrl-C, a crash), so none is left behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => process.exit(130));
}

/** Spawns a long-running process, keeping its output (for errors) and a way to stop it. */
export function spawnProcess(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Spawned {
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: env ?? process.env,
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  const keep = (data: Buffer): void => {
    output += data.toString('utf8');
    if (output.length > 64 * 1024) output = output.slice(-32 * 1024);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (error) => {
      output += String(error);
      resolve(-1);
    });
  });
  return {
    child,
    exited,
    output: () => output,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits until `ready()` is true, failing early if the process exits. */
export async function waitUntil(
  spawned: Spawned,
  what: string,
  ready: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void spawned.exited.then(() => {
    exited = true;
  });
  while (Date.now() < deadline) {
    if (await ready()) return;
    if (exited) throw new Error(`${what} exited before it was ready: ${spawned.output().slice(-2000)}`);
    await sleep(25);
  }
  await spawned.stop('SIGKILL');
  throw new Error(`${what} was not ready within ${timeoutMs} ms: ${spawned.output().slice(-2000)}`);
}

/** Resolves true if something accepts connections at the TCP port or Unix socket path. */
export function canConnect(target: { port: number; host: string } | { path: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target as never);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The absolute path of an executable found in PATH (or /usr/sbin, where Debian puts daemons). */
export async function which(name: string): Promise<string | undefined> {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = `${dir}/${name}`;
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs a command to completion and returns stdout + stderr (for `--version`). */
export function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 5000 }, (_error, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
}

/** Resident set size of a process, bytes (VmRSS of /proc/PID/status). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match?.[1] === undefined) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** CPU time (user + system) a process has used so far, µs; undefined if it is gone. */
export async function cpuTimeUs(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which is in parentheses and may hold spaces): utime and
    // stime are the 12th and 13th, in clock ticks (USER_HZ, 100 on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}
