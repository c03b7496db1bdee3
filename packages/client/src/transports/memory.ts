/*
 * An in-process duplex pair: what one end writes, the other end reads. For tests (a fake daemon on
 * one end) and for running a client against an in-process daemon.
 */

import { ChunkQueue } from './chunk-queue.js';
import type { Transport } from './transport.js';

/**
 * One end of a {@link createMemoryTransportPair} pair.
 *
 * @example
 * ```ts
 * const [client, daemon] = createMemoryTransportPair();
 * daemon.destroy(new Error('reset')); // the client's read loop throws 'reset'
 * ```
 */
export interface MemoryTransport extends Transport {
  /** Whether this end is paused (its reader stopped pulling), so tests can see backpressure. */
  readonly paused: boolean;
  /** Bytes the peer wrote that this end has not yielded yet. */
  readonly bufferedBytes: number;
  /** Abrupt loss: this end stops; the peer's iteration throws `error`, or just ends without one. */
  destroy(error?: unknown): void;
}

class MemoryTransportImpl implements MemoryTransport {
  readonly #incoming = new ChunkQueue();
  #peer: ChunkQueue | undefined;
  #closed = false;

  link(peer: MemoryTransportImpl): void {
    this.#peer = peer.#incoming;
  }

  get paused(): boolean {
    return this.#incoming.paused;
  }

  get bufferedBytes(): number {
    return this.#incoming.bufferedBytes;
  }

  write(bytes: Uint8Array): void {
    if (this.#closed) return;
    // Copy: the writer may reuse its buffer, a socket would have copied it into the kernel.
    this.#peer?.push(bytes.slice());
  }

  pause(): void {
    this.#incoming.pause();
  }

  resume(): void {
    this.#incoming.resume();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#incoming.close();
    this.#peer?.end();
  }

  destroy(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#incoming.close();
    if (error === undefined) this.#peer?.end();
    else this.#peer?.fail(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#incoming[Symbol.asyncIterator]();
  }
}

/**
 * Makes two connected in-process transports: bytes written to one are read from the other.
 *
 * @example
 * ```ts
 * const [clientEnd, daemonEnd] = createMemoryTransportPair();
 * serveInProcess(daemonEnd);
 * const bus = await connect({ transport: clientEnd });
 * ```
 */
export function createMemoryTransportPair(): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransportImpl();
  const b = new MemoryTransportImpl();
  a.link(b);
  b.link(a);
  return [a, b];
}
