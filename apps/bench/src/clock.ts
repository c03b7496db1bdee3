/*
 * One clock for every process of a run: CLOCK_MONOTONIC (process.hrtime) is system-wide on Linux,
 * so a timestamp taken by the emitter can be subtracted from one taken in a subscriber process.
 */

/** Monotonic time in microseconds (fractional), comparable across processes on this machine. */
export function nowUs(): number {
  const ns = process.hrtime.bigint();
  // Split so that the float keeps sub-microsecond precision whatever the uptime.
  return Number(ns / 1000n) + Number(ns % 1000n) / 1000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Lets the event loop run I/O callbacks (a resolved promise would not). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
