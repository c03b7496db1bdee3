/*
 * Request/reply matching: every request gets a serial, and the reply naming it settles it.
 */

import type { Reply } from '@chorus/protocol';

// Serials are 1..2^32-1 on the wire.
const MAX_SERIAL = 0xffff_ffff;
const EMPTY = new Uint8Array(0);

/** An `ok` with the frame's payload (the output of a method call; empty for other requests). */
export interface ReplyWithPayload {
  readonly reply: Reply;
  readonly payload: Uint8Array;
}

type Entry = {
  resolve: (reply: Reply, payload: Uint8Array) => void;
  reject: (error: unknown) => void;
  /** Called once the request is answered (ok or err); not by rejectAll. */
  answered: (() => void) | undefined;
};

/**
 * The requests that await an answer, by serial. Serials count up and wrap, skipping any still in
 * use, so a long-lived connection never reuses the serial of an unanswered request.
 */
export class PendingRequests {
  #next: number;
  readonly #entries = new Map<number, Entry>();
  #idle: (() => void)[] = [];

  /** `first`: the first serial handed out (1 unless a test wants to start near the wrap). */
  constructor(first = 1) {
    this.#next = first;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Reserves the next free serial (not yet registered: see `register`). */
  nextSerial(): number {
    let serial = this.#next;
    while (this.#entries.has(serial)) serial = serial === MAX_SERIAL ? 1 : serial + 1;
    this.#next = serial === MAX_SERIAL ? 1 : serial + 1;
    return serial;
  }

  /**
   * The answer to request `serial`. `answered` runs right after the reply settles it (not when
   * rejectAll ends everything: the connection is over then).
   */
  register(serial: number, answered?: () => void): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) =>
      // A resolve function takes one argument: the payload passed to it is ignored.
      this.#entries.set(serial, { resolve, reject, answered }),
    );
  }

  /** Like `register`, for a request whose `ok` carries a payload (a method call). */
  registerWithPayload(serial: number): Promise<ReplyWithPayload> {
    return new Promise<ReplyWithPayload>((resolve, reject) =>
      this.#entries.set(serial, {
        resolve: (reply, payload) => resolve({ reply, payload }),
        reject,
        answered: undefined,
      }),
    );
  }

  /** Settles the request `serial` with its `ok`; false if no request has that serial. */
  resolve(serial: number, reply: Reply, payload: Uint8Array = EMPTY): boolean {
    const entry = this.#take(serial);
    if (entry === undefined) return false;
    entry.resolve(reply, payload);
    entry.answered?.();
    return true;
  }

  /** Settles the request `serial` with an error; false if no request has that serial. */
  reject(serial: number, error: unknown): boolean {
    const entry = this.#take(serial);
    if (entry === undefined) return false;
    entry.reject(error);
    entry.answered?.();
    return true;
  }

  rejectAll(error: unknown): void {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    for (const entry of entries) entry.reject(error);
    this.#notifyIdle();
  }

  /** Resolves once no request is pending. */
  whenIdle(): Promise<void> {
    if (this.#entries.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #take(serial: number): Entry | undefined {
    const entry = this.#entries.get(serial);
    if (entry === undefined) return undefined;
    this.#entries.delete(serial);
    if (this.#entries.size === 0) this.#notifyIdle();
    return entry;
  }

  #notifyIdle(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }
}
