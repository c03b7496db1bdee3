#!/usr/bin/env node
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { type FederationConfig, resolveFederation } from './federation/config.js';
import { attachSocket, listenUnix } from './listeners/unix.js';
import { listenWs, type WsListener } from './listeners/ws.js';
import { createLogger, type Logger } from './logger.js';
import { renderMetrics } from './metrics.js';
import { ensurePrivateDir } from './runtime-dir.js';
import { inheritedSocket } from './socket-activation.js';
import { defaultSocketPath } from './socket-path.js';
import { runUserServiceCommand } from './user-service.js';
import { webRoutes } from './web-assets.js';
import { loadOrCreateToken } from './ws-token.js';

const DEFAULT_WS = '127.0.0.1:7733';

const usage = `Usage: chorusd [options]

Options:
  --socket PATH            Unix socket to listen on (default: $XDG_RUNTIME_DIR/chorus/bus.sock,
                           else /tmp/chorus-<uid>/bus.sock)
  --ws HOST:PORT           WebSocket bridge, web monitor and /metrics (default: ${DEFAULT_WS};
                           port 0 picks a free port; a port in use falls back to a free one,
                           and the URL is always written to ws-url beside the socket)
  --no-ws                  No WebSocket listener
  --ws-token-file FILE     Read the WebSocket token from FILE (default: ws-token beside the
                           socket, mode 0600, made once and kept across restarts)
  --rotate-ws-token        Replace the token in ws-token with a new one
  --ws-allow-origin URL    Also accept browser pages from this origin (repeatable)
  --federation URL[,URL…]  Carry federated groups over the NATS JetStream servers at these
                           nats://HOST:PORT URLs (the config's federation key sets the rest)
  --config FILE            JSON config file (limits, log level, ws, federation)
  --log-level LEVEL        debug | info | warn | error | silent (default: info)
  -h, --help               Show this help

Commands:
  install-user-service     Write systemd user units that start the bus with your session
  uninstall-user-service   Remove them
`;

async function main(): Promise<number> {
  const main = fileURLToPath(import.meta.url);
  const subcommand = await runUserServiceCommand(process.argv.slice(2), main, (text) =>
    process.stdout.write(text),
  );
  if (subcommand !== undefined) return subcommand;
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
  let federation: FederationConfig | undefined;
  try {
    config = args.values.config === undefined ? undefined : await loadConfig(args.values.config);
    logLevel = resolveLogLevel(args.values['log-level'], config);
    access = await resolveAccess(config);
    const socket = resolve(args.values.socket ?? config?.socket ?? defaultSocketPath());
    federation = resolveFederation(args.values.federation, config?.federation, socket);
  } catch (error) {
    process.stderr.write(`chorusd: ${(error as Error).message}\n`);
    return 2;
  }
  const log = createLogger(logLevel);
  const explicitSocket = args.values.socket ?? config?.socket;
  const socketPath = resolve(explicitSocket ?? defaultSocketPath());
  const socketDir = dirname(socketPath);
  const daemon = new Daemon({
    limits: resolveLimits(config),
    log,
    access,
    ...(federation === undefined ? {} : { federation }),
  });
  if (daemon.federation !== undefined) {
    // Its federated groups exist here before the first client comes, so a client that rejoins
    // after a restart finds them; NATS out of reach delays the start by publishTimeoutMs at most.
    const waited = await Promise.race([
      daemon.federation.ready.then(
        () => true,
        () => false,
      ),
      new Promise<false>((res) =>
        setTimeout(() => res(false), daemon.federation?.config.publishTimeoutMs).unref(),
      ),
    ]);
    if (!waited) log.warn('federation not ready yet; starting, federated requests will wait for it', {});
  }

  let server: Awaited<ReturnType<typeof listenUnix>>;
  let inherited: ReturnType<typeof inheritedSocket>;
  try {
    inherited = inheritedSocket(process.env, process.pid);
    // The default directories, and one the daemon creates for --socket, must be the user's own
    // (0700); an existing directory named by --socket (say /tmp) is the user's explicit choice.
    if (explicitSocket === undefined || !existsSync(socketDir)) await ensurePrivateDir(socketDir);
    server = await listenUnix(socketPath, (socket) => attachSocket(daemon, socket), {
      highWaterMark: daemon.limits.maxSocketBufferBytes,
      ...(inherited === undefined ? {} : { fd: inherited.fd }),
    });
  } catch (error) {
    log.error('cannot start', { error: (error as Error).message, socket: socketPath });
    process.stderr.write(`chorusd: ${(error as Error).message}\n`);
    return 1;
  }
  log.info('listening', {
    socket: socketPath,
    pid: process.pid,
    ...(inherited === undefined ? {} : { activated: true, fd: inherited.fd }),
  });

  const wsSetting = args.values['no-ws'] ? false : (args.values.ws ?? config?.ws?.listen ?? DEFAULT_WS);
  let ws: WsListener | undefined;
  const wsUrlFile = join(socketDir, 'ws-url');
  if (wsSetting !== false) {
    try {
      ws = await startWs(daemon, log, wsSetting, socketPath, {
        tokenFile: args.values['ws-token-file'] ?? config?.ws?.tokenFile,
        rotateToken: args.values['rotate-ws-token'] === true,
        allowedOrigins: [...(config?.ws?.allowedOrigins ?? []), ...(args.values['ws-allow-origin'] ?? [])],
      });
      await writeFile(wsUrlFile, `${ws.url}\n`, { mode: 0o600 });
    } catch (error) {
      // [GUARANTEE: availability] a secondary listener never keeps the bus from starting.
      log.error('websocket listener not started; the bus runs on its Unix socket only', {
        error: (error as Error).message,
        ws: wsSetting,
      });
      process.stderr.write(
        `chorusd: no WebSocket listener (${wsSetting}): ${(error as Error).message}; the bus runs on its Unix socket only\n`,
      );
      ws = undefined;
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
    if (ws !== undefined) removeFile(wsUrlFile);
    // An inherited socket belongs to the service manager, which listens on it again.
    if (inherited === undefined) removeFile(socketPath);
    log.info('stopped');
    process.exit(0);
  };
  const configFile = args.values.config;
  process.on('SIGHUP', () => void reload(daemon, log, configFile, config));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  watchLauncher(log, (why) => void stop(why));
  return new Promise<number>(() => {}); // runs until a signal stops it
}

async function startWs(
  daemon: Daemon,
  log: Logger,
  listen: string,
  socketPath: string,
  options: { tokenFile: string | undefined; rotateToken: boolean; allowedOrigins: string[] },
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
    const file = join(dirname(socketPath), 'ws-token');
    const kept = await loadOrCreateToken(file, { rotate: options.rotateToken });
    token = kept.token;
    if (kept.created)
      log.info('websocket token written', { file, ...(kept.replaced ? { replaced: kept.replaced } : {}) });
    else log.info('websocket token reused', { file });
  }
  const listenOn = (onPort: number) =>
    listenWs(daemon, {
      host,
      port: onPort,
      token,
      allowedOrigins: options.allowedOrigins,
      routes: webRoutes(),
      metrics: (identity) => renderMetrics(daemon, identity),
    });
  let listener: WsListener;
  try {
    listener = await listenOn(port);
  } catch (error) {
    // Another user's bus (or anything else) has the port: take a free one; ws-url tells where.
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw error;
    listener = await listenOn(0);
    log.warn('websocket port in use; listening on a free port instead', {
      wanted: port,
      port: listener.port,
    });
  }
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

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * `npm start` and `npx chorusd` run the daemon under a shell that npm signals and that does not
 * pass the signal on: when that launcher dies, the daemon would live on, orphaned, with its
 * socket in place. Started by npm (which sets `npm_command`), the daemon stops as on SIGTERM
 * once its parent is gone. Started any other way (systemd, a script, a terminal), nothing changes.
 */
function watchLauncher(log: Logger, stop: (why: string) => void): void {
  if (process.env['npm_command'] === undefined && process.env['npm_lifecycle_event'] === undefined) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (currentParent() === parent) return;
    clearInterval(timer);
    log.info('the npm process that started the bus is gone', { parent });
    stop('launcher exited');
  }, 250);
  timer.unref();
}

/** The parent's pid now (`process.ppid` is fixed at start): 1 or a subreaper once orphaned. */
function currentParent(): number {
  try {
    // /proc/self/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses.
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    try {
      process.kill(process.ppid, 0);
      return process.ppid;
    } catch {
      return 1;
    }
  }
}

function parse() {
  return parseArgs({
    options: {
      socket: { type: 'string' },
      ws: { type: 'string' },
      'no-ws': { type: 'boolean' },
      'ws-token-file': { type: 'string' },
      'rotate-ws-token': { type: 'boolean' },
      'ws-allow-origin': { type: 'string', multiple: true },
      config: { type: 'string' },
      'log-level': { type: 'string' },
      federation: { type: 'string' },
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
