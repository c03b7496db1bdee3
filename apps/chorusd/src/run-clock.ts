/**
 * The time the daemon was able to run, in ms since it was made: the clock the engine judges
 * stalls by (`stallTimeoutMs`).
 *
 * A recipient that holds up a blocked emit is evicted once it has made no progress for
 * `stallTimeoutMs`. But it can only make progress while the daemon runs: its reads free room in
 * the daemon's socket, and only the daemon can notice that and take from its queue. While the
 * daemon is frozen (SIGSTOP, a suspended laptop, a long GC pause or a stuck event loop), wall
 * time, and a monotonic clock too, go on, and a clock made of them charges the whole freeze to
 * every recipient that happened to be full when it began.
 *
 * So this clock advances by the real (monotonic) time between two observations, except for a
 * gap longer than `maxGapMs`, which counts as zero. The daemon observes it at least every
 * ticker period (its stall ticker), more often when busy, so a daemon that runs never leaves
 * such a gap: one means it could not run.
 *
 *   source   0 ─ 100 ─ 200 ─ 300 ─────────── (frozen) ─────────── 5300 ─ 5400
 *   run      0   100   200   300                                    300    400
 *                                 └ gap 5000 > maxGapMs: counts 0 ┘
 *
 * Freezes shorter than `maxGapMs` do count (at most `maxGapMs` each): the price of not knowing
 * the difference between a slow timer and a short freeze. IO-free: the time source comes in.
 */
export class RunClock {
  readonly #source: () => number;
  readonly #maxGapMs: number;
  #last: number;
  #run = 0;

  /**
   * @param source a monotonic time in ms (`performance.now`), never wall time (`Date.now` jumps
   *   with the system clock).
   * @param maxGapMs the longest gap between two observations of a daemon that runs.
   */
  constructor(source: () => number, maxGapMs: number) {
    this.#source = source;
    this.#maxGapMs = maxGapMs;
    this.#last = source();
  }

  /** The run time now (ms): never decreases, and never counts a gap longer than `maxGapMs`. */
  now(): number {
    const at = this.#source();
    const gap = at - this.#last;
    this.#last = at;
    // A negative gap cannot come from a monotonic source; counting it would turn time back.
    if (gap > 0 && gap <= this.#maxGapMs) this.#run += gap;
    return this.#run;
  }
}
