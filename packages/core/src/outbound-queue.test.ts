import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OutboundQueue } from './outbound-queue.js';

interface Item {
  readonly id: number;
  readonly size: number;
}

describe('OutboundQueue', () => {
  it('counts bytes and items, and takes in order up to maxBytes', () => {
    const queue = new OutboundQueue<Item>();
    for (let id = 0; id < 4; id++) queue.push({ id, size: 10 });
    expect(queue.bytes).toBe(40);
    expect(queue.length).toBe(4);
    expect(queue.take(25).map((i) => i.id)).toEqual([0, 1]);
    expect(queue.bytes).toBe(20);
    expect(queue.length).toBe(2);
    expect(queue.take(Number.POSITIVE_INFINITY).map((i) => i.id)).toEqual([2, 3]);
    expect(queue.bytes).toBe(0);
    expect(queue.take(100)).toEqual([]);
  });

  it('always takes one item, even one larger than maxBytes', () => {
    const queue = new OutboundQueue<Item>();
    queue.push({ id: 1, size: 1000 });
    queue.push({ id: 2, size: 1 });
    expect(queue.take(0).map((i) => i.id)).toEqual([1]);
    expect(queue.bytes).toBe(1);
  });

  it('clears', () => {
    const queue = new OutboundQueue<Item>();
    queue.push({ id: 1, size: 5 });
    queue.clear();
    expect(queue.length).toBe(0);
    expect(queue.bytes).toBe(0);
    expect(queue.take(10)).toEqual([]);
  });

  it('stays FIFO with exact byte counts across compactions (property)', () => {
    // Long runs cross the compaction threshold (1024 taken items), so both paths are exercised.
    const op = fc.oneof(
      fc.record({ push: fc.integer({ min: 1, max: 300 }), size: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ take: fc.integer({ min: 0, max: 2000 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const queue = new OutboundQueue<Item>();
        const model: Item[] = [];
        let next = 0;
        for (const o of ops) {
          if ('push' in o) {
            for (let i = 0; i < o.push; i++) {
              const item = { id: next++, size: o.size };
              queue.push(item);
              model.push(item);
            }
          } else {
            const taken = queue.take(o.take);
            let expected = 0;
            let bytes = 0;
            while (expected < model.length) {
              const size = (model[expected] as Item).size;
              if (expected > 0 && bytes + size > o.take) break;
              bytes += size;
              expected++;
            }
            expect(taken).toEqual(model.splice(0, expected));
          }
          expect(queue.length).toBe(model.length);
          expect(queue.bytes).toBe(model.reduce((sum, i) => sum + i.size, 0));
        }
      }),
      { numRuns: 200 },
    );
  });
});
