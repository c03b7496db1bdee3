// What the bus itself queues (replies, its own signals, notices, replays) is never held up or
// refused by onFull, yet must not grow a queue without bound (issue 11: replies to a client that
// never reads, NameOwnerChanged to a frozen member of org.chorus.Bus). Past maxQueueBytes the
// connection is on a stall clock; replies and bus signals never take it past the ceiling.
import { describe, expect, it } from 'vitest';
import { RecordingHooks, signalsOf } from './engine.fixture.js';
import { Engine } from './engine.js';
import { BUS_NAME } from './name-registry.js';
import { QUEUE_CEILING_FACTOR } from './options.js';

const QUEUE = 100;
const CEILING = QUEUE * QUEUE_CEILING_FACTOR;
const STALL = 1000;

function setup() {
  const hooks = new RecordingHooks();
  const engine = new Engine<unknown>({
    hooks,
    limits: { maxQueueBytes: QUEUE, stallTimeoutMs: STALL },
    busPayload: (value) => ({ payload: value, size: 20 }),
  });
  return { engine, hooks };
}

describe('replies (post)', () => {
  it('may take a queue past maxQueueBytes; overBound says so until a take brings it back', () => {
    const { engine } = setup();
    const c = engine.connect().id;
    engine.post(c, 'a', QUEUE);
    expect(engine.overBound(c)).toBe(false);
    engine.post(c, 'b', 10);
    expect(engine.overBound(c)).toBe(true);
    engine.take(c, 1); // takes 'a' only
    expect(engine.overBound(c)).toBe(false);
    expect(engine.queuedBytes(c)).toBe(10);
  });

  it('never past the ceiling: the connection is evicted instead, and counted', () => {
    const { engine, hooks } = setup();
    const c = engine.connect().id;
    const other = engine.connect().id;
    for (let i = 0; i < CEILING / 10; i++) engine.post(c, i, 10);
    expect(engine.queuedBytes(c)).toBe(CEILING);
    expect(hooks.evictedIds).toEqual([]);
    engine.post(c, 'one too many', 1);
    expect(hooks.evictedIds).toEqual([c]);
    expect(engine.has(c)).toBe(false);
    expect(engine.has(other)).toBe(true);
    expect(engine.stats().evictions).toBe(1);
  });

  it('an empty queue always takes one, even one larger than the ceiling', () => {
    const { engine, hooks } = setup();
    const c = engine.connect().id;
    engine.post(c, 'big', CEILING * 3);
    expect(hooks.evictedIds).toEqual([]);
    expect(engine.take(c)).toHaveLength(1);
  });
});

describe('the stall clock of a queue over maxQueueBytes', () => {
  it('evicts on tick once it stayed over for stallTimeoutMs, counted from the first tick that saw it', () => {
    const { engine, hooks } = setup();
    const c = engine.connect().id;
    engine.post(c, 'a', QUEUE + 1);
    engine.post(c, 'b', 1);
    expect(engine.tick(5000)).toEqual([]); // the clock starts here, never earlier
    expect(engine.tick(5000 + STALL - 1)).toEqual([]);
    expect(engine.tick(5000 + STALL)).toEqual([c]);
    expect(hooks.evictedIds).toEqual([c]);
    expect(engine.stats().evictions).toBe(1);
  });

  it('keeps running through a take that leaves the queue over; stops at one that brings it back', () => {
    const { engine } = setup();
    const c = engine.connect().id;
    for (let i = 0; i < 15; i++) engine.post(c, i, 10);
    engine.tick(0);
    engine.take(c, 10); // 140 bytes left: still over
    expect(engine.tick(STALL)).toEqual([c]);

    const d = engine.connect().id;
    for (let i = 0; i < 15; i++) engine.post(d, i, 10);
    engine.tick(2 * STALL);
    engine.take(d, 60); // 90 bytes left
    expect(engine.tick(3 * STALL)).toEqual([]);
    engine.post(d, 'again', 20); // over again: a fresh clock
    expect(engine.tick(4 * STALL)).toEqual([]);
    expect(engine.tick(5 * STALL)).toEqual([d]);
  });

  it('counts group-closed notices and retained replays, which are bounded otherwise and never capped', () => {
    const { engine, hooks } = setup();
    const owner = engine.connect().id;
    const member = engine.connect().id;
    engine.createGroup(owner, 'org.a.G', { retain: true });
    engine.emit({ sender: owner, group: 'org.a.G', signal: 'A', payload: 1, size: 90 });
    engine.emit({ sender: owner, group: 'org.a.G', signal: 'B', payload: 2, size: 90 });
    engine.post(member, 'x', CEILING - 10);
    engine.join(member, 'org.a.G'); // two replays of 90 bytes: past the ceiling, still queued
    engine.closeGroup(owner, 'org.a.G');
    expect(hooks.evictedIds).toEqual([]);
    expect(engine.queuedBytes(member)).toBeGreaterThan(CEILING);
    expect(engine.overBound(member)).toBe(true);
    engine.tick(0);
    expect(engine.tick(STALL)).toEqual([member]);
  });
});

describe('bus signals', () => {
  it('to a member of org.chorus.Bus that never takes: evicted at the ceiling, and the names go on', () => {
    const { engine, hooks } = setup();
    const frozen = engine.connect({ join: [{ group: BUS_NAME }] }).id;
    const watcher = engine.connect({ join: [{ group: BUS_NAME }] }).id;
    const churn = engine.connect().id;
    const seen: number[] = [];
    for (let i = 0; i < 100; i++) {
      engine.requestName(churn, `org.a.N${i}`);
      engine.releaseName(churn, `org.a.N${i}`);
      expect(engine.queuedBytes(frozen)).toBeLessThanOrEqual(CEILING);
      for (const m of signalsOf(engine.take(watcher))) seen.push(m.seq);
      engine.take(churn); // its NameAcquired and NameLost
    }
    expect(hooks.evictedIds).toEqual([frozen]);
    expect(engine.has(frozen)).toBe(false);
    // The watcher, which reads, got every NameOwnerChanged, in order, without a gap.
    expect(seen).toHaveLength(200);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(engine.nameOwner('org.a.N99')).toBeUndefined();
  });

  it('evicts only after the fan-out: the others get that signal before those of the eviction', () => {
    const { engine, hooks } = setup();
    const frozen = engine.connect({ join: [{ group: BUS_NAME }] }).id;
    engine.requestName(frozen, 'org.a.Frozen'); // its eviction will announce this name's change
    const owner = engine.connect().id;
    engine.requestName(owner, 'org.a.Held');
    const after = engine.connect({ join: [{ group: BUS_NAME }] }).id;
    engine.take(frozen);
    engine.post(frozen, 'fill', CEILING - 5);
    engine.releaseName(owner, 'org.a.Held');
    expect(hooks.evictedIds).toEqual([frozen]);
    const got = signalsOf(engine.take(after));
    expect(got.map((m) => (m.payload as { name: string }).name)).toEqual(['org.a.Held', 'org.a.Frozen']);
    expect(got[1]?.seq).toBeGreaterThan(got[0]?.seq ?? Number.POSITIVE_INFINITY);
  });
});
