import { describe, expect, it } from 'vitest';
import { lookupPeers, PeerDirectory, type PeerProcess, parseSs } from './peer-process.js';

const ss = `Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process
u_str ESTAB 0      0      /run/user/1000/chorus/bus.sock 63167            * 63166 users:(("node",pid=24869,fd=20))
u_str ESTAB 0      0                     * 63166            * 63167 users:(("node",pid=${process.pid},fd=21),("node",pid=1,fd=3))
u_str ESTAB 0      0      /tmp/a dir/bus.sock 700            * 699
`;

describe('parseSs', () => {
  it('reads each socket, its peer and the processes holding it, paths with spaces included', () => {
    expect(parseSs(ss)).toEqual([
      { inode: 63167, peer: 63166, pids: [24869] },
      { inode: 63166, peer: 63167, pids: [process.pid, 1] },
      { inode: 700, peer: 699, pids: [] },
    ]);
  });
});

describe('lookupPeers', () => {
  it("finds the process at the other end of the daemon's socket, with its uid and command from /proc", async () => {
    const found = await lookupPeers([63167, 700, 5], async () => ss);
    expect([...found.keys()]).toEqual([63167]);
    expect(found.get(63167)).toMatchObject({ pid: process.pid, uid: process.getuid?.() });
    expect(found.get(63167)?.command).toContain(process.argv0 === 'node' ? 'node' : '');
  });

  it('knows nobody when ss is missing', async () => {
    const found = await lookupPeers([63167], async () => {
      throw new Error('spawn ss ENOENT');
    });
    expect(found.size).toBe(0);
  });
});

describe('PeerDirectory', () => {
  const target = (socketInode: number | undefined) => ({
    origin: socketInode === undefined ? {} : { socketInode },
    peer: undefined as PeerProcess | undefined,
    peerAsked: false,
  });

  it('looks up each connection once, one ss run for all of them, and only when asked', async () => {
    let runs = 0;
    const directory = new PeerDirectory(async () => {
      runs++;
      return ss;
    });
    const known = target(63167);
    const gone = target(700);
    const memory = target(undefined); // no socket: nothing to ask
    await directory.refresh([known, gone, memory]);
    expect(runs).toBe(1);
    expect(known.peer?.pid).toBe(process.pid);
    expect(gone.peer).toBeUndefined();
    // Asked again: nothing new to look up, no second run.
    expect(directory.refresh([known, gone, memory])).toBeUndefined();
    expect(runs).toBe(1);
  });

  it('a caller that asks while a lookup runs waits for it', async () => {
    let release!: (text: string) => void;
    const directory = new PeerDirectory(() => new Promise<string>((resolve) => (release = resolve)));
    const first = target(63167);
    const running = directory.refresh([first]);
    const waiting = directory.refresh([first]);
    expect(waiting).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 0)); // the lookup starts after this turn
    release(ss);
    await Promise.all([running, waiting]);
    expect(first.peer?.pid).toBe(process.pid);
  });
});
