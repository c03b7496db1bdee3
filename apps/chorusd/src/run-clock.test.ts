import { Engine } from '@chorus/core';
import { describe, expect, it } from 'vitest';
import { RunClock } from './run-clock.js';

/** A monotonic source the test moves by hand. */
class FakeSource {
  at = 1_000;
  readonly read = (): number => this.at;
}

const MAX_GAP = 500;

describe('RunClock', () => {
  it('starts at 0 and advances by the real time between observations while gaps stay small', () => {
    const source = new FakeSource();
    const clock = new RunClock(source.read, MAX_GAP);
    expect(clock.now()).toBe(0);
    source.at += 200;
    expect(clock.now()).toBe(200);
    source.at += MAX_GAP; // exactly the longest gap of a running daemon: counts
    expect(clock.now()).toBe(200 + MAX_GAP);
    expect(clock.now()).toBe(200 + MAX_GAP);
  });

  it('counts a gap longer than maxGapMs as zero (a freeze), then goes on from there', () => {
    const source = new FakeSource();
    const clock = new RunClock(source.read, MAX_GAP);
    source.at += 300;
    expect(clock.now()).toBe(300);
    source.at += 60_000; // SIGSTOP, a suspend: the first observation after it sees no time pass
    expect(clock.now()).toBe(300);
    source.at += 100;
    expect(clock.now()).toBe(400);
    source.at += MAX_GAP + 1;
    expect(clock.now()).toBe(400);
  });

  it('counts the gap before its first observation like any other', () => {
    const source = new FakeSource();
    const clock = new RunClock(source.read, MAX_GAP);
    source.at += 10_000;
    expect(clock.now()).toBe(0);
  });

  it('never goes back, whatever the source does', () => {
    const source = new FakeSource();
    const clock = new RunClock(source.read, MAX_GAP);
    source.at += 100;
    expect(clock.now()).toBe(100);
    source.at -= 50;
    expect(clock.now()).toBe(100);
    source.at += 70;
    expect(clock.now()).toBe(170);
  });
});

describe('an engine on the run clock', () => {
  // The daemon's wiring in small: a ticker every PERIOD, a gap of more than 2 × PERIOD is a freeze.
  const PERIOD = 100;
  const STALL = 400;

  function blocked() {
    const source = new FakeSource();
    const clock = new RunClock(source.read, 2 * PERIOD);
    const engine = new Engine<string>({ limits: { maxQueueBytes: 100, stallTimeoutMs: STALL } });
    const owner = engine.connect().id;
    engine.createGroup(owner, 'org.example.G', { onFull: 'block' });
    const slow = engine.connect().id;
    engine.join(slow, 'org.example.G');
    for (let i = 0; i < 10; i++) engine.post(slow, 'filler', 10);
    // 30 bytes: one filler taken still leaves no room for it.
    const outcome = engine.emit(
      { sender: owner, group: 'org.example.G', signal: 'S', payload: 'm', size: 30 },
      clock.now(),
    );
    expect(outcome.status).toBe('blocked');
    /** Runs the ticker `ticks` times, `PERIOD` apart; returns the evicted ids. */
    const run = (ticks: number) => {
      const evicted = [];
      for (let i = 0; i < ticks; i++) {
        source.at += PERIOD;
        evicted.push(...engine.tick(clock.now()));
      }
      return evicted;
    };
    return { source, clock, engine, slow, run };
  }

  it('does not evict at the first tick after a freeze longer than stallTimeoutMs: the freeze counts zero', () => {
    const { source, clock, engine, slow, run } = blocked();
    expect(run(2)).toEqual([]);
    source.at += 10 * STALL; // frozen: no tick ran
    expect(engine.tick(clock.now())).toEqual([]);
    // Its pending drain is handled next: it takes one, still has no room, and its stall clock
    // starts again, at the run time it took.
    expect(engine.take(slow, 10, clock.now())).toHaveLength(1);
    expect(run(STALL / PERIOD - 1)).toEqual([]);
    expect(engine.has(slow)).toBe(true);
    expect(run(1)).toEqual([slow]);
  });

  it('still evicts a recipient that makes no progress for stallTimeoutMs of run time, freezes aside', () => {
    const { source, slow, run } = blocked();
    expect(run(2)).toEqual([]);
    source.at += 10 * STALL;
    // The tick after the freeze counts nothing; the two after it make up the stall.
    expect(run(STALL / PERIOD - 2)).toEqual([]);
    expect(run(1)).toEqual([slow]);
  });
});
