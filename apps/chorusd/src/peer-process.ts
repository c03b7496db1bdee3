import { execFile } from 'node:child_process';
import { fstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';

/**
 * Who is at the other end of a Unix-socket connection, as the kernel knows it: the process that
 * holds the peer socket, its real uid and its command line. Node has no SO_PEERCRED, so this asks
 * the kernel's socket diagnostics through `ss -xpn` (iproute2), which lists each Unix socket with
 * its peer's inode and the processes holding it, and /proc for the uid and command. Nothing here
 * is what a client says about itself: that is `hello.client`, shown apart as declared.
 */
export interface PeerProcess {
  readonly pid: number;
  readonly uid: number;
  readonly command: string;
}

/** The longest command line kept, characters. */
const MAX_COMMAND = 256;

/** The inode of the daemon's end of an accepted Unix socket, or undefined when Node hides its fd. */
export function socketInode(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  try {
    return fstatSync(fd).ino;
  } catch {
    return undefined;
  }
}

/** One line of `ss -xpn`: this socket's inode, its peer's, and the processes holding it. */
export interface SocketLine {
  readonly inode: number;
  readonly peer: number;
  readonly pids: readonly number[];
}

/**
 * Parses `ss -xpn`: `u_str ESTAB 0 0 /run/user/1000/chorus/bus.sock 63167 * 63166 users:(("node",pid=24869,fd=20))`.
 * The local address may be `*` or a path (which may hold spaces), so the numbers are read from the
 * right: the peer's inode, then `*` or the peer's path, then this socket's inode.
 */
export function parseSs(output: string): SocketLine[] {
  const lines: SocketLine[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('u_')) continue;
    const users = line.indexOf(' users:(');
    const fields = (users < 0 ? line : line.slice(0, users)).trim().split(/\s+/);
    const peer = Number(fields.at(-1));
    const inode = Number(fields.at(-3));
    if (!Number.isSafeInteger(peer) || !Number.isSafeInteger(inode)) continue;
    const pids = users < 0 ? [] : [...line.slice(users).matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    lines.push({ inode, peer, pids });
  }
  return lines;
}

export type RunSs = () => Promise<string>;

const runSs: RunSs = () =>
  new Promise((resolve, reject) => {
    execFile('ss', ['-xpn'], { maxBuffer: 64 * 1024 * 1024, timeout: 5000 }, (error, stdout) =>
      error === null ? resolve(stdout) : reject(error),
    );
  });

/**
 * Finds the peer processes of the daemon's sockets `inodes` (their daemon-side inodes): one `ss`
 * run for all of them. A socket whose peer is gone, or that ss cannot see, is left out.
 */
export async function lookupPeers(
  inodes: readonly number[],
  run: RunSs = runSs,
): Promise<Map<number, PeerProcess>> {
  const found = new Map<number, PeerProcess>();
  if (inodes.length === 0) return found;
  let output: string;
  try {
    output = await run();
  } catch {
    return found; // no ss here, or it failed: the processes stay unknown
  }
  const byInode = new Map<number, SocketLine>();
  for (const line of parseSs(output)) byInode.set(line.inode, line);
  for (const inode of inodes) {
    const ours = byInode.get(inode);
    const pid = ours === undefined ? undefined : byInode.get(ours.peer)?.pids[0];
    if (pid === undefined) continue;
    const process = await describeProcess(pid);
    if (process !== undefined) found.set(inode, process);
  }
  return found;
}

/** A process's real uid and command line, from /proc; undefined when it is gone. */
export async function describeProcess(pid: number): Promise<PeerProcess | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    const command = cmdline.replace(/\0+$/, '').replaceAll('\0', ' ').slice(0, MAX_COMMAND);
    return Number.isSafeInteger(uid) ? { pid, uid, command } : undefined;
  } catch {
    return undefined;
  }
}

/** What a lookup needs of a connection, and where it puts the answer. */
export interface PeerTarget {
  readonly origin: { readonly socketInode?: number };
  peer: PeerProcess | undefined;
  /** Looked up once: a peer that cannot be found (gone, no ss) is not asked for again. */
  peerAsked: boolean;
}

/**
 * Finds the processes behind connections when someone asks who they are (ListConnections), not
 * at every hello: a lookup runs `ss` over every socket of the machine, which would cost each
 * connection of a busy bus far more than it ever needs. One lookup at a time; callers that ask
 * while one runs wait for it (and for a second one, if they bring connections it did not cover).
 */
export class PeerDirectory {
  readonly #run: RunSs;
  #last: Promise<void> = Promise.resolve();
  #running = 0;

  constructor(run: RunSs = runSs) {
    this.#run = run;
  }

  /** Looks up `targets` never looked up; undefined when there is nothing to look up or wait for. */
  refresh(targets: Iterable<PeerTarget>): Promise<void> | undefined {
    const unasked: PeerTarget[] = [];
    for (const target of targets) {
      if (target.peerAsked || target.origin.socketInode === undefined) continue;
      target.peerAsked = true;
      unasked.push(target);
    }
    if (unasked.length === 0) return this.#running > 0 ? this.#last : undefined;
    this.#running++;
    const inodes = unasked.map((t) => t.origin.socketInode as number);
    this.#last = this.#last
      .then(() => lookupPeers(inodes, this.#run))
      .then((found) => {
        for (const target of unasked) target.peer = found.get(target.origin.socketInode as number);
      })
      .finally(() => {
        this.#running--;
      });
    return this.#last;
  }
}
