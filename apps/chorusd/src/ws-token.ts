import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, readFile, rename, writeFile } from 'node:fs/promises';

/** What a token the daemon made looks like: 32 base64url characters (24 random bytes). */
const WELL_FORMED = /^[A-Za-z0-9_-]{32,}$/;

export interface TokenFile {
  readonly token: string;
  /** Whether it was made now (new, rotated, or the old file could not be trusted). */
  readonly created: boolean;
  /** Why an existing file was not reused, for the log. */
  readonly replaced?: string;
}

/**
 * The WebSocket token kept in `file` (mode 0600 beside the socket). It is reused across restarts,
 * so that the web monitor and WebSocket clients reconnect by themselves, when the file is a
 * regular file (not a symlink) of this user, readable by nobody else, holding a well-formed
 * token; otherwise, or when `rotate` asks for it, a new token replaces it (written to a temporary
 * file and renamed over, so a reader never sees half a token).
 */
export async function loadOrCreateToken(
  file: string,
  options: { readonly rotate?: boolean; readonly uid?: number } = {},
): Promise<TokenFile> {
  const uid = options.uid ?? (typeof process.getuid === 'function' ? process.getuid() : 0);
  let replaced: string | undefined = options.rotate ? 'rotation asked for' : undefined;
  if (!options.rotate) {
    const reason = await untrusted(file, uid);
    if (reason === undefined) {
      const token = (await readFile(file, 'utf8')).trim();
      if (WELL_FORMED.test(token)) return { token, created: false };
      replaced = 'not a well-formed token';
    } else if (reason !== 'missing') {
      replaced = reason;
    }
  }
  const token = randomBytes(24).toString('base64url');
  const temporary = `${file}.${process.pid}.tmp`;
  // [GUARANTEE: access] the token file is created 0600: nobody else may read the token.
  await writeFile(temporary, `${token}\n`, { mode: 0o600, flag: 'wx' });
  await rename(temporary, file);
  return replaced === undefined ? { token, created: true } : { token, created: true, replaced };
}

async function untrusted(file: string, uid: number): Promise<string | undefined> {
  let stats: Stats;
  try {
    stats = await lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  if (!stats.isFile()) return 'not a regular file';
  if (stats.uid !== uid) return `owned by uid ${stats.uid}`;
  if ((stats.mode & 0o077) !== 0) return `mode ${(stats.mode & 0o777).toString(8)} lets others read it`;
  return undefined;
}
