import { lstat, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Daemon } from '../daemon.js';
import { socketInode } from '../peer-process.js';

export class ListenError extends Error {
  readonly code: 'ADDRESS_IN_USE' | 'NOT_A_SOCKET' | 'LISTEN_FAILED';
  constructor(code: ListenError['code'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ListenError';
    this.code = code;
  }
}

/**
 * Listens on a Unix socket at `path`, readable and writable by its owner only: the socket gets
 * mode 0600 from the moment it exists. The directory must exist already (the daemon makes sure it
 * is the user's own, mode 0700: see runtime-dir.ts). A live daemon at `path` is an error; a stale
 * socket file is replaced; anything that is not a socket (a file, a symlink) is left alone and
 * refused. With `fd`, it takes over a socket that is already listening (systemd's socket
 * activation) and leaves the path alone.
 */
export async function listenUnix(
  path: string,
  onConnection: (socket: Socket) => void,
  options: { readonly highWaterMark?: number; readonly fd?: number } = {},
): Promise<Server> {
  // [why] A session stops writing once a socket holds maxSocketBufferBytes and waits for 'drain',
  // which a socket only emits after a write reached its high-water mark: the two must match.
  const server = createServer({ pauseOnConnect: false, highWaterMark: options.highWaterMark }, onConnection);
  if (options.fd !== undefined) {
    await listen(server, { fd: options.fd }, `the inherited socket (fd ${options.fd})`);
    return server;
  }
  await removeStale(path);
  // umask, not chmod after listen: there must be no moment when others could connect.
  // [GUARANTEE: access] mode 0600 from the first moment: no window where others could connect.
  const previous = process.umask(0o177);
  try {
    await listen(server, { path }, path);
  } finally {
    process.umask(previous);
  }
  return server;
}

async function listen(server: Server, where: { path: string } | { fd: number }, what: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(where, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (cause) {
    throw new ListenError('LISTEN_FAILED', `cannot listen on ${what}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

async function removeStale(path: string): Promise<void> {
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  // [GUARANTEE: access] a file or a planted symlink at the path is refused, never followed or replaced.
  if (!stats.isSocket()) {
    throw new ListenError(
      'NOT_A_SOCKET',
      `${path} exists and is not a socket${stats.isSymbolicLink() ? ' (a symlink)' : ''}; refusing to replace it`,
    );
  }
  if (await isListening(path)) {
    throw new ListenError('ADDRESS_IN_USE', `another daemon is already listening on ${path}`);
  }
  await unlink(path);
}

function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/**
 * Hands an accepted socket to the daemon. An exception while handling one connection's bytes
 * is a bug, but it must cost only that connection: it is logged and the socket is cut.
 */
export function attachSocket(daemon: Daemon, socket: Socket): void {
  // [GUARANTEE: isolation] first: a refused socket whose peer is gone fails its write (EPIPE) too.
  socket.on('error', (error) =>
    daemon.log.debug('socket error', { conn: session?.name, error: error.message }),
  );
  const inode = socketInode(socket);
  const session = daemon.accept(socket, 'unix', undefined, inode === undefined ? {} : { socketInode: inode });
  if (session === undefined) return;
  socket.on('data', (chunk: Buffer) => {
    try {
      session.receive(chunk);
    } catch (error) {
      daemon.log.error('internal error; closing connection', { conn: session.name, error: String(error) });
      socket.destroy();
    }
  });
  socket.on('drain', () => daemon.writes.schedule(session));
  socket.on('close', () => session.closed());
}
