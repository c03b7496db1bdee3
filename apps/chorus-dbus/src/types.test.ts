/*
 * One case per row of README.md's type table: the zod schema (what Chorus checks), fromDBus (what
 * the bridge makes of a received D-Bus value, as the library gives it) and toDBus (what it sends).
 */

import { Variant } from '@jellybrick/dbus-next';
import { describe, expect, it } from 'vitest';
import { BridgeErrorCode } from './errors.js';
import { parseSingle } from './signature.js';
import { fromDBus, guessType, toDBus, zodOf } from './types.js';

const accepts = (sig: string, value: unknown) => zodOf(parseSingle(sig)).safeParse(value).success;

describe('integers y n q i u: numbers within their ranges', () => {
  const rows = [
    ['y', 0, 255],
    ['n', -32768, 32767],
    ['q', 0, 65535],
    ['i', -2147483648, 2147483647],
    ['u', 0, 4294967295],
  ] as const;
  for (const [sig, min, max] of rows) {
    it(sig, () => {
      expect(accepts(sig, min)).toBe(true);
      expect(accepts(sig, max)).toBe(true);
      expect(accepts(sig, min - 1)).toBe(false);
      expect(accepts(sig, max + 1)).toBe(false);
      expect(accepts(sig, 1.5)).toBe(false);
      expect(fromDBus(parseSingle(sig), max)).toBe(max);
      expect(toDBus(parseSingle(sig), min)).toBe(min);
      expect(() => toDBus(parseSingle(sig), max + 1)).toThrow(
        expect.objectContaining({ code: BridgeErrorCode.BAD_VALUE }),
      );
    });
  }
});

describe('x t: safe integers, decimal strings beyond 2^53', () => {
  it('x', () => {
    const x = parseSingle('x');
    expect(fromDBus(x, -42n)).toBe(-42);
    expect(fromDBus(x, -(2n ** 63n))).toBe('-9223372036854775808');
    expect(fromDBus(x, 2n ** 53n)).toBe('9007199254740992');
    expect(fromDBus(x, 2n ** 53n - 1n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(accepts('x', -5)).toBe(true);
    expect(accepts('x', '-9223372036854775808')).toBe(true);
    expect(accepts('x', 2 ** 53)).toBe(false);
    expect(accepts('x', '1.5')).toBe(false);
    expect(toDBus(x, '-9223372036854775808')).toBe(-(2n ** 63n));
    expect(toDBus(x, 7)).toBe(7n);
  });
  it('t', () => {
    const t = parseSingle('t');
    expect(fromDBus(t, 2n ** 64n - 1n)).toBe('18446744073709551615');
    expect(fromDBus(t, 3n)).toBe(3);
    expect(accepts('t', -1)).toBe(false);
    expect(accepts('t', '-1')).toBe(false);
    expect(toDBus(t, '18446744073709551615')).toBe(2n ** 64n - 1n);
    expect(() => toDBus(t, 'many')).toThrow(expect.objectContaining({ code: BridgeErrorCode.BAD_VALUE }));
  });
});

describe('d b s o g', () => {
  it('d: any number', () => {
    expect(accepts('d', 0.5)).toBe(true);
    expect(accepts('d', 'x')).toBe(false);
    expect(fromDBus(parseSingle('d'), 12.25)).toBe(12.25);
  });
  it('b: boolean', () => {
    expect(accepts('b', true)).toBe(true);
    expect(accepts('b', 1)).toBe(false);
    expect(toDBus(parseSingle('b'), false)).toBe(false);
  });
  it('s: string', () => {
    expect(accepts('s', 'héllo')).toBe(true);
    expect(accepts('s', 1)).toBe(false);
  });
  it('o: an object path', () => {
    expect(accepts('o', '/')).toBe(true);
    expect(accepts('o', '/org/freedesktop/UPower/devices/DisplayDevice')).toBe(true);
    expect(accepts('o', 'org/x')).toBe(false);
    expect(accepts('o', '/org/')).toBe(false);
    expect(() => toDBus(parseSingle('o'), 'nope')).toThrow(
      expect.objectContaining({ code: BridgeErrorCode.BAD_VALUE }),
    );
  });
  it('g: a signature', () => {
    expect(accepts('g', 'a{sv}')).toBe(true);
    expect(accepts('g', 'z')).toBe(false);
  });
});

describe('containers', () => {
  it('arrays: aT → T[]', () => {
    expect(accepts('ai', [1, 2])).toBe(true);
    expect(accepts('ai', [1, 'x'])).toBe(false);
    expect(fromDBus(parseSingle('ax'), [1n, 2n ** 60n])).toEqual([1, '1152921504606846976']);
    expect(toDBus(parseSingle('as'), ['a'])).toEqual(['a']);
  });
  it('structs: (…) → tuples', () => {
    expect(accepts('(sib)', ['a', 1, true])).toBe(true);
    expect(accepts('(sib)', ['a', 1])).toBe(false);
    expect(fromDBus(parseSingle('(sx)'), ['a', 5n])).toEqual(['a', 5]);
    expect(toDBus(parseSingle('(sx)'), ['a', 5])).toEqual(['a', 5n]);
    expect(() => toDBus(parseSingle('(sx)'), ['a'])).toThrow(
      expect.objectContaining({ code: BridgeErrorCode.BAD_VALUE }),
    );
  });
  it('dicts with string keys: a{sT} → objects', () => {
    expect(accepts('a{su}', { a: 1 })).toBe(true);
    expect(accepts('a{su}', { a: -1 })).toBe(false);
    expect(fromDBus(parseSingle('a{su}'), { a: 1 })).toEqual({ a: 1 });
  });
  it('dicts with other keys: keys become decimal strings', () => {
    expect(fromDBus(parseSingle('a{is}'), { 1: 'one', '-2': 'minus two' })).toEqual({
      1: 'one',
      '-2': 'minus two',
    });
    expect(fromDBus(parseSingle('a{us}'), new Map([[7, 'seven']]))).toEqual({ 7: 'seven' });
    expect(accepts('a{is}', { 1: 'one' })).toBe(true);
  });
  it('a{sv}: a property bag, each variant unwrapped', () => {
    const bag = {
      Percentage: new Variant('d', 42.5),
      State: new Variant('u', 2),
      Big: new Variant('t', 2n ** 60n),
    };
    expect(fromDBus(parseSingle('a{sv}'), bag)).toEqual({
      Percentage: 42.5,
      State: 2,
      Big: '1152921504606846976',
    });
  });
  it('ay → bytes (a plain Uint8Array)', () => {
    const value = fromDBus(parseSingle('ay'), Buffer.from([1, 2, 3]));
    expect(value).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(value)).toBe(false);
    expect(value).toEqual(new Uint8Array([1, 2, 3]));
    expect(accepts('ay', new Uint8Array(2))).toBe(true);
    expect(accepts('ay', [1, 2])).toBe(false);
    expect(Buffer.isBuffer(toDBus(parseSingle('ay'), new Uint8Array([9])))).toBe(true);
  });
  it('v → the variant’s value, converted by its own signature', () => {
    expect(fromDBus(parseSingle('v'), new Variant('ay', Buffer.from([5])))).toEqual(new Uint8Array([5]));
    expect(fromDBus(parseSingle('v'), new Variant('v', new Variant('s', 'deep')))).toBe('deep');
    expect(accepts('v', { anything: [1] })).toBe(true);
  });
  it('v outgoing: the type is guessed from the value', () => {
    const sig = (value: unknown) => (toDBus(parseSingle('v'), value) as Variant).signature;
    expect(sig(true)).toBe('b');
    expect(sig('s')).toBe('s');
    expect(sig(3)).toBe('i');
    expect(sig(2 ** 40)).toBe('x');
    expect(sig(0.5)).toBe('d');
    expect(sig(new Uint8Array(1))).toBe('ay');
    expect(sig([1, 'a'])).toBe('av');
    expect(sig({ a: 1 })).toBe('a{sv}');
    expect(() => guessType(null)).toThrow(expect.objectContaining({ code: BridgeErrorCode.BAD_VALUE }));
  });
});

describe('h: file descriptors are refused', () => {
  for (const sig of ['h', 'ah', '(sh)', 'a{hs}', 'a{sh}']) {
    it(sig, () => {
      expect(() => zodOf(parseSingle(sig))).toThrow(
        expect.objectContaining({ code: BridgeErrorCode.UNSUPPORTED_TYPE }),
      );
    });
  }
  it('in both directions', () => {
    expect(() => fromDBus(parseSingle('h'), 3)).toThrow(
      expect.objectContaining({ code: BridgeErrorCode.UNSUPPORTED_TYPE }),
    );
    expect(() => toDBus(parseSingle('h'), 3)).toThrow(
      expect.objectContaining({ code: BridgeErrorCode.UNSUPPORTED_TYPE }),
    );
  });
});
