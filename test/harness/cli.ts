import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { type RunningDaemon, repoRoot } from './daemon.js';

/** Runs the built `chorus` with ARGS against the daemon, to its end. */
export function chorus(
  bus: RunningDaemon,
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, CHORUS_BUS_ADDRESS: bus.address };
  delete env['CHORUS_TOKEN'];
  delete env['FORCE_COLOR'];
  const child = spawn(process.execPath, [join(repoRoot, 'apps/chorus/dist/main.js'), ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}
