import { describe, expect, it } from 'vitest';
import { BridgeErrorCode } from './errors.js';
import { formatType, parseSignature, parseSingle } from './signature.js';

describe('parseSignature', () => {
  it('reads complete types one after another, and formats them back', () => {
    const sigs = ['y', 'a{sv}', '(iа)'.replace('а', 's'), 'aa{oa{sv}}', '(a(ii)v)', 'ay', 'h'];
    for (const sig of sigs) expect(formatType(parseSingle(sig))).toBe(sig);
    expect(parseSignature('sa{sv}as').map(formatType)).toEqual(['s', 'a{sv}', 'as']);
    expect(parseSignature('')).toEqual([]);
  });
  it.each([
    ['a', 'ends'],
    ['(', 'not closed'],
    ['()', 'at least one field'],
    ['a{vs}', 'basic type'],
    ['a{sss}', 'exactly two'],
    ['z', "unknown type code 'z'"],
    ['a'.repeat(100) + 'y', 'nested too deeply'],
  ])('refuses %s', (sig, why) => {
    expect(() => parseSignature(sig)).toThrow(
      expect.objectContaining({ code: BridgeErrorCode.BAD_SIGNATURE }),
    );
    expect(() => parseSignature(sig)).toThrow(why);
  });
  it('parseSingle wants exactly one type', () => {
    expect(() => parseSingle('ss')).toThrow(expect.objectContaining({ code: BridgeErrorCode.BAD_SIGNATURE }));
  });
});
