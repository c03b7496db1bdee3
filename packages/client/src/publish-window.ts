/*
 * Publishes (fire-and-forget emits) in the same window as emits: a publish holds a slot of the
 * connection's Limiter (maxInFlight, maxInFlightBytes) from its write until a `ping` sent after it
 * is answered. The daemon answers an accepted publish with nothing, so every `every` publishes
 * (or `everyBytes`), and whenever someone waits for room, one ping — a checkpoint — covers those
 * written since the last: its `ok` comes after the daemon handled them all (replies come in
 * order), and gives their slots back at once. Per publish: no promise, no answer to read.
 *
 *   publish → tryAcquire → write → batch += 1 → (batch full) → ping → ok → release(batch)
 *                └─ no room: checkpoint now, wait in the Limiter's line (a promise to the caller)
 */

import type { Limiter, LimiterWaiter } from './limiter.js';
import type { PendingEntry } from './pending-requests.js';

/** What the window needs of its connection. */
export interface PublishWindowHost {
  /** Writes a publish's frame. */
  write(frame: Uint8Array): void;
  /** Sends a `ping` now, whose answer (or the connection's end) settles `entry`. */
  ping(entry: PendingEntry): void;
}

/** The publishes of one connection that the daemon has not confirmed yet. */
export class PublishWindow {
  readonly #limiter: Limiter;
  readonly #host: PublishWindowHost;
  readonly #every: number;
  readonly #everyBytes: number;
  /** Publishes written since the last checkpoint, and their bytes. */
  #count = 0;
  #bytes = 0;

  /** `every` / `everyBytes`: publishes (bytes) between two checkpoints. */
  constructor(limiter: Limiter, host: PublishWindowHost, every: number, everyBytes: number) {
    this.#limiter = limiter;
    this.#host = host;
    this.#every = Math.max(1, every);
    this.#everyBytes = Math.max(1, everyBytes);
  }

  /**
   * Sends a publish's frame (`bytes` long): now, when the window has room, and then returns
   * undefined; else it waits in line (after any emit waiting already: call order is kept) and the
   * promise returned resolves once it is written. Rejects if the connection ends first.
   */
  send(frame: Uint8Array, bytes: number): Promise<void> | undefined {
    const limiter = this.#limiter;
    if (limiter.tryAcquire(bytes)) {
      this.write(frame, bytes);
      return undefined;
    }
    const failure = limiter.failure;
    if (failure !== undefined) return Promise.reject(failure.error);
    // [GUARANTEE: backpressure] no room: the caller gets a promise, and what holds the window
    // is confirmed now, so that room comes back once the daemon has handled it.
    this.checkpoint();
    const waiting = new WaitingPublish(this, frame, bytes);
    limiter.wait(waiting);
    return waiting.promise;
  }

  /** Writes a publish whose turn came (its slot is taken). */
  write(frame: Uint8Array, bytes: number): void {
    this.#host.write(frame);
    this.written(bytes);
  }

  /** A publish of `bytes` was written: it holds its slot until the next checkpoint is answered. */
  written(bytes: number): void {
    this.#count++;
    this.#bytes += bytes;
    if (this.#count >= this.#every || this.#bytes >= this.#everyBytes) this.checkpoint();
  }

  /** Sends a checkpoint for the publishes written since the last one, if any. */
  checkpoint(): void {
    if (this.#count === 0) return;
    this.#host.ping(this.#close(undefined));
  }

  /**
   * Resolves once the daemon handled everything sent before it: a checkpoint, in line behind
   * whatever waits for room (so after those publishes and emits are written).
   */
  flush(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = { resolve, reject };
      if (this.#limiter.waiting === 0 && this.#limiter.failure === undefined) {
        this.#host.ping(this.#close(done));
        return;
      }
      this.#limiter.wait({
        bytes: 0,
        granted: () => {
          this.#host.ping(this.#close(done));
          return false; // it needed its place in line only
        },
        failed: reject,
      });
    });
  }

  /** Someone waits for room: confirm what holds the window, so that it frees. */
  stillWaiting(): void {
    if (this.#limiter.waiting > 0) this.checkpoint();
  }

  /** The checkpoint of the publishes written since the last one; the batch starts again. */
  #close(done: Settle | undefined): Checkpoint {
    const checkpoint = new Checkpoint(this, this.#limiter, this.#count, this.#bytes, done);
    this.#count = 0;
    this.#bytes = 0;
    return checkpoint;
  }
}

interface Settle {
  resolve(): void;
  reject(error: unknown): void;
}

/** A ping covering `count` publishes of `bytes`: its answer gives their slots back. */
class Checkpoint implements PendingEntry {
  readonly #window: PublishWindow;
  readonly #limiter: Limiter;
  readonly #count: number;
  readonly #bytes: number;
  readonly #done: Settle | undefined;

  constructor(
    window: PublishWindow,
    limiter: Limiter,
    count: number,
    bytes: number,
    done: Settle | undefined,
  ) {
    this.#window = window;
    this.#limiter = limiter;
    this.#count = count;
    this.#bytes = bytes;
    this.#done = done;
  }

  resolve(): void {
    this.#done?.resolve();
  }

  reject(error: unknown): void {
    // The connection ended (or a daemon bug): the limiter fails with it, nothing to give back.
    this.#done?.reject(error);
  }

  answered(): void {
    if (this.#count > 0) this.#limiter.release(this.#bytes, this.#count);
    // Publishes granted by that release hold the window now: confirm them if others still wait.
    this.#window.stillWaiting();
  }
}

/** A publish waiting for room, with its frame. */
class WaitingPublish implements LimiterWaiter {
  readonly promise: Promise<void>;
  readonly bytes: number;
  readonly #window: PublishWindow;
  #frame: Uint8Array | undefined;
  #resolve!: () => void;
  #reject!: (error: unknown) => void;

  constructor(window: PublishWindow, frame: Uint8Array, bytes: number) {
    this.#window = window;
    this.#frame = frame;
    this.bytes = bytes;
    this.promise = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  granted(): boolean {
    const frame = this.#frame as Uint8Array;
    this.#frame = undefined;
    this.#window.write(frame, this.bytes);
    this.#resolve();
    return true;
  }

  failed(error: unknown): void {
    this.#frame = undefined;
    this.#reject(error);
  }
}
