import { Decoder, decode, ExtData, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { skipValue } from '../msgpack-scan.js';
import { decodeChecked, MsgpackDecodeError } from './msgpack-decoder.js';

const { CI } = process.env;
const RUNS = CI === undefined ? 300 : 3_000;
const PROPERTY_TIMEOUT = { timeout: 60_000 };

const bytes = (...values: number[]) => new Uint8Array(values);

/** What @msgpack/msgpack's Decoder makes of `input`: the value, or the fact that it threw. */
function reference(input: Uint8Array): { value: unknown } | { threw: true } {
  try {
    return { value: new Decoder().decode(input) };
  } catch {
    return { threw: true };
  }
}

function ours(input: Uint8Array): { value: unknown } | { threw: true } {
  try {
    return { value: decodeChecked(input) };
  } catch {
    return { threw: true };
  }
}

// Every MessagePack type the encoder produces: all integer widths, floats (incl. -0, NaN, ±Inf),
// short and long strings with non-ASCII, binary, nested arrays and maps, Dates (the timestamp ext)
// and other extensions.
const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.integer({ min: -0x100, max: 0x100 }),
  fc.double(),
  fc.float().map((f) => Math.fround(f)),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ minLength: 30, maxLength: 300 }),
  // Any UTF-16 code units: lone surrogates, U+FEFF first, ... (up to 60 units: under 200 bytes,
  // where @msgpack/msgpack decodes by hand; longer strings are tested below).
  fc
    .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 60 })
    .map((units) => String.fromCharCode(...units)),
  fc.uint8Array({ maxLength: 300 }),
  fc.date({ noInvalidDate: true }),
  fc
    .tuple(fc.integer({ min: 0, max: 127 }), fc.uint8Array({ maxLength: 20 }))
    .map(([type, data]) => new ExtData(type, data)),
);
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('map')),
  array: fc.array(tie('node'), { maxLength: 20 }),
  map: fc.dictionary(
    // `__proto__` is refused (tested below); an own `constructor` breaks toStrictEqual, which
    // compares `a.constructor === b.constructor`.
    fc.string({ maxLength: 20 }).filter((k) => k !== '__proto__' && k !== 'constructor'),
    tie('node'),
    { maxKeys: 20 },
  ),
})).node;

describe('decodeChecked', PROPERTY_TIMEOUT, () => {
  it('gives what @msgpack/msgpack gives, for every encodable value', () => {
    fc.assert(
      fc.property(value, (v) => {
        const encoded = encode(v);
        expect(skipValue(encoded, 0)).toBe(encoded.length);
        expect(decodeChecked(encoded)).toStrictEqual(decode(encoded));
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with @msgpack/msgpack on random bytes that pass the structure check', () => {
    // Random bytes reach what no encoder writes: non-canonical widths, invalid UTF-8 in short
    // keys, map keys that are maps or nil, malformed timestamps, uint64/int64 beyond 2^53.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (input) => {
        if (skipValue(input, 0) !== input.length) return;
        const expected = reference(input);
        const actual = ours(input);
        if ('threw' in expected) {
          expect(actual).toEqual({ threw: true });
        } else if (!hasInvalidUtf8String(input)) {
          expect(actual).toStrictEqual(expected);
        }
      }),
      { numRuns: RUNS * 10 },
    );
  });

  it('decodes every integer format, at its limits', () => {
    const cases: [Uint8Array, number][] = [
      [bytes(0x7f), 127],
      [bytes(0xe0), -32],
      [bytes(0xcc, 0xff), 255],
      [bytes(0xcd, 0xff, 0xff), 65_535],
      [bytes(0xce, 0xff, 0xff, 0xff, 0xff), 0xffff_ffff],
      [bytes(0xcf, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), Number.MAX_SAFE_INTEGER],
      [bytes(0xd0, 0x80), -128],
      [bytes(0xd1, 0x80, 0x00), -32_768],
      [bytes(0xd2, 0x80, 0x00, 0x00, 0x00), -0x8000_0000],
      [bytes(0xd3, 0xff, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01), Number.MIN_SAFE_INTEGER],
      [bytes(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), -1],
    ];
    for (const [input, expected] of cases) {
      expect(decodeChecked(input)).toBe(expected);
      expect(decode(input)).toBe(expected);
    }
  });

  it('returns binary values as views of the input, not copies', () => {
    const input = encode({ pad: new Uint8Array([1, 2, 3]) });
    const { pad } = decodeChecked(input) as { pad: Uint8Array };
    expect(pad.buffer).toBe(input.buffer);
    expect([...pad]).toEqual([1, 2, 3]);
  });

  it('returns the same string for a key seen before, and still tells similar keys apart', () => {
    const first = decodeChecked(encode({ level: 1 })) as Record<string, number>;
    const second = decodeChecked(encode({ level: 2 })) as Record<string, number>;
    expect(Object.keys(first)[0]).toBe(Object.keys(second)[0]);
    // Keys of one length with the same first and last byte share a cache slot.
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ minLength: 1, maxLength: 4 }).map((middle) => `k${middle}k`),
          { maxLength: 8 },
        ),
        (keys) => {
          for (const key of keys) expect(decodeChecked(encode({ [key]: key }))).toStrictEqual({ [key]: key });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('refuses a `__proto__` key and keys that are not strings or numbers', () => {
    expect(() => decodeChecked(encode(JSON.parse('{"__proto__":{"x":1}}')))).toThrow(MsgpackDecodeError);
    expect(() => decodeChecked(bytes(0x81, 0xc0, 0x01))).toThrow(/must be string or number/);
    expect(() => decodeChecked(bytes(0x81, 0x80, 0x01))).toThrow(/must be string or number/);
    // A number key is a property name, as in @msgpack/msgpack.
    expect(decodeChecked(bytes(0x81, 0x07, 0x01))).toStrictEqual({ 7: 1 });
  });

  it('keeps a leading U+FEFF and lone surrogates, in values and keys, short or long', () => {
    for (const text of ['\uFEFFhello', '\uD800', 'a\uDC00b', `\uFEFF${'é'.repeat(150)}`]) {
      expect(decodeChecked(encode(text))).toBe(text);
    }
    // Two keys told apart only by the BOM stay two keys.
    const both = { percent: 50, '\uFEFFpercent': 500 };
    expect(decodeChecked(encode(both))).toStrictEqual(both);
  });

  it('decodes bytes that are not UTF-8 as U+FFFD, short or long, losing nothing after them', () => {
    expect(decodeChecked(bytes(0xa2, 0x61, 0xff))).toBe('a\ufffd');
    expect(decodeChecked(bytes(0xa3, 0xe2, 0x41, 0x42))).toBe('\ufffdAB'); // a cut 3-byte sequence
    const long = new Uint8Array(2 + 250).fill(0x61);
    long.set([0xd9, 250], 0);
    long[50] = 0xc3;
    expect(decodeChecked(long)).toBe(`${'a'.repeat(48)}\ufffd${'a'.repeat(201)}`);
  });
});

/** Whether any str in `input` (top level or nested) holds bytes that are not valid UTF-8. */
function hasInvalidUtf8String(input: Uint8Array): boolean {
  // @msgpack/msgpack's JS path decodes invalid UTF-8 in short strings its own way; ours follows
  // TextDecoder. Only those inputs may differ.
  const fatal = new TextDecoder('utf-8', { fatal: true });
  for (let at = 0; at < input.length; at++) {
    const b = input[at] as number;
    let length = -1;
    let start = at + 1;
    if (b >= 0xa0 && b <= 0xbf) length = b & 0x1f;
    else if (b === 0xd9) {
      length = input[at + 1] ?? 0;
      start = at + 2;
    }
    if (length < 0) continue;
    try {
      fatal.decode(input.subarray(start, start + length));
    } catch {
      return true;
    }
  }
  return false;
}
