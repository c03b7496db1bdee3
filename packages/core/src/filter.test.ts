import { describe, expect, it } from 'vitest';
import { anyFilterMatches, type Filter, filterMatches, LazyFields } from './filter.js';

/** A fields reader that counts its calls. */
function countingReader(value: unknown): { read: () => unknown; readonly calls: number } {
  const reader = {
    calls: 0,
    read: () => {
      reader.calls++;
      return value;
    },
  };
  return reader;
}

describe('LazyFields', () => {
  it('calls the reader once, on first use, however often it is asked', () => {
    const reader = countingReader({ level: 5 });
    const fields = new LazyFields(reader.read);
    expect(reader.calls).toBe(0);
    expect(fields.get()).toEqual({ level: 5 });
    expect(fields.get()).toEqual({ level: 5 });
    expect(reader.calls).toBe(1);
  });

  it.each([
    ['no reader', undefined],
    ['a number', () => 7],
    ['null', () => null],
    ['an array', () => [1, 2]],
    ['a string', () => 'x'],
  ])('has no fields for %s', (_, read) => {
    expect(new LazyFields(read).get()).toBeUndefined();
  });

  it('treats a throwing reader as no fields, and does not call it again', () => {
    let calls = 0;
    const fields = new LazyFields(() => {
      calls++;
      throw new Error('undecodable');
    });
    expect(fields.get()).toBeUndefined();
    expect(fields.get()).toBeUndefined();
    expect(calls).toBe(1);
  });
});

describe('filterMatches', () => {
  const payload = { level: 5, state: 'charging', plugged: true, note: null };
  const match = (filter: Filter, signal = 'LevelChanged', sender = 1) =>
    filterMatches(filter, signal, sender, new LazyFields(() => payload));

  it.each<[string, Filter, boolean]>([
    ['the empty filter', {}, true],
    ['the signal', { signal: 'LevelChanged' }, true],
    ['another signal', { signal: 'StateChanged' }, false],
    ['the sender', { sender: 1 }, true],
    ['another sender', { sender: 2 }, false],
    ['one equal field', { fields: { level: 5 } }, true],
    ['every field equal', { fields: { level: 5, state: 'charging', plugged: true, note: null } }, true],
    ['one field different', { fields: { level: 5, state: 'full' } }, false],
    ['a field of another type', { fields: { level: '5' } }, false],
    ['a missing field', { fields: { missing: null } }, false],
    ['an inherited key', { fields: { toString: null } }, false],
    ['all conditions', { signal: 'LevelChanged', sender: 1, fields: { level: 5 } }, true],
    ['all but the sender', { signal: 'LevelChanged', sender: 9, fields: { level: 5 } }, false],
  ])('%s → %s', (_, filter, expected) => {
    expect(match(filter)).toBe(expected);
  });

  it('never reads the payload for a filter without field conditions, or after the signal differs', () => {
    const reader = countingReader(payload);
    const fields = new LazyFields(reader.read);
    expect(filterMatches({ signal: 'A', sender: 1 }, 'A', 1, fields)).toBe(true);
    expect(filterMatches({ signal: 'B', fields: { level: 5 } }, 'A', 1, fields)).toBe(false);
    expect(filterMatches({ sender: 2, fields: { level: 5 } }, 'A', 1, fields)).toBe(false);
    expect(reader.calls).toBe(0);
  });

  it('does not match a field filter when the payload has no fields', () => {
    expect(filterMatches({ fields: { level: 5 } }, 'A', 1, new LazyFields(undefined))).toBe(false);
  });
});

describe('anyFilterMatches', () => {
  it('ORs the filters, and shares one payload read between them', () => {
    const reader = countingReader({ level: 5 });
    const fields = new LazyFields(reader.read);
    const filters: Filter[] = [{ fields: { level: 1 } }, { fields: { level: 2 } }, { fields: { level: 5 } }];
    expect(anyFilterMatches(filters, 'A', 1, fields)).toBe(true);
    expect(anyFilterMatches([{ fields: { level: 1 } }, { signal: 'B' }], 'A', 1, fields)).toBe(false);
    expect(reader.calls).toBe(1);
  });

  it('matches nothing with no filters', () => {
    expect(anyFilterMatches([], 'A', 1, new LazyFields(undefined))).toBe(false);
  });
});
