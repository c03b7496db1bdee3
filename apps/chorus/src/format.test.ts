import { describe, expect, it } from 'vitest';
import { compactJson, formatBytes, formatCount, formatDuration, prettyJson, toJson } from './format.js';

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [850, '850ms'],
    [1000, '1s'],
    [59_999, '59s'],
    [60_000, '1m'],
    [303_000, '5m 3s'],
    [3_600_000, '1h'],
    [7_500_000, '2h 5m'],
    [90_061_000, '1d 1h'],
    [-1, '-'],
    [Number.NaN, '-'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('formatBytes and formatCount', () => {
  it('uses binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(8 * 1024 * 1024)).toBe('8.0 MiB');
  });

  it('groups thousands', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatCount(-12_345)).toBe('-12,345');
  });
});

describe('toJson', () => {
  it('keeps JSON values as they are', () => {
    const value = { a: [1, 'two', null, true], b: { c: 1.5 } };
    expect(toJson(value)).toEqual(value);
  });

  it('turns what MessagePack has and JSON lacks into JSON', () => {
    expect(toJson(new Uint8Array([1, 2, 255]))).toEqual({ $bytes: 'AQL/' });
    expect(toJson(42n)).toBe(42);
    expect(toJson(2n ** 64n)).toBe('18446744073709551616');
    expect(toJson(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
    expect(toJson(new Map<unknown, unknown>([[1, 'a']]))).toEqual({ 1: 'a' });
    expect(toJson(undefined)).toBeNull();
    expect(toJson({ a: undefined, b: 1 })).toEqual({ b: 1 });
    expect(toJson(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });

  it('prints one line or indented', () => {
    expect(compactJson({ percent: 42 })).toBe('{"percent":42}');
    expect(prettyJson({ percent: 42 })).toBe('{\n  "percent": 42\n}');
  });
});
