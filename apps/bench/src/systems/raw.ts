/*
 * The raw baseline's two sides: the broker process (raw-broker.ts) and its clients, which frame
 * each payload as [length: u32 BE][payload]. One stream only: every subscriber gets everything.
 */

import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RAW_HEADER_BYTES, rawPayload, stamp } from '../payload.js';
import { spawnProcess, waitUntil } from '../processes.js';
import type { Client, OnMessage, Publisher, SystemClient, SystemServer } from './system.js';

const brokerMain = fileURLToPath(new URL('../raw-broker.js', import.meta.url));

export const rawServer: SystemServer = {
  id: 'raw',
  label: 'raw broker',
  peer: false,
  topics: false,
  async unavailable() {
    return undefined;
  },
  async versions() {
    return { 'raw broker': `node ${process.version}` };
  },
  async start(options) {
    const path = join(options.dir, 'raw.sock');
    const spawned = spawnProcess(process.execPath, [...(options.nodeFlags ?? []), brokerMain, path]);
    await waitUntil(spawned, 'raw broker', () => spawned.output().includes('RAW_BROKER_READY'));
    return { address: path, pid: spawned.child.pid, stop: () => spawned.stop('SIGTERM') };
  },
};

function open(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

class RawClient implements Client {
  readonly #path: string;
  readonly #sockets: Socket[] = [];

  constructor(path: string) {
    this.#path = path;
  }

  async subscribe(_topic: string, onMessage: OnMessage): Promise<void> {
    const socket = await open(this.#path);
    this.#sockets.push(socket);
    await new Promise<void>((resolve) => {
      socket.once('data', () => resolve()); // 'K': registered
      socket.write('S');
    });
    let carry: Buffer | undefined;
    socket.on('data', (chunk: Buffer) => {
      const data = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
      let offset = 0;
      while (offset + 4 <= data.length) {
        const length = data.readUInt32BE(offset);
        if (offset + 4 + length > data.length) break;
        if (length >= RAW_HEADER_BYTES) {
          onMessage(data.readDoubleLE(offset + 4), data.readDoubleLE(offset + 12), 0, 0);
        }
        offset += 4 + length;
      }
      carry = offset < data.length ? data.subarray(offset) : undefined;
    });
  }

  async publisher(_topic: string, payloadSize: number): Promise<Publisher> {
    const socket = await open(this.#path);
    this.#sockets.push(socket);
    socket.write('P');
    const payload = rawPayload(payloadSize);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(payload.length, 0);
    let drained: Promise<void> | undefined;
    let corked = false;
    const uncork = (): void => {
      corked = false;
      socket.uncork();
    };
    return {
      send(i, t) {
        // Frames sent in one synchronous burst leave in one writev (the usual Node idiom).
        if (!corked) {
          corked = true;
          socket.cork();
          process.nextTick(uncork);
        }
        // Each frame is its own buffer: the socket may still hold the previous one.
        const frame = Buffer.concat([prefix, stamp(payload, i, t)]);
        if (socket.write(frame)) return undefined;
        drained ??= new Promise<void>((resolve) =>
          socket.once('drain', () => {
            drained = undefined;
            resolve();
          }),
        );
        return drained;
      },
      async drain() {
        // The callback of a write runs once it and everything before it went out.
        await new Promise((resolve) => socket.write(Buffer.alloc(0), resolve));
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            socket.once('close', () => resolve());
            socket.end();
            socket.destroy();
          }),
      ),
    );
  }
}

export const rawClient: SystemClient = {
  async connect(address) {
    return new RawClient(address);
  },
};
