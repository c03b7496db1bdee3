/*
 * The Chorus daemon for the bench: the built chorusd, started with its default limits (or a
 * given config) on a socket in the temporary directory. Kept apart from the SDK side so that a
 * bench of the peers does not load @chorus/client.
 */

import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnProcess, waitUntil } from '../processes.js';
import type { Broker, BrokerOptions, SystemServer } from './system.js';

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
export const daemonMain = join(repoRoot, 'apps/chorusd/dist/main.js');

/** Starts `chorusd` with `config` (its defaults when omitted) on a socket in `dir`. */
export async function startDaemon(options: BrokerOptions & { config?: object }): Promise<Broker> {
  const socket = join(options.dir, 'chorus.sock');
  // No WebSocket bridge: it would take the fixed default port (and it is not what is measured).
  const args = [
    ...(options.nodeFlags ?? []),
    daemonMain,
    '--socket',
    socket,
    '--no-ws',
    '--log-level',
    'warn',
  ];
  if (options.config !== undefined) {
    const file = join(options.dir, 'chorusd.json');
    await writeFile(file, JSON.stringify(options.config));
    args.push('--config', file);
  }
  const spawned = spawnProcess(process.execPath, args);
  await waitUntil(spawned, 'chorusd', () => /CHORUS_BUS_ADDRESS=/.test(spawned.output()));
  const match = /CHORUS_BUS_ADDRESS=(\S+)/.exec(spawned.output());
  return {
    address: match?.[1] ?? `unix:path=${socket}`,
    pid: spawned.child.pid,
    stop: () => spawned.stop('SIGTERM'),
  };
}

export const chorusServer: SystemServer = {
  id: 'chorus',
  label: 'Chorus',
  peer: false,
  topics: true,
  async unavailable() {
    if (!existsSync(daemonMain)) return `${daemonMain} is missing: run 'npm run build'`;
    try {
      await import('@chorus/client');
    } catch (error) {
      return `@chorus/client does not load (${String(error).split('\n')[0]}): run 'npm run build'`;
    }
    return undefined;
  },
  async versions() {
    const version = async (path: string) =>
      (JSON.parse(await readFile(join(repoRoot, path), 'utf8')) as { version: string }).version;
    return {
      chorusd: await version('apps/chorusd/package.json'),
      '@chorus/client': await version('packages/client/package.json'),
    };
  },
  start: (options) => startDaemon(options),
};

/**
 * The same daemon, the emitter using `group.emit` (one answer per message) instead of
 * `group.publish`: what the acknowledgement costs, in the same run.
 */
export const chorusEmitServer: SystemServer = {
  ...chorusServer,
  id: 'chorus-emit',
  label: 'Chorus, emit',
};

/**
 * The same daemon, with the bench's groups created with `validate: false`: the cost of checking
 * every emit against the contract is the difference from `chorus`, in the same run.
 */
export const chorusNoValidateServer: SystemServer = {
  ...chorusServer,
  id: 'chorus-novalidate',
  label: 'Chorus, validate off',
  optIn: true,
};
