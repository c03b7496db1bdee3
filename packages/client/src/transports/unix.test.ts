// Why: connectUnix reads into the process's one read buffer, which every read overwrites. A chunk
// the reader does not take at once (it is not iterating yet, or paused) must be queued as a copy.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { connectUnix } from './unix.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function server(): Promise<{ path: string; peer: Promise<Socket> }> {
  const dir = await mkdtemp(join(tmpdir(), 'chorus-unix-'));
  const path = join(dir, 's.sock');
  let accept: (socket: Socket) => void = () => {};
  const peer = new Promise<Socket>((resolve) => {
    accept = resolve;
  });
  const srv = createServer((socket) => accept(socket));
  await new Promise<void>((resolve) => srv.listen(path, resolve));
  cleanups.push(async () => {
    srv.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { path, peer };
}

it('keeps chunks read before the reader takes them intact, though later reads reuse the buffer', async () => {
  const { path, peer } = await server();
  const transport = await connectUnix(path);
  const socket = await peer;
  // Three separate reads, none taken yet: nobody iterates the transport.
  for (const byte of [1, 2, 3]) {
    socket.write(new Uint8Array(1000).fill(byte));
    await sleep(20);
  }
  socket.end();
  const got: number[] = [];
  for await (const chunk of transport) got.push(...chunk);
  expect(got.length).toBe(3000);
  expect([0, 999, 1000, 1999, 2000, 2999].map((k) => got[k])).toEqual([1, 1, 2, 2, 3, 3]);
  expect(got.every((b, k) => b === Math.floor(k / 1000) + 1)).toBe(true);
  await transport.close();
});

it('hands a chunk the reader waits for straight on, and it stays valid while the reader handles it', async () => {
  const { path, peer } = await server();
  const transport = await connectUnix(path);
  const socket = await peer;
  const sums: number[] = [];
  const reading = (async () => {
    for await (const chunk of transport) sums.push(chunk.reduce((a, b) => a + b, 0));
  })();
  for (const byte of [4, 5]) {
    socket.write(new Uint8Array(500).fill(byte));
    await sleep(20);
  }
  socket.end();
  await reading;
  expect(sums).toEqual([2000, 2500]);
  await transport.close();
});
