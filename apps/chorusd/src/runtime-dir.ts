import type { Stats } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Why the daemon will not put its socket in a directory. */
export class RuntimeDirError extends Error {
  readonly code = 'UNSAFE_RUNTIME_DIR';
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = 'RuntimeDirError';
    this.path = path;
  }
}

/**
 * Makes sure `dir` is a directory that only the daemon's user can enter: created with mode 0700
 * when missing (its missing parents too), else it must be a real directory (never a symlink),
 * owned by this user, with no permission bits for group or others. Anything else is refused,
 * naming the directory, its owner and its mode: whoever else can write there could move the
 * socket away and put their own in its place, and every client of the bus would talk to them.
 *
 * `uid` is the daemon's user (injected for tests; `process.getuid()` otherwise).
 */
export async function ensurePrivateDir(dir: string, uid: number = currentUid()): Promise<void> {
  // [GUARANTEE: access] the socket's directory is the user's own, mode 0700, never a symlink.
  let stats = await lstatOrUndefined(dir);
  if (stats === undefined) {
    const parent = dirname(dir);
    if (parent !== dir && (await lstatOrUndefined(parent)) === undefined) {
      await mkdir(parent, { recursive: true, mode: 0o700 });
    }
    try {
      await mkdir(dir, { mode: 0o700 });
    } catch (error) {
      // Someone made it between the look and the mkdir: judge what is there now, below.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    stats = await lstat(dir);
  }
  const where = `the socket's directory ${dir}`;
  if (stats.isSymbolicLink()) {
    throw new RuntimeDirError(
      dir,
      `${where} is a symlink; refusing to follow it. Remove it, or pick another --socket.`,
    );
  }
  if (!stats.isDirectory()) {
    throw new RuntimeDirError(dir, `${where} is not a directory. Remove it, or pick another --socket.`);
  }
  const mode = stats.mode & 0o777;
  if (stats.uid !== uid || (mode & 0o077) !== 0) {
    const owner = stats.uid === uid ? 'you' : `uid ${stats.uid}`;
    throw new RuntimeDirError(
      dir,
      `${where} is owned by ${owner} with mode ${mode.toString(8).padStart(4, '0')}; it must be yours ` +
        `(uid ${uid}) with mode 0700, or another user could replace the socket. ` +
        (stats.uid === uid ? `Run 'chmod 700 ${dir}'.` : 'Remove it (as root), or pick another --socket.'),
    );
  }
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function currentUid(): number {
  return typeof process.getuid === 'function' ? process.getuid() : 0;
}
