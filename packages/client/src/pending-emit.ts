/*
 * One emit, from the call to its answer: what awaits the daemon's `ok` by serial and, while the
 * window is full, what waits in line with its frame.
 */

import type { Reply } from '@chorus/protocol';
import type { EmitResult } from './group.js';
import type { LimiterWaiter } from './limiter.js';
import type { PendingEntry } from './pending-requests.js';

/** What a {@link PendingEmit} needs from its connection. */
export interface EmitHost {
  /** Writes the frame of an emit whose turn came. */
  write(frame: Uint8Array): void;
  /** Gives back the slot of an emit that was answered, and the bytes it held. */
  release(bytes: number): void;
  /** Drops a waiting emit from the pending requests (the limiter failed), rejecting it with `error`. */
  forget(serial: number, error: unknown): void;
}

/**
 * One emit, from the call to its answer: what awaits the answer by serial (PendingEntry) and, while
 * `maxInFlight` emits are unanswered, what waits in line with its frame (LimiterWaiter).
 */
export class PendingEmit implements PendingEntry, LimiterWaiter {
  readonly promise: Promise<EmitResult>;
  /** The size of its frame: what it holds of the maxInFlightBytes bound while unanswered. */
  readonly bytes: number;
  readonly #host: EmitHost;
  readonly #serial: number;
  /** The frame while it waits for its turn; undefined once sent or settled. */
  #frame: Uint8Array | undefined;
  /** Whether it was written, so holds a slot until it is answered. */
  #sent: boolean;
  #resolve!: (result: EmitResult) => void;
  #reject!: (error: unknown) => void;

  /** `frame`: undefined when the emit is sent at once (the caller writes it). */
  constructor(host: EmitHost, serial: number, bytes: number, frame: Uint8Array | undefined) {
    this.#host = host;
    this.#serial = serial;
    this.bytes = bytes;
    this.#frame = frame;
    this.#sent = frame === undefined;
    this.promise = new Promise<EmitResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  resolve(reply: Reply): void {
    this.#frame = undefined;
    this.#resolve(toEmitResult(reply));
  }

  reject(error: unknown): void {
    this.#frame = undefined;
    this.#reject(error);
  }

  answered(): void {
    // An answer to a serial not sent yet (a daemon bug) settles the emit, which then never goes out:
    // it holds no slot to give back.
    if (this.#sent) this.#host.release(this.bytes);
  }

  granted(): boolean {
    const frame = this.#frame;
    // Settled before its turn: nothing to send, the slot goes to the next in line.
    if (frame === undefined) return false;
    this.#frame = undefined;
    this.#sent = true;
    this.#host.write(frame);
    return true;
  }

  failed(error: unknown): void {
    this.#frame = undefined;
    this.#host.forget(this.#serial, error);
    // Already rejected when the pending requests were (the connection ended): a second reject is a no-op.
    this.#reject(error);
  }
}

/** The daemon's answer to an emit, as the app sees it. */
function toEmitResult(reply: Reply): EmitResult {
  const r = reply.r;
  return {
    seq: countOf(r?.['seq']),
    groupSeq: countOf(r?.['gseq']),
    recipients: countOf(r?.['n']),
  };
}

function countOf(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}
