/*
 * Request/reply matching: every request gets a serial, and the reply naming it settles it.
 */

import { kept, type Reply } from '@chorus/protocol';

// Serials are 1..2^32-1 on the wire.
const MAX_SERIAL = 0xffff_ffff;
const EMPTY = new Uint8Array(0);

/** An `ok` with the frame's payload (the output of a method call; empty for other requests). */
export interface ReplyWithPayload {
  readonly reply: Reply;
  readonly payload: Uint8Array;
}

/**
 * A request awaiting its answer. Plain requests use the promise's own settle functions; an emit is
 * an object of its own (see connection.ts), so registering it allocates nothing more.
 */
export interface PendingEntry {
  /** The `ok`, with its frame's payload. */
  resolve(reply: Reply, payload: Uint8Array): void;
  /** The `err`, or why no answer will come. */
  reject(error: unknown): void;
  /** Called right after an answer (ok or err) settled it; not by rejectAll (the connection is over then). */
  answered?(): void;
}

/**
 * The requests that await an answer, by serial. Serials count up and wrap, skipping any still in
 * use, so a long-lived connection never reuses the serial of an unanswered request.
 */
export class PendingRequests {
  #next: number;
  readonly #entries = new SerialTable();
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

  /** The answer to request `serial`. */
  register(serial: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) =>
      // A resolve function takes one argument: the payload passed to it is ignored.
      this.#entries.set(serial, { resolve, reject }),
    );
  }

  /** Like `register`, for a request whose `ok` carries a payload (a method call). */
  registerWithPayload(serial: number): Promise<ReplyWithPayload> {
    return new Promise<ReplyWithPayload>((resolve, reject) =>
      this.#entries.set(serial, {
        resolve: (reply, payload) => resolve({ reply, payload }),
        reject,
      }),
    );
  }

  /** Registers `entry` as what awaits the answer to request `serial`. */
  add(serial: number, entry: PendingEntry): void {
    this.#entries.set(serial, entry);
  }

  /** Settles the request `serial` with its `ok`; false if no request has that serial. */
  resolve(serial: number, reply: Reply, payload: Uint8Array = EMPTY): boolean {
    const entry = this.#take(serial);
    if (entry === undefined) return false;
    // Read once the awaiting code resumes, which may be after the next socket read: its own bytes.
    entry.resolve(reply, kept(payload));
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
    const entries = this.#entries.clear();
    for (const entry of entries) entry.reject(error);
    this.#notifyIdle();
  }

  /** Resolves once no request is pending. */
  whenIdle(): Promise<void> {
    if (this.#entries.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  #take(serial: number): PendingEntry | undefined {
    const entry = this.#entries.take(serial);
    if (entry !== undefined && this.#entries.size === 0) this.#notifyIdle();
    return entry;
  }

  #notifyIdle(): void {
    if (this.#idle.length === 0) return;
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }
}

// Past this many slots, a table that is still crowded sends further collisions to the overflow map.
const MAX_TABLE_SLOTS = 1 << 16;

/*
 * Entries by serial, without a Map on the hot path: serials are handed out in sequence and the
 * live ones are mostly the last few hundred (the emit window), so a power-of-two table indexed by
 * the low bits of the serial holds them with no hashing and no allocation. A serial whose slot is
 * held by an older one (a call that outlived a whole table of serials) goes to `#overflow`; the
 * table doubles instead while it is at least half full.
 *
 *   slot = serial & (capacity - 1)     #keys[slot] = serial, #values[slot] = entry (or undefined)
 *
 * A serial is in exactly one place: its slot, or the overflow map.
 */
class SerialTable {
  #keys = new Uint32Array(256);
  #values: (PendingEntry | undefined)[] = new Array<PendingEntry | undefined>(256).fill(undefined);
  #mask = 255;
  #inTable = 0;
  readonly #overflow = new Map<number, PendingEntry>();

  get size(): number {
    return this.#inTable + this.#overflow.size;
  }

  has(serial: number): boolean {
    const slot = serial & this.#mask;
    if (this.#values[slot] !== undefined && this.#keys[slot] === serial) return true;
    return this.#overflow.size > 0 && this.#overflow.has(serial);
  }

  set(serial: number, entry: PendingEntry): void {
    // The caller never sets a serial that is in already (nextSerial skips them).
    let slot = serial & this.#mask;
    if (this.#values[slot] !== undefined && this.#inTable * 2 >= this.#values.length) {
      if (this.#values.length < MAX_TABLE_SLOTS) {
        this.#grow();
        slot = serial & this.#mask;
      }
    }
    if (this.#values[slot] === undefined) {
      this.#keys[slot] = serial;
      this.#values[slot] = entry;
      this.#inTable++;
    } else {
      this.#overflow.set(serial, entry);
    }
  }

  /** Removes and returns the entry of `serial`. */
  take(serial: number): PendingEntry | undefined {
    const slot = serial & this.#mask;
    const entry = this.#values[slot];
    if (entry !== undefined && this.#keys[slot] === serial) {
      this.#values[slot] = undefined;
      this.#inTable--;
      return entry;
    }
    if (this.#overflow.size === 0) return undefined;
    const overflowed = this.#overflow.get(serial);
    if (overflowed !== undefined) this.#overflow.delete(serial);
    return overflowed;
  }

  /** Empties the table; returns what it held, about oldest first (as a Map would, but at a wrap). */
  clear(): PendingEntry[] {
    const entries = [...this.#overflow.values()];
    this.#overflow.clear();
    // By serial: from the slot after the highest serial around the table (serials wrap at 2^32).
    let newest = -1;
    let newestSlot = 0;
    for (let slot = 0; slot < this.#values.length; slot++) {
      if (this.#values[slot] !== undefined && (this.#keys[slot] as number) > newest) {
        newest = this.#keys[slot] as number;
        newestSlot = slot;
      }
    }
    for (let k = 1; k <= this.#values.length; k++) {
      const slot = (newestSlot + k) & this.#mask;
      const entry = this.#values[slot];
      if (entry !== undefined) entries.push(entry);
      this.#values[slot] = undefined;
    }
    this.#inTable = 0;
    return entries;
  }

  #grow(): void {
    const keys = this.#keys;
    const values = this.#values;
    const capacity = values.length * 2;
    this.#keys = new Uint32Array(capacity);
    this.#values = new Array<PendingEntry | undefined>(capacity).fill(undefined);
    this.#mask = capacity - 1;
    // Serials in distinct slots differ in their low bits, so they land in distinct slots again.
    for (let slot = 0; slot < values.length; slot++) {
      const entry = values[slot];
      if (entry === undefined) continue;
      const serial = keys[slot] as number;
      this.#keys[serial & this.#mask] = serial;
      this.#values[serial & this.#mask] = entry;
    }
  }
}
