#!/usr/bin/env node
import { run } from './cli.js';
import type { Io } from './context.js';

// Ctrl-C, SIGTERM and a closed stdout (`chorus monitor | head`) ask a running command to stop;
// a second Ctrl-C ends the process at once. Without a handler, the signals act as usual.
const handlers = new Set<() => void>();
let interrupted = 0;

function interrupt(): void {
  interrupted++;
  if (interrupted > 1) process.exit(130);
  for (const handler of handlers) handler();
}

function onSignal(): void {
  if (handlers.size === 0) process.exit(130);
  interrupt();
}

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  // The reader went away: nothing more can be shown.
  if (handlers.size === 0) process.exit(0);
  interrupt();
});

const io: Io = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  uid: process.getuid?.() ?? 0,
  onInterrupt(handler) {
    if (handlers.size === 0) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    handlers.add(handler);
    return () => {
      handlers.delete(handler);
      if (handlers.size === 0) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    };
  },
};

process.exitCode = await run(process.argv.slice(2), io);
