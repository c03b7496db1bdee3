/*
 * Requests held while the bus reconnects: what the app asks for then waits here, in call order,
 * and goes out on the new connection once it is restored (or fails when the bus ends). `Link` is
 * how the bus's parts reach the daemon without knowing whether it is there right now.
 */

import type { Reply } from '@chorus/protocol';
import type { Connection, RequestMessage } from './connection.js';
import { AbortError, type ChorusError, TimeoutError } from './errors.js';
import type { CongestionLevel } from './subscription.js';

/** Bounds of a wait for the connection: the request's own AbortSignal and deadline. */
export interface WaitBounds {
  readonly signal?: AbortSignal | undefined;
  readonly deadline?: number | undefined;
  readonly timeout?: (() => ChorusError) | undefined;
}

/** What the bus's parts need to reach the daemon (implemented by the reconnection, reconnect.ts). */
export interface Link {
  /** The current connection (while reconnecting: the one being opened, or the lost one). */
  readonly connection: Connection;
  /** The connection requests go out on now; undefined while the bus reconnects (they are held). */
  readonly live: Connection | undefined;
  /**
   * Runs `send` on the connection: now, unless the bus is reconnecting; then once it is restored,
   * synchronously and in call order with every other request that waited (so emits keep their
   * order). The wait ends early with the bounds' AbortError or TimeoutError, or when the bus ends.
   */
  whenOpen<T>(send: (connection: Connection) => T | Promise<T>, bounds?: WaitBounds): Promise<T>;
  /** An app request: sent now, or once the bus has reconnected. */
  request(message: RequestMessage, payload?: Uint8Array): Promise<Reply>;
  /** A subscription's congestion level, told to every connection from now on. */
  readonly congestion: (sub: object, level: CongestionLevel) => void;
}

/** An app request waiting for the connection to be back. */
type Waiting = { run(connection: Connection): void; fail(error: unknown): void };

/** The requests waiting for the bus to reconnect, in call order. */
export class HeldRequests {
  #waiting: Waiting[] = [];

  /** Holds `send` until `release` (or fails it at `fail`, its abort or its deadline). */
  hold<T>(send: (connection: Connection) => T | Promise<T>, bounds: WaitBounds = {}): Promise<T> {
    const { signal, deadline, timeout } = bounds;
    const aborted = (): AbortError =>
      new AbortError('aborted while waiting for the bus to reconnect', { cause: signal?.reason });
    if (signal?.aborted) return Promise.reject(aborted());
    return new Promise<T>((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = this.#waiting.indexOf(entry);
        if (index >= 0) this.#waiting.splice(index, 1);
      };
      const entry: Waiting = {
        run: (connection) => {
          done();
          try {
            resolve(send(connection));
          } catch (error) {
            reject(error);
          }
        },
        fail: (error) => {
          done();
          reject(error);
        },
      };
      const onAbort = (): void => entry.fail(aborted());
      signal?.addEventListener('abort', onAbort, { once: true });
      const timer =
        deadline === undefined
          ? undefined
          : setTimeout(
              () =>
                entry.fail(timeout?.() ?? new TimeoutError('timed out waiting for the bus to reconnect', 0)),
              Math.max(0, deadline - Date.now()),
            );
      this.#waiting.push(entry);
    });
  }

  /** Sends everything held on `connection`, in call order. */
  release(connection: Connection): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    // [GUARANTEE: order] what the app sent while disconnected goes out in call order, after the restore.
    for (const entry of waiting) entry.run(connection);
  }

  /** The bus ended: everything held fails with `error`. */
  fail(error: unknown): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const entry of waiting) entry.fail(error);
  }
}
