import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { WsRejections } from '../counters.js';
import type { Daemon } from '../daemon.js';
import type { SessionSocket } from '../session.js';

export interface WsListenerOptions {
  readonly host: string;
  readonly port: number;
  /** The secret every WebSocket and /metrics request must present. */
  readonly token: string;
  /** Origins a browser page may connect from, besides the daemon's own page. */
  readonly allowedOrigins: readonly string[];
  /** Serves the web monitor and other static routes; undefined routes get 404. */
  readonly routes?: ReadonlyMap<string, { type: string; body: () => Buffer | string }>;
  /** Prometheus text for /metrics, as the identity of the token presented may see it. */
  readonly metrics: (identity: string) => string;
}

export interface WsListener {
  readonly server: Server;
  /** The address it listens on, e.g. `ws://127.0.0.1:7733`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The WebSocket bridge: the same protocol as the Unix socket, one frame per binary message,
 * behind a token and an Origin allow-list so that no other web page in the user's browser
 * can reach the bus. The HTTP server on the same port serves the web monitor and /metrics.
 */
export async function listenWs(daemon: Daemon, options: WsListenerOptions): Promise<WsListener> {
  const wss = new WebSocketServer({
    noServer: true,
    // [GUARANTEE: memory] a larger WebSocket message is refused (1009) before it is buffered.
    maxPayload: daemon.limits.maxFrameBytes + 1024,
    perMessageDeflate: false,
  });
  const server = createServer((req, res) => serveHttp(req, res, options, daemon));
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // [GUARANTEE: isolation] the HTTP server no longer handles this socket's errors: a refused
    // client that resets must not take the daemon down with an unhandled 'error'.
    socket.on('error', (error) => daemon.log.debug('upgrade socket error', { error: error.message }));
    const identity = identify(tokenOf(req), options.token, daemon);
    const refusal =
      checkUpgrade(req, options, ownOrigins(server, options.host)) ??
      (identity === undefined ? BAD_TOKEN : checkLimits(daemon, identity));
    if (refusal !== undefined || identity === undefined) {
      const kind = refusal?.kind ?? 'token';
      daemon.counters.wsRejected(kind);
      daemon.log.warn('websocket refused', {
        reason: kind,
        ...(refusal?.limit === undefined ? {} : { identity, limit: refusal.limit }),
        origin: req.headers.origin,
        remote: req.socket.remoteAddress,
      });
      const status = refusal?.status ?? '401 Unauthorized';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const remote = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    wss.handleUpgrade(req, socket, head, (ws) => attachWebSocket(daemon, ws, identity, remote));
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    url: `ws://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

function ownOrigins(server: Server, host: string): string[] {
  const address = server.address() as AddressInfo | null;
  if (address === null) return [];
  const names =
    host === '127.0.0.1' || host === 'localhost' || host === '::1'
      ? ['127.0.0.1', 'localhost', '[::1]']
      : [host];
  return names.map((name) => `http://${name}:${address.port}`);
}

function tokenOf(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const url = new URL(req.url ?? '/', 'http://localhost');
  return url.searchParams.get('token') ?? undefined;
}

/** Constant-time, so the token cannot be guessed a byte at a time from response times. */
function tokenMatches(given: string | undefined, expected: string): boolean {
  // [GUARANTEE: access] constant-time comparison of the token.
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

interface Refusal {
  readonly kind: keyof WsRejections;
  readonly status: string;
  /** For kind `limit`: which one. */
  readonly limit?: string;
}

const BAD_TOKEN: Refusal = { kind: 'token', status: '401 Unauthorized' };

// [GUARANTEE: access] a browser page from a foreign Origin is refused (403) and counted.
function checkUpgrade(
  req: IncomingMessage,
  options: WsListenerOptions,
  own: readonly string[],
): Refusal | undefined {
  const origin = req.headers.origin;
  // Browsers always send Origin; Node clients and tools send none and rely on the token alone.
  if (origin !== undefined && !own.includes(origin) && !options.allowedOrigins.includes(origin)) {
    return { kind: 'origin', status: '403 Forbidden' };
  }
  return undefined;
}

/**
 * The identity is known at the upgrade, so its limits apply before any WebSocket exists: a token
 * cannot hold slots with connections that never say hello (the session counts it from then on).
 */
function checkLimits(daemon: Daemon, identity: string): Refusal | undefined {
  // [GUARANTEE: memory] maxConnectionsPerIdentity and maxHelloPending, checked at the upgrade: 429.
  const limit = daemon.wsAdmission(identity);
  return limit === undefined ? undefined : { kind: 'limit', status: '429 Too Many Requests', limit };
}

/** The default token is the identity `ws`; a named token from the config, its name. */
function identify(token: string | undefined, defaultToken: string, daemon: Daemon): string | undefined {
  if (token === undefined) return undefined;
  if (tokenMatches(token, defaultToken)) return 'ws';
  return daemon.access.identityOf(token);
}

function serveHttp(
  req: IncomingMessage,
  res: ServerResponse,
  options: WsListenerOptions,
  daemon: Daemon,
): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' }).end();
    return;
  }
  if (url.pathname === '/metrics') {
    const identity = identify(tokenOf(req), options.token, daemon);
    if (identity === undefined) {
      daemon.counters.wsRejected('token');
      res.writeHead(401, { 'Content-Type': 'text/plain' }).end('token required\n');
      return;
    }
    res
      .writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' })
      .end(options.metrics(identity));
    return;
  }
  const route = options.routes?.get(url.pathname);
  if (route === undefined) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    return;
  }
  // The page holds no secret (the token comes in its URL), but must not be framed by other sites.
  res.setHeader('Content-Security-Policy', "frame-ancestors 'none'");
  res.writeHead(200, { 'Content-Type': route.type, 'Cache-Control': 'no-store' }).end(route.body());
}

/** Adapts a `ws` connection to what a session needs; each frame travels as one binary message. */
export function attachWebSocket(daemon: Daemon, ws: WebSocket, identity = 'ws', remote?: string): void {
  const highWater = daemon.limits.maxSocketBufferBytes;
  let needDrain = false;
  let onDrain: () => void = () => {};
  // One shared callback, not a closure per message: checks whether the buffer has drained.
  const afterSend = (): void => {
    if (needDrain && ws.bufferedAmount < highWater) {
      needDrain = false;
      onDrain();
    }
  };
  const socket: SessionSocket = {
    write(chunk) {
      if (ws.readyState !== ws.OPEN) return false;
      ws.send(chunk, { binary: true }, afterSend);
      if (ws.bufferedAmount >= highWater) needDrain = true;
      return !needDrain;
    },
    cork() {},
    uncork() {},
    get writableLength() {
      return ws.bufferedAmount;
    },
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    end(last?: Uint8Array) {
      if (last !== undefined && ws.readyState === ws.OPEN) ws.send(last, { binary: true });
      ws.close(1000);
    },
    destroy: () => ws.terminate(),
  };
  // [GUARANTEE: isolation] first: a refused connection can still send a bad WebSocket frame.
  ws.on('error', (error) =>
    daemon.log.debug('websocket error', { conn: session?.name, error: error.message }),
  );
  const session = daemon.accept(socket, 'ws', identity, remote === undefined ? {} : { remote });
  if (session === undefined) return;
  onDrain = () => daemon.writes.schedule(session);
  let alive = true;
  const ping = setInterval(() => {
    // Half-open connections never answer: cut them instead of holding their state forever.
    // [GUARANTEE: backpressure] a half-open WebSocket (no pong, no data for a whole interval) is cut.
    if (!alive) {
      daemon.log.info('websocket idle timeout', { conn: session.name });
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
  }, daemon.limits.wsPingIntervalMs);
  ping.unref();
  ws.on('pong', () => {
    alive = true;
  });
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    alive = true;
    if (!isBinary) {
      ws.close(1003, 'binary frames only');
      return;
    }
    try {
      session.receive(data);
    } catch (error) {
      daemon.log.error('internal error; closing connection', { conn: session.name, error: String(error) });
      ws.terminate();
    }
  });
  ws.on('close', () => {
    clearInterval(ping);
    session.closed();
  });
}
