#!/usr/bin/env node
import { unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type ConfigFile, loadConfig, resolveLimits, resolveLogLevel } from './config.js';
import { Daemon } from './daemon.js';
import { attachSocket, listenUnix } from './listeners/unix.js';
import { createLogger } from './logger.js';
import { defaultSocketPath } from './socket-path.js';

const usage = `Usage: chorusd [options]

Options:
  --socket PATH      Unix socket to listen on (default: $XDG_RUNTIME_DIR/chorus/bus.sock,
                     else /tmp/chorus-<uid>/bus.sock)
  --config FILE      JSON config file (limits, log level)
  --log-level LEVEL  debug | info | warn | error | silent (default: info)
  -h, --help         Show this help
`;

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (error) {
    process.stderr.write(`chorusd: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(usage);
    return 0;
  }
  let config: ConfigFile | undefined;
  let logLevel: ReturnType<typeof resolveLogLevel>;
  try {
    config = args.values.config === undefined ? undefined : await loadConfig(args.values.config);
    logLevel = resolveLogLevel(args.values['log-level'], config);
  } catch (error) {
    process.stderr.write(`chorusd: ${(error as Error).message}\n`);
    return 2;
  }
  const log = createLogger(logLevel);
  const socketPath = resolve(args.values.socket ?? config?.socket ?? defaultSocketPath());
  const daemon = new Daemon({ limits: resolveLimits(config), log });

  let server: Awaited<ReturnType<typeof listenUnix>>;
  try {
    server = await listenUnix(socketPath, (socket) => attachSocket(daemon, socket));
  } catch (error) {
    log.error('cannot start', { error: (error as Error).message, socket: socketPath });
    process.stderr.write(`chorusd: ${(error as Error).message}\n`);
    return 1;
  }
  log.info('listening', { socket: socketPath, pid: process.pid });
  process.stdout.write(`CHORUS_BUS_ADDRESS=unix:path=${socketPath}\n`);

  const stop = async (signal: string): Promise<void> => {
    if (daemon.closing) return;
    log.info('shutting down', { signal });
    server.close();
    await daemon.shutdown(`bus is shutting down (${signal})`);
    try {
      unlinkSync(socketPath);
    } catch {
      // already gone
    }
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  return new Promise<number>(() => {}); // runs until a signal stops it
}

function parse() {
  return parseArgs({
    options: {
      socket: { type: 'string' },
      config: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `chorusd: fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
