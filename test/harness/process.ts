import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

/** A process whose stdout announces `CHORUS_BUS_ADDRESS=` (chorusd, however it is started). */
export interface Launched {
  readonly child: ChildProcess;
  /** Resolves with the bus address once printed; rejects if the process exits first. */
  readonly ready: Promise<string>;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string | null>;
  stdout(): string;
  stderr(): string;
}

/** Spawns `command` and watches its output; it is the caller's job to stop it. */
export function launch(command: string, args: readonly string[], options: SpawnOptions = {}): Launched {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const match = /^CHORUS_BUS_ADDRESS=(.+)$/m.exec(out);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before listening; stderr: ${err}`)));
  });
  ready.catch(() => {});
  return { child, ready, exited, stdout: () => out, stderr: () => err };
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
