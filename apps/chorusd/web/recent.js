// The ring of recent signals.
//
//   ring:  [ r5 r6 r7 r2 r3 r4 ]      capacity = settings.maxSignals
//                     ^ next          the slot written next; the newest is just before it
//   size:  how many slots hold a signal (grows to capacity, then the oldest is overwritten)

import { settings } from './settings.js';

/**
 * @typedef {{ seq: number, groupSeq: number, time: number, group: string, signal: string,
 *   sender: string, retained: boolean, payload: unknown, text: string | undefined }} Entry
 */

export const recent = {
  /** @type {(Entry | undefined)[]} */
  ring: new Array(settings.maxSignals),
  next: 0,
  size: 0,
  /** Signals received since the page opened (count). */
  received: 0,

  /** @param {Entry} entry */
  add(entry) {
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.ring.length;
    if (this.size < this.ring.length) this.size++;
    this.received++;
  },

  /** Newest first: the entry `back` places before the newest. */
  nthNewest(back) {
    return this.ring[(this.next - 1 - back + this.ring.length * 2) % this.ring.length];
  },
};
