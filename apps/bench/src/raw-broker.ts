/*
 * The raw baseline: a minimal Node broker that copies length-prefixed frames from one Unix socket
 * to N others, and does nothing else (no routing, no headers, no validation, no sequencing). It is
 * the ceiling a Node daemon can approach on this machine.
 *
 *   client → broker: one role byte, 'P' (publisher) or 'S' (subscriber; answered with 'K' once
 *   registered), then for a publisher frames of [length: u32 BE][body].
 *
 * Each chunk from the publisher is cut after its last complete frame, and that slice (no copy) is
 * written to every subscriber: one write per subscriber per chunk. The publisher is paused while
 * any subscriber has more than HIGH_WATER bytes unwritten, so memory stays bounded.
 *
 * Usage: node raw-broker.js SOCKET_PATH   (prints RAW_BROKER_READY when listening)
 */

import { createServer, type Socket } from 'node:net';

const HIGH_WATER = 1024 * 1024;

const path = process.argv[2];
if (path === undefined) {
  process.stderr.write('usage: raw-broker SOCKET_PATH\n');
  process.exit(2);
}

const subscribers = new Set<Socket>();
let publisher: Socket | undefined;
let carry: Buffer | undefined;

function congested(): boolean {
  for (const socket of subscribers) if (socket.writableLength > HIGH_WATER) return true;
  return false;
}

function onDrain(): void {
  if (publisher?.isPaused() && !congested()) publisher.resume();
}

function forward(chunk: Buffer): void {
  const data = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
  let end = 0;
  while (end + 4 <= data.length) {
    const next = end + 4 + data.readUInt32BE(end);
    if (next > data.length) break;
    end = next;
  }
  carry = end < data.length ? data.subarray(end) : undefined;
  if (end === 0) return;
  const frames = data.subarray(0, end);
  let full = false;
  for (const socket of subscribers) if (!socket.write(frames)) full = true;
  if (full && congested()) publisher?.pause();
}

const server = createServer((socket) => {
  socket.once('data', (first: Buffer) => {
    const role = first[0];
    const rest = first.subarray(1);
    if (role === 0x53 /* S */) {
      subscribers.add(socket);
      socket.on('drain', onDrain);
      socket.on('close', () => {
        subscribers.delete(socket);
        onDrain();
      });
      socket.on('data', () => {}); // subscribers send nothing after the role byte
      socket.write('K');
    } else if (role === 0x50 /* P */) {
      publisher = socket;
      carry = undefined;
      socket.on('data', forward);
      socket.on('close', () => {
        if (publisher === socket) publisher = undefined;
      });
      if (rest.length > 0) forward(rest);
    } else {
      socket.destroy();
    }
  });
  socket.on('error', () => socket.destroy());
});

server.listen(path, () => process.stdout.write('RAW_BROKER_READY\n'));
process.on('SIGTERM', () => process.exit(0));
