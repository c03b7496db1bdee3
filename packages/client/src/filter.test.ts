import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SignalFilter, sameFilters, toWireFilters } from './filter.js';

describe('toWireFilters', () => {
  it('spells the wire keys', () => {
    expect(
      toWireFilters({
        signal: 'LevelChanged',
        sender: ':1.4',
        fields: { source: 'ac', n: 1, ok: true, x: null },
      }),
    ).toEqual([{ sig: 'LevelChanged', from: ':1.4', eq: { source: 'ac', n: 1, ok: true, x: null } }]);
  });

  it('keeps a list of filters in order, leaving out absent conditions', () => {
    expect(toWireFilters([{ signal: 'A' }, { sender: ':1.2' }, {}])).toEqual([
      { sig: 'A' },
      { from: ':1.2' },
      {},
    ]);
  });

  it('means no filter for undefined and for an empty list', () => {
    expect(toWireFilters(undefined)).toBeUndefined();
    expect(toWireFilters([])).toBeUndefined();
  });
});

describe('sameFilters', () => {
  const filter = fc.record(
    {
      signal: fc.string(),
      sender: fc.string(),
      fields: fc.dictionary(
        fc.string(),
        fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
      ),
    },
    { requiredKeys: [] },
  ) as fc.Arbitrary<SignalFilter>;

  it('holds between a filter list and itself, whatever the order of eq keys', () => {
    fc.assert(
      fc.property(fc.array(filter, { maxLength: 4 }), (filters) => {
        const wire = toWireFilters(filters);
        const reordered = wire?.map((f) =>
          f.eq ? { ...f, eq: Object.fromEntries(Object.entries(f.eq).reverse()) } : f,
        );
        expect(sameFilters(wire, reordered)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('tells different filters apart', () => {
    expect(sameFilters(toWireFilters({ signal: 'A' }), toWireFilters({ signal: 'B' }))).toBe(false);
    expect(sameFilters(toWireFilters({ signal: 'A' }), undefined)).toBe(false);
    expect(
      sameFilters(
        toWireFilters([{ signal: 'A' }, { signal: 'B' }]),
        toWireFilters([{ signal: 'B' }, { signal: 'A' }]),
      ),
    ).toBe(false);
  });
});
