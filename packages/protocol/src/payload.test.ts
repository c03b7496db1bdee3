import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH } from './constants.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { decodePayload, encodePayload } from './payload.js';

const { CI } = process.env;
const RUNS = CI === undefined ? 200 : 2_000;
// Property tests get room for the CI budget; a local run stays well under a second each.
const PROPERTY_TIMEOUT = { timeout: 60_000 };

function caught(run: () => unknown): ProtocolError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe('payload codec', PROPERTY_TIMEOUT, () => {
  it('round-trips JSON-like values', () => {
    fc.assert(
      // A `__proto__` key is refused by the decoder: tested below. No `constructor` key either:
      // toStrictEqual compares `a.constructor === b.constructor`, which an own one breaks.
      fc.property(
        fc.jsonValue().filter((v) => !/"(__proto__|constructor)"/.test(JSON.stringify(v))),
        (value) => {
          const expected = JSON.parse(JSON.stringify(value)) as unknown; // MessagePack has no -0 integer
          expect(decodePayload(encodePayload(expected))).toStrictEqual(expected);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('rejects a `__proto__` key as BAD_MSGPACK, so it can never reach an object prototype', () => {
    const error = caught(() => decodePayload(encode(JSON.parse('{"__proto__":{"polluted":true},"a":1}'))));
    expect(error.code).toBe(ErrorCode.BAD_MSGPACK);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('round-trips binary data and dates', () => {
    const value = { bytes: new Uint8Array([1, 2, 3]), when: new Date(1_700_000_000_000) };
    expect(decodePayload(encodePayload(value))).toEqual(value);
  });

  it('is MessagePack, readable by any decoder', () => {
    expect(encodePayload({ text: 'hi' })).toEqual(encode({ text: 'hi' }));
  });

  it('encodes undefined as the empty payload and null as nil', () => {
    expect(encodePayload(undefined)).toEqual(new Uint8Array(0));
    expect(decodePayload(new Uint8Array(0))).toBeUndefined();
    expect(encodePayload(null)).toEqual(new Uint8Array([0xc0]));
    expect(decodePayload(new Uint8Array([0xc0]))).toBeNull();
  });

  it('leaves out undefined properties', () => {
    expect(decodePayload(encodePayload({ a: 1, b: undefined }))).toStrictEqual({ a: 1 });
  });

  it('returns a copy that later encodes do not overwrite', () => {
    const first = encodePayload('first');
    encodePayload('second');
    expect(decodePayload(first)).toBe('first');
  });

  it('still works after encoding a payload larger than the retained encoder buffer', () => {
    const big = 'x'.repeat(200_000);
    expect(decodePayload(encodePayload(big))).toBe(big);
    expect(decodePayload(encodePayload({ small: true }))).toEqual({ small: true });
  });

  describe(`${ErrorCode.BAD_MSGPACK}`, () => {
    const cases: [string, Uint8Array][] = [
      ['truncated', new Uint8Array([0x92, 0x01])],
      ['trailing bytes', new Uint8Array([0x01, 0x02])],
      ['reserved byte', new Uint8Array([0xc1])],
      ['array32 claiming 2^32-1 elements', new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])],
      ['too deep', new Uint8Array([...new Array(MAX_NESTING_DEPTH + 1).fill(0x91), 0x00])],
      ['map key that is a map', new Uint8Array([0x81, 0x80, 0x01])],
    ];
    for (const [name, bytes] of cases) {
      it(`decode: ${name}`, () => {
        const error = caught(() => decodePayload(bytes));
        expect(error.code).toBe(ErrorCode.BAD_MSGPACK);
        expect(error.serial).toBeUndefined();
      });
    }

    it('random bytes: a value or BAD_MSGPACK, nothing else', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
          try {
            decodePayload(bytes);
          } catch (error) {
            expect((error as ProtocolError).code).toBe(ErrorCode.BAD_MSGPACK);
          }
        }),
        { numRuns: RUNS * 5 },
      );
    });

    it('encode: values MessagePack cannot hold', () => {
      let deep: unknown = 0;
      for (let i = 0; i <= MAX_NESTING_DEPTH; i++) deep = [deep];
      const cyclic: { self?: unknown } = {};
      cyclic.self = cyclic;
      for (const value of [() => 1, Symbol('x'), 10n, deep, cyclic]) {
        const error = caught(() => encodePayload(value));
        expect(error.code).toBe(ErrorCode.BAD_MSGPACK);
        expect(error.cause).toBeInstanceOf(Error);
      }
    });

    it('the encoder keeps working after a failed encode', () => {
      caught(() => encodePayload({ f: () => 1 }));
      expect(decodePayload(encodePayload({ ok: 1 }))).toEqual({ ok: 1 });
    });
  });
});
