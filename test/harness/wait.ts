import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';

// Waiting for a condition instead of sleeping and hoping: every wait here is bounded (a bound, not
// a timing assertion) and polls, so a loaded machine only makes a test slower.

/** Lets queued microtasks and already-resolved IO callbacks run (the daemon flushes on setImmediate). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Asks until `check` holds; fails after 10 s. */
export async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (const started = Date.now(); !(await check()); await sleep(5)) {
    if (Date.now() - started > 10_000) expect.fail(`still waiting for ${what}`);
  }
}

/** Resolves once `count()` stopped changing for a while (a stream stalled), with its value; gives up after 20 s. */
export async function untilStalled(count: () => number): Promise<number> {
  let last = -1;
  for (let still = 0, polls = 0; still < 10 && polls < 400; polls++) {
    await sleep(50);
    const now = count();
    still = now === last ? still + 1 : 0;
    last = now;
  }
  return last;
}
