import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './daemon.js';

export const fixturesDir = join(repoRoot, 'test/fixtures');

/** One JSON line a fixture printed on stdout (see test/fixtures/lib.mjs `report`). */
export interface FixtureEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * A fixture script (test/fixtures/*.mjs) running in its own `node` process: a real SDK client in
 * another process. It reports JSON lines on stdout and takes JSON commands on stdin.
 */
export interface FixtureProcess {
  readonly name: string;
  readonly process: ChildProcess;
  /** Every event reported so far, in order. */
  readonly events: FixtureEvent[];
  /** Sends one command (a JSON line on stdin). */
  send(command: { readonly cmd: string; readonly [key: string]: unknown }): void;
  /** Resolves with the first event (from the start) matching; rejects on exit or timeout. */
  waitFor(predicate: (event: FixtureEvent) => boolean, timeoutMs?: number): Promise<FixtureEvent>;
  /** Everything written to stderr so far. */
  stderr(): string;
  readonly exited: Promise<ChildExit>;
  /** Sends `signal` (default SIGKILL) unless already exited, and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<ChildExit>;
}

/**
 * Spawns fixtures and kills whatever is still running at the end of a test file.
 *
 * @example
 * ```ts
 * const children = new Fixtures();
 * afterEach(() => children.killAll());
 * const emitter = children.spawn('emitter.mjs', { address, groups: ['test.a.G'] });
 * await emitter.waitFor((e) => e.event === 'ready');
 * ```
 */
export class Fixtures {
  readonly #running = new Set<FixtureProcess>();

  spawn(script: string, options: object, env: NodeJS.ProcessEnv = {}): FixtureProcess {
    const child = spawnFixture(script, [JSON.stringify(options)], env);
    this.#running.add(child);
    void child.exited.then(() => this.#running.delete(child));
    return child;
  }

  /** Runs any script (e.g. an example) the same way. */
  spawnScript(path: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): FixtureProcess {
    const child = spawnFixture(path, args, env);
    this.#running.add(child);
    void child.exited.then(() => this.#running.delete(child));
    return child;
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.#running].map((child) => child.kill('SIGKILL')));
  }
}

/** Sends a command and waits for the `answer` event reported after it. */
export async function ask(
  child: FixtureProcess,
  command: { readonly cmd: string; readonly [key: string]: unknown },
  answer: string,
): Promise<FixtureEvent> {
  const seen = child.events.length;
  child.send(command);
  return child.waitFor((e) => e.event === answer && child.events.indexOf(e) >= seen);
}

/** Spawns a fixture and waits for its `ready` event, which names its connection. */
export async function spawnReady(
  children: Fixtures,
  script: string,
  options: object,
): Promise<{ peer: FixtureProcess; name: string }> {
  const peer = children.spawn(script, options);
  const ready = await peer.waitFor((e) => e.event === 'ready');
  return { peer, name: ready['name'] as string };
}

function spawnFixture(script: string, args: readonly string[], env: NodeJS.ProcessEnv): FixtureProcess {
  const path = script.includes('/') ? script : join(fixturesDir, script);
  // cwd = the repo root, where the built '@chorus/client' resolves (as for any app of this repo).
  const child = spawn(process.execPath, [path, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: FixtureEvent[] = [];
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  let stderr = '';
  let stdoutRest = '';
  let done = false;
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdoutRest += d;
    let newline = stdoutRest.indexOf('\n');
    while (newline >= 0) {
      const line = stdoutRest.slice(0, newline);
      stdoutRest = stdoutRest.slice(newline + 1);
      newline = stdoutRest.indexOf('\n');
      if (line.trim() === '') continue;
      try {
        const parsed = JSON.parse(line) as FixtureEvent;
        events.push(typeof parsed === 'object' && parsed !== null ? parsed : { event: 'line', line });
      } catch {
        events.push({ event: 'line', line });
      }
    }
    wake();
  });
  // A child that exits while we still write to it must not crash the test run.
  child.stdin?.on('error', () => {});
  // 'close', not 'exit': it comes once stdout has ended too, so every line has been seen.
  const exited = new Promise<ChildExit>((resolve) =>
    child.once('close', (code, signal) => {
      done = true;
      wake();
      resolve({ code, signal });
    }),
  );
  const name = script.split('/').pop() ?? script;
  const describe = (): string =>
    `${name}: events ${JSON.stringify(events).slice(-1500)}; stderr: ${stderr.slice(-2000)}`;
  return {
    name,
    process: child,
    events,
    send(command) {
      child.stdin?.write(`${JSON.stringify(command)}\n`);
    },
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const found = events.find(predicate);
          if (found !== undefined) {
            settle();
            resolve(found);
            return true;
          }
          if (done) {
            settle();
            reject(new Error(`exited (${child.exitCode ?? child.signalCode}) first; ${describe()}`));
            return true;
          }
          return false;
        };
        const timer = setTimeout(() => {
          settle();
          reject(new Error(`timed out waiting; ${describe()}`));
        }, timeoutMs);
        const settle = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        if (!check()) waiters.add(check);
      });
    },
    stderr: () => stderr,
    exited,
    async kill(signal = 'SIGKILL') {
      if (!done && child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
