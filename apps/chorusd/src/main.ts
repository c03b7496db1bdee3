#!/usr/bin/env node
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type Access,
  type ConfigFile,
  loadConfig,
  resolveAccess,
  resolveLimits,
  resolveLogLevel,
} from './config.js';
import { Daemon } from './daemon.js';
import { attachSocket, listenUnix } from './listeners/unix.js';
import { listenWs, type WsListener } from './listeners/ws.js';
import { createLogger, type Logger } from './logger.js';
import { renderMetrics } from './metrics.js';
import { defaultSocketPath } from './socket-path.js';
import { webRoutes } from './web-assets.js';

const DEFAULT_WS = '127.0.0.1:7733';

const usage = `Usage: chorusd [options]

Options:
  --socket PATH            Unix socket to listen on (default: $XDG_RUNTIME_DIR/chorus/bus.sock,
                           else /tmp/chorus-<uid>/bus.sock)
  --ws HOST:PORT           WebSocket bridge, web monitor and /metrics (default: ${DEFAULT_WS};
                           port 0 picks a free port)
  --no-ws                  No WebSocket listener
  --ws-token-file FILE     Read the WebSocket token from FILE (default: a random token, written
                           with mode 0600 to ws-token beside the socket)
  --ws-allow-origin URL    Also accept browser pages from this origin (repeatable)
  --config FILE            JSON config file (limits, log level, ws)
  --log-level LEVEL        debug | info | warn | error | silent (default: info)
  -h, --help               Show this help
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
  let access: Access;
  try {
    config = args.values.config === undefined ? undefined : await loadConfig(args.values.config);
    logLevel = resolveLogLevel(args.values['log-level'], config);
    access = await resolveAccess(config);
  } catch (error) {
    process.stderr.write(`chorusd: ${(error as Error).message}\n`);
    return 2;
  }
  const log = createLogger(logLevel);
  const socketPath = resolve(args.values.socket ?? config?.socket ?? defaultSocketPath());
  const daemon = new Daemon({ limits: resolveLimits(config), log, access });

  let server: Awaited<ReturnType<typeof listenUnix>>;
  try {
    server = await listenUnix(socketPath, (socket) => attachSocket(daemon, socket), {
      highWaterMark: daemon.limits.maxSocketBufferBytes,
    });
  } catch (error) {
    log.error('cannot start', { error: (error as Error).message, socket: socketPath });
    process.stderr.write(`chorusd: ${(error as Error).message}\n`);
    return 1;
  }
  log.info('listening', { socket: socketPath, pid: process.pid });

  const wsSetting = args.values['no-ws'] ? false : (args.values.ws ?? config?.ws?.listen ?? DEFAULT_WS);
  let ws: WsListener | undefined;
  if (wsSetting !== false) {
    try {
      ws = await startWs(daemon, log, wsSetting, socketPath, {
        tokenFile: args.values['ws-token-file'] ?? config?.ws?.tokenFile,
        allowedOrigins: [...(config?.ws?.allowedOrigins ?? []), ...(args.values['ws-allow-origin'] ?? [])],
      });
    } catch (error) {
      log.error('cannot start the websocket listener', { error: (error as Error).message, ws: wsSetting });
      process.stderr.write(`chorusd: websocket ${wsSetting}: ${(error as Error).message}\n`);
      server.close();
      removeSocket(socketPath);
      return 1;
    }
  }

  // CHORUS_BUS_ADDRESS comes last: scripts may take it as the sign that everything listens.
  if (ws !== undefined) process.stdout.write(`CHORUS_WS_URL=${ws.url}\n`);
  process.stdout.write(`CHORUS_BUS_ADDRESS=unix:path=${socketPath}\n`);

  const stop = async (signal: string): Promise<void> => {
    if (daemon.closing) return;
    log.info('shutting down', { signal });
    server.close();
    await daemon.shutdown(`bus is shutting down (${signal})`);
    await ws?.close();
    removeSocket(socketPath);
    log.info('stopped');
    process.exit(0);
  };
  const configFile = args.values.config;
  process.on('SIGHUP', () => void reload(daemon, log, configFile, config));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  return new Promise<number>(() => {}); // runs until a signal stops it
}

async function startWs(
  daemon: Daemon,
  log: Logger,
  listen: string,
  socketPath: string,
  options: { tokenFile: string | undefined; allowedOrigins: string[] },
): Promise<WsListener> {
  const match = /^(.*):(\d+)$/.exec(listen);
  if (match === null) throw new Error(`expected HOST:PORT, got '${listen}'`);
  const host = (match[1] as string).replace(/^\[(.*)\]$/, '$1');
  const port = Number(match[2]);
  let token: string;
  if (options.tokenFile !== undefined) {
    token = (await readFile(options.tokenFile, 'utf8')).trim();
    if (token.length < 16) throw new Error(`${options.tokenFile}: the token must be at least 16 characters`);
  } else {
    token = randomBytes(24).toString('base64url');
    const file = join(dirname(socketPath), 'ws-token');
    await writeFile(file, `${token}\n`, { mode: 0o600 });
    log.info('websocket token written', { file });
  }
  const listener = await listenWs(daemon, {
    host,
    port,
    token,
    allowedOrigins: options.allowedOrigins,
    routes: webRoutes(),
    metrics: (identity) => renderMetrics(daemon, identity),
  });
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') {
    log.warn(
      'websocket listener is not on loopback: anyone who can reach it and has the token can use the bus',
      {
        host,
      },
    );
  }
  log.info('websocket listening', { url: listener.url });
  const page = `http://${listener.url.slice('ws://'.length)}/?token=${encodeURIComponent(token)}`;
  log.info('web monitor', { url: page });
  return listener;
}

/**
 * SIGHUP: reads the config again and swaps the policy and tokens in one step. A file that does
 * not load or validate changes nothing; limits and listeners need a restart to change.
 */
async function reload(
  daemon: Daemon,
  log: Logger,
  file: string | undefined,
  current: ConfigFile | undefined,
) {
  if (file === undefined) {
    log.info('SIGHUP: no config file to reload');
    return;
  }
  try {
    const next = await loadConfig(file);
    const access = await resolveAccess(next);
    // [GUARANTEE: access] policy and tokens swapped in one step, only once the new file loaded and validated.
    daemon.setAccess(access);
    if (JSON.stringify(next.limits ?? {}) !== JSON.stringify(current?.limits ?? {})) {
      log.warn('config reloaded; changed limits take effect at the next restart', { file });
    }
    log.info('config reloaded', { file, rules: next.policy?.rules?.length ?? 0, tokens: access.tokens.size });
  } catch (error) {
    log.error('config reload failed; keeping the previous one', { file, error: (error as Error).message });
  }
}

function removeSocket(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function parse() {
  return parseArgs({
    options: {
      socket: { type: 'string' },
      ws: { type: 'string' },
      'no-ws': { type: 'boolean' },
      'ws-token-file': { type: 'string' },
      'ws-allow-origin': { type: 'string', multiple: true },
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
