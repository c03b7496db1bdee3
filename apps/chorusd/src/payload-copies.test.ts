// Why: payload copies share slabs to save an off-heap allocation each; every copy must hold
// exactly its payload, never be written over by a later copy, and pin at most ratio × its size.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PayloadCopies } from './payload-copies.js';

describe('PayloadCopies', () => {
  it('copies each payload exactly, and no copy pins more than ratio × its size', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 40 }), (payloads) => {
        const copies = new PayloadCopies(4);
        const made = payloads.map((payload) => {
          const read = new Uint8Array(65_536);
          read.set(payload, 100);
          return copies.copy(read.subarray(100, 100 + payload.length));
        });
        made.forEach((copy, k) => {
          expect([...copy]).toEqual([...(payloads[k] as Uint8Array)]);
          expect(copy.buffer.byteLength).toBeLessThanOrEqual(Math.max(4 * copy.byteLength, 64));
        });
      }),
      { numRuns: 300 },
    );
  });
});
