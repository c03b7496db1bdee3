// The seed's ordering scenario (multicast-unix-sockets.txt, "Atomic delivery and ordering"):
//
//      C    D
//  A -------->|    |  Step 1: A's message is delivered to C
//  B -------->|    |  Step 2: B's message is delivered to C
//  B ---------|--->|  Step 3: B's message is delivered to D
//  A ---------|--->|  Step 4: A's message is delivered to D
//
// must never happen: recipients that share messages see them in one order. The emits below are
// interleaved by fast-check, queues are small so that emits block, and recipients drain
// partially at random points in between.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordingHooks, signalsOf } from './engine.fixture.js';
import { Engine } from './engine.js';

interface Tagged {
  readonly tag: string;
}

/** An emitter that owns one group; the driver emits for it only while it is not blocked. */
interface Emitter {
  readonly name: string;
  readonly id: number;
  readonly group: string;
  sent: number;
}

/**
 * Drives `steps` interleaved emits and partial takes, then drains everyone.
 * Returns the tags each recipient received, in order.
 */
function drive(
  emitters: Record<string, readonly string[]>,
  steps: readonly { readonly who: number; readonly take: number; readonly max: number }[],
): Map<string, string[]> {
  const hooks = new RecordingHooks();
  const engine = new Engine<Tagged>({ hooks, limits: { maxQueueBytes: 40 } });
  const recipients = new Map<string, number>();
  const received = new Map<string, string[]>();
  const all: Emitter[] = [];
  for (const [name, to] of Object.entries(emitters)) {
    const id = engine.connect().id;
    const group = `org.seed.${name}`;
    engine.createGroup(id, group); // onFull 'block': emits wait instead of being lost
    all.push({ name, id, group, sent: 0 });
    for (const r of to) {
      if (!recipients.has(r)) {
        recipients.set(r, engine.connect().id);
        received.set(r, []);
      }
      engine.join(recipients.get(r) as number, group);
    }
  }
  const names = [...recipients.keys()];
  const take = (r: string, max: number) => {
    for (const m of signalsOf(engine.take(recipients.get(r) as number, max)))
      received.get(r)?.push(m.payload.tag);
  };
  for (const step of steps) {
    const emitter = all[step.who % all.length] as Emitter;
    if (!engine.connection(emitter.id)?.blocked) {
      const tag = `${emitter.name}${emitter.sent++}`;
      engine.emit({ sender: emitter.id, group: emitter.group, signal: 'S', payload: { tag }, size: 10 });
    }
    take(names[step.take % names.length] as string, step.max);
  }
  while (names.some((r) => engine.queuedBytes(recipients.get(r) as number) > 0)) {
    for (const r of names) take(r, Number.POSITIVE_INFINITY);
  }
  expect(engine.stats().pending).toBe(0);
  // Every emit was delivered: blocked ones settled as accepted, none failed.
  expect(hooks.settledCalls.every((c) => 'status' in c.outcome)).toBe(true);
  return received;
}

/** The union of every recipient's "received before" relation; true if it has a cycle. */
function hasCycle(sequences: Iterable<readonly string[]>): boolean {
  // Consecutive pairs are enough: a recipient's full order is their transitive closure.
  const edges = new Map<string, Set<string>>();
  const indegree = new Map<string, number>();
  const node = (n: string) => {
    if (!edges.has(n)) edges.set(n, new Set());
    if (!indegree.has(n)) indegree.set(n, 0);
  };
  for (const seq of sequences) {
    for (const n of seq) node(n);
    for (let i = 1; i < seq.length; i++) {
      const [from, to] = [seq[i - 1] as string, seq[i] as string];
      const out = edges.get(from) as Set<string>;
      if (!out.has(to)) {
        out.add(to);
        indegree.set(to, (indegree.get(to) ?? 0) + 1);
      }
    }
  }
  // Kahn: a graph is acyclic iff repeatedly removing nodes without incoming edges removes all.
  const ready = [...indegree].filter(([, d]) => d === 0).map(([n]) => n);
  let removed = 0;
  while (ready.length > 0) {
    const n = ready.pop() as string;
    removed++;
    for (const to of edges.get(n) ?? []) {
      const d = (indegree.get(to) as number) - 1;
      indegree.set(to, d);
      if (d === 0) ready.push(to);
    }
  }
  return removed < indegree.size;
}

const stepsArb = (minLength: number) =>
  fc.array(
    fc.record({
      who: fc.nat(),
      take: fc.nat(),
      max: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 40 })),
    }),
    {
      minLength,
      maxLength: minLength + 1000,
    },
  );

describe('ordering (the seed scenario)', () => {
  it('C and D see identical interleavings of A and B over two overlapping groups', () => {
    fc.assert(
      fc.property(stepsArb(3000), (steps) => {
        const received = drive({ A: ['C', 'D'], B: ['C', 'D'] }, steps);
        const [c, d] = [received.get('C') as string[], received.get('D') as string[]];
        expect(c.length).toBeGreaterThan(0);
        expect(d).toEqual(c);
      }),
      { numRuns: 5 },
    );
  });

  it('partial overlaps A→{C,D}, B→{D,E}, X→{C,E}: the union of "received before" has no cycle', () => {
    fc.assert(
      fc.property(stepsArb(3000), (steps) => {
        const received = drive({ A: ['C', 'D'], B: ['D', 'E'], X: ['C', 'E'] }, steps);
        for (const r of ['C', 'D', 'E']) expect(received.get(r)?.length).toBeGreaterThan(0);
        expect(hasCycle(received.values())).toBe(false);
      }),
      { numRuns: 5 },
    );
  });

  it("the cycle check finds the seed's bad interleaving, and the three-way one", () => {
    // The test of the test: the orders the engine must never produce are detected.
    expect(
      hasCycle([
        ['a', 'b'],
        ['b', 'a'],
      ]),
    ).toBe(true);
    expect(
      hasCycle([
        ['a', 'b'],
        ['b', 'x'],
        ['x', 'a'],
      ]),
    ).toBe(true);
    expect(
      hasCycle([
        ['a', 'b'],
        ['b', 'x'],
        ['a', 'x'],
      ]),
    ).toBe(false);
  });
});
