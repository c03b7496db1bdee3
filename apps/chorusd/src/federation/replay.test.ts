import { describe, expect, it } from 'vitest';
import { joinReads, type ReplayedSignal, type ReplayRead } from './replay.js';

const sig = (fseq: number): ReplayedSignal => ({
  fseq,
  signal: 'S',
  from: ':1.2',
  payload: new Uint8Array(),
});
const read = (fseqs: number[], missedTo?: number, missed?: number): ReplayRead => ({
  signals: fseqs.map(sig),
  missedTo,
  missed,
});
const fseqs = (r: ReplayRead) => r.signals.map((s) => s.fseq);

describe('joinReads: the bulk (read while the applier went on) and the tail (read held)', () => {
  it('both complete: the two in order, nothing missed', () => {
    const r = joinReads(read([3, 5]), read([8, 9]), 10);
    expect(fseqs(r)).toEqual([3, 5, 8, 9]);
    expect(r.missedTo).toBeUndefined();
  });

  it('an empty tail (nothing applied during the bulk) is the bulk as it was', () => {
    expect(joinReads(read([3, 5], 2, 1), read([]), 10)).toEqual(read([3, 5], 2, 1));
  });

  it('more than max together: the most recent kept, the oldest counted as missed', () => {
    const r = joinReads(read([1, 2, 3]), read([4, 5]), 3);
    expect(fseqs(r)).toEqual([3, 4, 5]);
    expect(r).toMatchObject({ missedTo: 2, missed: 2 });
  });

  it('a trimmed bulk and a trim of the two: the counts add up', () => {
    const r = joinReads(read([5, 6], 4, 3), read([7, 8]), 3);
    expect(fseqs(r)).toEqual([6, 7, 8]);
    expect(r).toMatchObject({ missedTo: 5, missed: 4 });
  });

  it('a tail that missed something makes the whole bulk missed (what is not replayed is the oldest)', () => {
    const r = joinReads(read([3, 5]), read([9], 8, 1), 10);
    expect(fseqs(r)).toEqual([9]);
    expect(r).toMatchObject({ missedTo: 8, missed: 3 });
  });

  it('a failed tail (nothing read, count unknown): the whole range missed, uncounted', () => {
    const r = joinReads(read([3, 5]), read([], 9), 10);
    expect(fseqs(r)).toEqual([]);
    expect(r).toMatchObject({ missedTo: 9, missed: undefined });
  });

  it('a failed bulk (count unknown) and a complete tail: the tail, the bulk range missed, uncounted', () => {
    const r = joinReads(read([], 6), read([7, 8]), 10);
    expect(fseqs(r)).toEqual([7, 8]);
    expect(r).toMatchObject({ missedTo: 6, missed: undefined });
  });
});
