// Hostile MessagePack: inputs that declare far more than they hold must be refused before any
// allocation proportional to the declared size. Both layers are tested: the allocation-free scan,
// and the size-bounded Decoders it hands over to.

import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH } from './constants.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { parseClientHeader } from './header-parser.js';
import { decodeUntrusted } from './msgpack.js';
import { findSerial, ScanFailure, scanValue, skipValue } from './msgpack-scan.js';
import { decodePayload } from './payload.js';

const { CI } = process.env;
const RUNS = CI === undefined ? 200 : 2_000;
// Property tests get room for the CI budget; a local run stays well under a second each.
const PROPERTY_TIMEOUT = { timeout: 60_000 };

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return (error as ProtocolError).code;
  }
  return undefined;
}

describe('skipValue', PROPERTY_TIMEOUT, () => {
  it('finds the end of every value @msgpack/msgpack encodes', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.uint8Array({ maxLength: 4 }), (value, trailing) => {
        const encoded = encode(value);
        const withTrailing = new Uint8Array(encoded.length + trailing.length);
        withTrailing.set(encoded);
        withTrailing.set(trailing, encoded.length);
        expect(skipValue(withTrailing, 0)).toBe(encoded.length);
        expect(scanValue(encoded)).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('handles every fixed-size and length-prefixed format', () => {
    const samples = [
      new Uint8Array([1, 2, 3]), // bin 8
      new Uint8Array(300), // bin 16
      new Uint8Array(70_000), // bin 32
      'x'.repeat(40), // str 8
      'x'.repeat(300), // str 16
      'x'.repeat(70_000), // str 32
      new Array(20).fill(0), // array 16
      Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])), // map 16
      -1, // negative fixint
      -100, // int 8
      -1000, // int 16
      -100_000, // int 32
      -(2 ** 40), // int 64
      2 ** 40, // uint 64
      1.5, // float 64
      new Date(0), // timestamp ext
    ];
    for (const sample of samples) {
      const encoded = encode(sample);
      expect(skipValue(encoded, 0), String(sample).slice(0, 20)).toBe(encoded.length);
    }
    // float 32, fixext 1/2/4/8/16, ext 8/16/32
    for (const encoded of [
      bytes(0xca, 0, 0, 0, 0),
      bytes(0xd4, 1, 0),
      bytes(0xd5, 1, 0, 0),
      bytes(0xd6, 1, 0, 0, 0, 0),
      bytes(0xd7, 1, ...new Array(8).fill(0)),
      bytes(0xd8, 1, ...new Array(16).fill(0)),
      bytes(0xc7, 2, 1, 0, 0),
      bytes(0xc8, 0, 2, 1, 0, 0),
      bytes(0xc9, 0, 0, 0, 2, 1, 0, 0),
    ]) {
      expect(skipValue(encoded, 0)).toBe(encoded.length);
    }
  });

  it('reports truncation at every cut of a valid value', () => {
    const encoded = encode({ a: [1, 'two', { three: 3.5 }], b: new Uint8Array(300), c: 'x'.repeat(40) });
    for (let end = 0; end < encoded.length; end++) {
      expect(skipValue(encoded.subarray(0, end), 0), `cut at ${end}`).toBeLessThan(0);
    }
  });

  it('names each failure', () => {
    expect(skipValue(bytes(0xc1), 0)).toBe(ScanFailure.RESERVED_BYTE);
    expect(skipValue(bytes(0xdd, 0xff, 0xff, 0xff, 0xff), 0)).toBe(ScanFailure.COUNT_EXCEEDS_INPUT);
    expect(skipValue(bytes(0x92, 0x01, 0xcd, 0x01), 0)).toBe(ScanFailure.TRUNCATED);
    expect(skipValue(bytes(...new Array(MAX_NESTING_DEPTH + 1).fill(0x91), 0), 0)).toBe(ScanFailure.TOO_DEEP);
    expect(skipValue(bytes(...new Array(MAX_NESTING_DEPTH).fill(0x91), 0), 0)).toBe(MAX_NESTING_DEPTH + 1);
    expect(scanValue(bytes(0x80, 0x80))).toMatch(/extra/);
  });
});

describe('findSerial', () => {
  it('reads s before the damage, in any integer format up to u32', () => {
    expect(findSerial(bytes(0x81, 0xa1, 0x73, 0x05))).toBe(5);
    expect(findSerial(bytes(0x82, 0xa1, 0x74, 0xc1, 0xa1, 0x73, 0x05))).toBeUndefined();
    expect(findSerial(bytes(0x82, 0xa1, 0x78, 0x90, 0xa1, 0x73, 0xcc, 0xc8, 0xc1))).toBe(200);
    expect(findSerial(bytes(0x81, 0xa1, 0x73, 0xcd, 0x01, 0x00))).toBe(256);
    expect(findSerial(bytes(0xde, 0x00, 0x01, 0xa1, 0x73, 0xce, 0xff, 0xff, 0xff, 0xff))).toBe(0xffff_ffff);
    expect(findSerial(bytes(0xdf, 0x00, 0x00, 0x00, 0x01, 0xa1, 0x73, 0x07))).toBe(7);
  });

  it('ignores a serial out of range or not an integer', () => {
    expect(findSerial(bytes(0x81, 0xa1, 0x73, 0x00))).toBeUndefined();
    expect(findSerial(bytes(0x81, 0xa1, 0x73, 0xa1, 0x31))).toBeUndefined();
    expect(findSerial(bytes(0x81, 0xa1, 0x73, 0xce, 0xff))).toBeUndefined();
    expect(findSerial(bytes(0x91, 0x01))).toBeUndefined();
    expect(findSerial(bytes())).toBeUndefined();
  });
});

describe('hostile MessagePack is BAD_MSGPACK without a big allocation', () => {
  it('array32 claiming 2^32-1 elements inside an 8-byte header', () => {
    const header = bytes(0x81, 0xa1, 0x74, 0xdd, 0xff, 0xff, 0xff, 0xff);
    expect(scanValue(header)).toMatch(/declares more elements/);
    expect(codeOf(() => parseClientHeader(header))).toBe(ErrorCode.BAD_MSGPACK);
    expect(codeOf(() => decodePayload(header.subarray(3)))).toBe(ErrorCode.BAD_MSGPACK);
  });

  it('many nested array16s each claiming 65535 elements', () => {
    // Trusting the counts would mean 2000 arrays of 65535 slots (about 1 GiB); this must be instant.
    const header = new Uint8Array(2 + 2000 * 3);
    header.set([0x81, 0xa0]);
    for (let i = 0; i < 2000; i++) header.set([0xdc, 0xff, 0xff], 2 + i * 3);
    for (let round = 0; round < 100; round++) {
      expect(codeOf(() => parseClientHeader(header))).toBe(ErrorCode.BAD_MSGPACK);
    }
  });

  it('a 1 MiB header of nested one-element arrays (one Decoder stack entry per byte)', () => {
    const header = new Uint8Array(1_048_576).fill(0x91);
    header.set([0x81, 0xa0], 0);
    expect(scanValue(header)).toMatch(/nesting deeper/);
    expect(codeOf(() => parseClientHeader(header))).toBe(ErrorCode.BAD_MSGPACK);
  });

  it('map32, str32, bin32 and ext32 lengths beyond the input', () => {
    for (const value of [
      bytes(0xdf, 0x7f, 0xff, 0xff, 0xff),
      bytes(0xdb, 0xff, 0xff, 0xff, 0xff, 0x61),
      bytes(0xc6, 0xff, 0xff, 0xff, 0xff, 0x00),
      bytes(0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00),
    ]) {
      expect(codeOf(() => decodeUntrusted(value, 'test'))).toBe(ErrorCode.BAD_MSGPACK);
    }
  });

  it('accepts the deepest nesting allowed', () => {
    const deepest = bytes(...new Array(MAX_NESTING_DEPTH).fill(0x91), 0x00);
    let expected: unknown = 0;
    for (let i = 0; i < MAX_NESTING_DEPTH; i++) expected = [expected];
    expect(decodePayload(deepest)).toEqual(expected);
  });
});
