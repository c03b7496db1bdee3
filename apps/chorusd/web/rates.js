// Signals per second, per group: one counter per second and group over the last chartSeconds.

import { settings } from './settings.js';

export const rates = {
  /** @type {Map<string, Float64Array>} group → counts, indexed by second % chartSeconds */
  perGroup: new Map(),
  /** The second (Date.now() / 1000, floored) the newest counters are for. */
  second: Math.floor(Date.now() / 1000),

  count(group, time) {
    const second = Math.floor(time / 1000);
    if (second !== this.second) this.advance(second);
    let counts = this.perGroup.get(group);
    if (counts === undefined) {
      counts = new Float64Array(settings.chartSeconds);
      this.perGroup.set(group, counts);
    }
    counts[second % settings.chartSeconds]++;
  },

  /** Moves to `second`, zeroing the slots of the seconds in between; forgets silent groups. */
  advance(second) {
    if (second <= this.second) return;
    const steps = Math.min(second - this.second, settings.chartSeconds);
    for (const [group, counts] of this.perGroup) {
      for (let i = 1; i <= steps; i++) counts[(this.second + i) % settings.chartSeconds] = 0;
      if (counts.every((c) => c === 0)) this.perGroup.delete(group);
    }
    this.second = second;
  },

  /** The last complete second's count of a group. */
  lastSecond(group) {
    const counts = this.perGroup.get(group);
    return counts === undefined
      ? 0
      : counts[(this.second - 1 + settings.chartSeconds) % settings.chartSeconds];
  },

  total() {
    let sum = 0;
    for (const group of this.perGroup.keys()) sum += this.lastSecond(group);
    return sum;
  },
};
