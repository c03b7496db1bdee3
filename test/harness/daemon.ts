import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const daemonMain = join(repoRoot, 'apps/chorusd/dist/main.js');

export interface RunningDaemon {
  readonly address: string;
  readonly socketPath: string;
  /** `ws://127.0.0.1:PORT`, unless started with `--no-ws`. */
  readonly wsUrl: string | undefined;
  /** The WebSocket token the daemon wrote beside its socket. */
  wsToken(): Promise<string>;
  readonly dir: string;
  readonly process: ChildProcess;
  /** Everything the daemon wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL. */
  kill(): Promise<void>;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
}

export interface StartOptions {
  readonly args?: readonly string[];
  readonly config?: object;
  readonly logLevel?: string;
  readonly dir?: string;
}

/** Starts the built `chorusd` on a socket in a fresh temporary directory and waits until it listens. */
export async function startDaemon(options: StartOptions = {}): Promise<RunningDaemon> {
  if (!existsSync(daemonMain)) throw new Error(`${daemonMain} is missing: run 'npm run build' first`);
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'chorus-test-')));
  const socketPath = join(dir, 'bus.sock');
  const extra = options.args ?? [];
  // A free port each, so that daemons of parallel tests never collide on the default 7733.
  const ws = extra.includes('--ws') || extra.includes('--no-ws') ? [] : ['--ws', '127.0.0.1:0'];
  const args = [
    daemonMain,
    '--socket',
    socketPath,
    '--log-level',
    options.logLevel ?? 'warn',
    ...ws,
    ...extra,
  ];
  if (options.config !== undefined) {
    const { writeFile } = await import('node:fs/promises');
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify(options.config));
    args.push('--config', file);
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  let stdout = '';
  const address = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`daemon did not start in time; stderr: ${stderr}`)), 15_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const match = /^CHORUS_BUS_ADDRESS=(.+)$/m.exec(stdout);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        res(match[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`daemon exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
  const wsUrl = /^CHORUS_WS_URL=(.+)$/m.exec(stdout)?.[1];
  const running: RunningDaemon = {
    address,
    socketPath,
    wsUrl,
    async wsToken() {
      const { readFile } = await import('node:fs/promises');
      return (await readFile(join(dir, 'ws-token'), 'utf8')).trim();
    },
    dir,
    process: child,
    stderr: () => stderr,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  return running;
}

/** Starts a daemon for one test file and stops it (and removes its directory) afterwards. */
export async function withDaemon(
  options: StartOptions = {},
): Promise<RunningDaemon & { cleanup(): Promise<void> }> {
  const daemon = await startDaemon(options);
  return Object.assign(daemon, {
    async cleanup() {
      await daemon.kill();
      await rm(daemon.dir, { recursive: true, force: true });
    },
  });
}
