/// <reference types="node" preserve="true" />
/*
 * Unix domain socket transport (node only: the browser entry never imports this file).
 */

import { connect as netConnect, type Socket } from 'node:net';
import { sharedReadBuffer } from '@chorus/protocol';
import { ChunkQueue } from './chunk-queue.js';
import type { Transport } from './transport.js';

/**
 * Options of {@link connectUnix}.
 *
 * @example
 * ```ts
 * const transport = await connectUnix(path, { signal: AbortSignal.timeout(1000) });
 * ```
 */
export interface UnixConnectOptions {
  /** Gives up connecting; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Connects to a unix socket. Rejects with the socket error (ENOENT, ECONNREFUSED, ...); `connect()`
 * wraps it in a ConnectError.
 *
 * @example
 * ```ts
 * const bus = await connect({ transport: await connectUnix('/run/user/1000/chorus/bus.sock') });
 * ```
 */
export function connectUnix(path: string, options: UnixConnectOptions = {}): Promise<Transport> {
  const { signal } = options;
  return new Promise<Transport>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let transport: SocketTransport | undefined;
    // Every read lands in the process's one read buffer, not in fresh memory (read-buffer.ts:
    // the kernel's page faults on fresh reads cost more than the bytes).
    const socket = netConnect({
      path,
      onread: {
        buffer: sharedReadBuffer(),
        callback: (bytes: number, buffer: Uint8Array) => {
          // Set at 'connect', before the daemon can have sent anything.
          transport?.received(buffer.subarray(0, bytes));
          return true; // false would pause the socket
        },
      },
    });
    const cleanup = (): void => {
      socket.off('connect', onConnect);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    };
    const onConnect = (): void => {
      cleanup();
      transport = new SocketTransport(socket);
      resolve(transport);
    };
    const onError = (error: Error): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onAbort = (): void => {
      cleanup();
      socket.destroy();
      reject(signal?.reason);
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Wraps a connected socket (either side: a daemon's accepted socket works too, which tests use).
 *
 * @example
 * ```ts
 * server.on('connection', (socket) => serve(socketTransport(socket)));
 * ```
 */
export function socketTransport(socket: Socket): Transport {
  return new SocketTransport(socket);
}

class SocketTransport implements Transport {
  readonly #socket: Socket;
  readonly #incoming = new ChunkQueue();
  #closing: Promise<void> | undefined;
  #corked = false;

  constructor(socket: Socket) {
    this.#socket = socket;
    // A socket made with `onread` (connectUnix) calls `received` instead.
    socket.on('data', (chunk: Buffer) => this.#incoming.push(chunk));
    socket.on('end', () => this.#incoming.end());
    socket.on('error', (error) => this.#incoming.fail(error));
    socket.on('close', () => this.#incoming.end());
  }

  /**
   * Bytes read into the shared read buffer: handed on as they are when the reader takes them in
   * this turn, else copied (the next read overwrites the buffer).
   */
  received(bytes: Uint8Array): void {
    const incoming = this.#incoming;
    incoming.push(incoming.takesNow ? bytes : bytes.slice());
  }

  write(bytes: Uint8Array): void {
    if (this.#closing !== undefined || !this.#socket.writable) return;
    // Frames written in the same tick (pipelined emits, a burst of replies) leave in one writev
    // instead of one syscall each.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(this.#uncork);
    }
    this.#socket.write(bytes);
  }

  allocate(size: number): Uint8Array {
    // A Buffer, not a Uint8Array: the socket writes it as is instead of wrapping each chunk in one,
    // and a small one is a slice of Node's shared pool rather than an ArrayBuffer of its own.
    return Buffer.allocUnsafe(size);
  }

  readonly #uncork = (): void => {
    this.#corked = false;
    this.#socket.uncork();
  };

  pause(): void {
    // Both: the socket stops reading (the kernel buffer fills and the daemon's writes back up),
    // and the queue holds back the chunks that were already read.
    this.#socket.pause();
    this.#incoming.pause();
  }

  resume(): void {
    this.#incoming.resume();
    this.#socket.resume();
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#incoming.close();
      const socket = this.#socket;
      if (socket.destroyed) {
        resolve();
        return;
      }
      socket.once('close', () => resolve());
      // end() flushes what was written; destroy() then, rather than waiting for the peer's FIN.
      socket.end(() => socket.destroy());
      // A paused socket never reads the peer's FIN; it need not, but resume so 'close' is prompt.
      socket.resume();
    });
    return this.#closing;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#incoming[Symbol.asyncIterator]();
  }
}
