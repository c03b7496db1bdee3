// Why: a batch's signals are encoded straight into the chunk that is written (chunksOfItems), not
// one buffer each (encodeItem). The chunks must be exactly encodeItem's frames end to end, for any
// mix of items (encoded or not, retained, large, replies, notices), and lending a frame to the
// rest of the pass must be the only way a chunk's bytes end up in an item.
import { Buffer } from 'node:buffer';
import type { Message, OutboundItem } from '@chorus/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunksOfItems, encodeItem } from './outbound-frames.js';

const signal = fc
  .record({
    seq: fc.maxSafeNat(),
    groupSeq: fc.maxSafeNat(),
    group: fc.constantFrom('org.example.Logs', 'a.b', 'org.example.Été'),
    signal: fc.constantFrom('Line', 'X', 'Ünïcode'),
    sender: fc.nat({ max: 100_000 }),
    retained: fc.boolean(),
    payload: fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.nat({ max: 40_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)),
    ),
    encoded: fc.boolean(),
  })
  .map(({ encoded, ...m }): { item: () => OutboundItem<Uint8Array> } => ({
    item: () => {
      const message: Message<Uint8Array> = { kind: 'signal', size: 0, wire: undefined, ...m };
      if (encoded) encodeItem(message); // encoded already, by an earlier session
      return message;
    },
  }));
const direct = fc.uint8Array({ minLength: 8, maxLength: 400 }).map((data) => ({
  item: (): OutboundItem<Uint8Array> => ({ kind: 'direct', data, size: data.byteLength }),
}));
const closed = fc.constantFrom('closed', 'owner-left').map((reason) => ({
  item: (): OutboundItem<Uint8Array> => ({ kind: 'group-closed', group: 'a.b', reason, size: 64 }),
}));

describe('chunksOfItems', () => {
  it('writes exactly the frames encodeItem makes, end to end, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(signal, signal, direct, closed), { minLength: 1, maxLength: 12 }),
        (makers) => {
          const expected = Buffer.concat(makers.map((m) => encodeItem(m.item())));
          const items = makers.map((m) => m.item());
          const lent: [Message<Uint8Array>, Uint8Array][] = [];
          const chunks = chunksOfItems(items, (item, frame) => lent.push([item, frame]));
          expect(Buffer.concat(chunks).equals(expected)).toBe(true);
          // Each lent frame is that item's frame.
          for (const [item, frame] of lent) {
            const fresh = { ...item, wire: undefined };
            expect(Buffer.from(frame).equals(Buffer.from(encodeItem(fresh)))).toBe(true);
          }
          // Without a lender, a signal encoded into a chunk keeps no reference to it.
          const again = makers.map((m) => m.item());
          const before = again.map((item) => (item.kind === 'signal' ? item.wire : undefined));
          expect(Buffer.concat(chunksOfItems(again)).equals(expected)).toBe(true);
          again.forEach((item, k) => {
            if (item.kind !== 'signal' || before[k] !== undefined) return;
            // Only a frame written alone (16 KiB and more) is kept, as encodeItem keeps it.
            if (item.wire !== undefined)
              expect((item.wire as Uint8Array).byteLength).toBeGreaterThanOrEqual(16 * 1024);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
