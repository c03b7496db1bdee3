// The hand-written frame encoders against the reference encodeFrame, byte for byte.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from '../errors.js';
import { FrameDecoder } from '../frame-decoder.js';
import { parseServerHeader } from '../header-parser.js';
import type { SignalMessage } from '../messages.js';
import { encodePayload } from '../payload.js';
import { encodeFrame } from '../reference/frame-encoder.js';
import {
  encodeEmitFrame,
  encodeEmitValueFrame,
  encodeSignalFrame,
  encodeSignalFrameInto,
  signalFrameLength,
} from './frame-encoder.js';

const { CI } = process.env;
const RUNS = CI === undefined ? 200 : 2_000;
// Property tests get room for the CI budget; a local run stays well under a second each.
const PROPERTY_TIMEOUT = { timeout: 60_000 };

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** Splits a frame into its header and payload with the real decoder. */
function unframe(frame: Uint8Array): { header: Uint8Array; payload: Uint8Array } {
  const found: { header: Uint8Array; payload: Uint8Array }[] = [];
  const decoder = new FrameDecoder({
    frame: (header, payload) => found.push({ header, payload }),
    error: (error) => {
      throw error;
    },
  });
  decoder.push(frame);
  expect(found).toHaveLength(1);
  expect(decoder.bufferedBytes).toBe(0);
  return found[0]!;
}

describe('encodeSignalFrame', PROPERTY_TIMEOUT, () => {
  function viaEncodeFrame(
    seq: number,
    gseq: number,
    g: string,
    sig: string,
    from: string,
    retained: boolean,
    payload: Uint8Array,
  ): Uint8Array {
    const message: SignalMessage = { t: 'sig', seq, gseq, g, sig, from };
    if (retained) message.r = true;
    return encodeFrame(message, payload);
  }

  it('is byte for byte what encodeFrame produces', () => {
    const payload = encodePayload({ line: 'hello' });
    for (const retained of [false, true]) {
      expect(toHex(encodeSignalFrame(42, 8, 'logs', 'line', ':1.3', retained, payload))).toBe(
        toHex(viaEncodeFrame(42, 8, 'logs', 'line', ':1.3', retained, payload)),
      );
    }
  });

  it('uses every integer width and string length class', () => {
    const seqs = [0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
    const names = [
      '',
      'a',
      'x'.repeat(31),
      'x'.repeat(32),
      'x'.repeat(255),
      'x'.repeat(256),
      'x'.repeat(70_000),
    ];
    for (const seq of seqs) {
      for (const name of names) {
        expect(toHex(encodeSignalFrame(seq, seq, name, 'sig', ':1.1', false, new Uint8Array(0)))).toBe(
          toHex(viaEncodeFrame(seq, seq, name, 'sig', ':1.1', false, new Uint8Array(0))),
        );
      }
    }
  });

  it('encodes non-ASCII names as UTF-8', () => {
    for (const name of ['café', 'Ωμέγα', '日本語', 'emoji 🎉 ok', 'é'.repeat(40)]) {
      const frame = encodeSignalFrame(1, 1, name, name, name, false, new Uint8Array(0));
      expect(toHex(frame)).toBe(toHex(viaEncodeFrame(1, 1, name, name, name, false, new Uint8Array(0))));
      expect(parseServerHeader(unframe(frame).header)).toMatchObject({ g: name, sig: name, from: name });
    }
  });

  it('replaces a lone surrogate with U+FFFD', () => {
    const frame = encodeSignalFrame(1, 1, 'a\ud800b', 's', ':1.1', false, new Uint8Array(0));
    expect(parseServerHeader(unframe(frame).header)).toMatchObject({ g: 'a\ufffdb' });
  });

  it('round-trips through the decoder and parseServerHeader (property)', () => {
    const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 });
    fc.assert(
      fc.property(
        fc.maxSafeNat(),
        fc.maxSafeNat(),
        name,
        name,
        name,
        fc.boolean(),
        fc.uint8Array({ maxLength: 64 }),
        (seq, gseq, g, sig, from, retained, payload) => {
          const frame = encodeSignalFrame(seq, gseq, g, sig, from, retained, payload);
          expect(toHex(frame)).toBe(toHex(viaEncodeFrame(seq, gseq, g, sig, from, retained, payload)));
          const { header, payload: received } = unframe(frame);
          const expected: SignalMessage = { t: 'sig', seq, gseq, g, sig, from };
          if (retained) expected.r = true;
          expect(parseServerHeader(header)).toStrictEqual(expected);
          expect(toHex(received)).toBe(toHex(payload));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('writes the same bytes when the names come from its cache (same triple in a row)', () => {
    const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
    const triple = fc.tuple(name, name, name);
    fc.assert(
      fc.property(
        // seq + k stays a safe integer (sequence numbers are; beyond, @msgpack/msgpack writes a float).
        fc.array(
          fc.tuple(fc.nat({ max: Number.MAX_SAFE_INTEGER - 3 }), triple, fc.boolean(), fc.nat({ max: 3 })),
          {
            maxLength: 6,
          },
        ),
        (runs) => {
          for (const [seq, [g, sig, from], r, times] of runs) {
            for (let k = 0; k <= times; k++) {
              // An equal string that is not the same string object reads from the cache too.
              const group = k % 2 === 0 ? g : [...g].join('');
              const payload = new Uint8Array([k]);
              const length = signalFrameLength(seq + k, seq, group, sig, from, r, 1);
              const target = new Uint8Array(length).fill(0xee);
              expect(encodeSignalFrameInto(target, 0, seq + k, seq, group, sig, from, r, payload)).toBe(
                length,
              );
              expect(toHex(target)).toBe(toHex(viaEncodeFrame(seq + k, seq, g, sig, from, r, payload)));
            }
          }
        },
      ),
      { numRuns: RUNS / 5 },
    );
  });

  it('writes the same frames end to end into one buffer (encodeSignalFrameInto), each of signalFrameLength bytes', () => {
    // Reason: the daemon writes a batch's signals straight into the chunk it sends; every byte of
    // it must be written (the chunk is not zeroed) and be what encodeFrame writes for each.
    const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
    const message = fc.tuple(
      fc.maxSafeNat(),
      fc.maxSafeNat(),
      name,
      name,
      name,
      fc.boolean(),
      fc.uint8Array({ maxLength: 300 }),
    );
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), fc.nat({ max: 7 }), (messages, lead) => {
        const lengths = messages.map(([seq, gseq, g, sig, from, r, payload]) =>
          signalFrameLength(seq, gseq, g, sig, from, r, payload.length),
        );
        const target = new Uint8Array(lead + lengths.reduce((a, b) => a + b, 0)).fill(0xee);
        let at = lead;
        const expected = [toHex(target.subarray(0, lead))];
        for (const [k, [seq, gseq, g, sig, from, r, payload]] of messages.entries()) {
          const end = encodeSignalFrameInto(target, at, seq, gseq, g, sig, from, r, payload);
          expect(end - at).toBe(lengths[k]);
          at = end;
          expected.push(toHex(viaEncodeFrame(seq, gseq, g, sig, from, r, payload)));
        }
        expect(at).toBe(target.length);
        expect(toHex(target)).toBe(expected.join(''));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('encodeEmitValueFrame', () => {
  // Reason: it writes common payloads by hand instead of through @msgpack/msgpack; on every value
  // it must give the bytes encodePayload gives (or throw what it throws).

  /** The frame encodeEmitFrame(encodePayload(value)) makes, or the error code of the encoding. */
  function expected(value: unknown): unknown {
    try {
      return { ok: toHex(encodeEmitFrame(7, 'g', 'sig', encodePayload(value))) };
    } catch (error) {
      return { error: error instanceof ProtocolError ? error.code : String(error) };
    }
  }

  function actual(value: unknown, allocate?: (size: number) => Uint8Array): unknown {
    try {
      return { ok: toHex(encodeEmitValueFrame(7, 'g', 'sig', value, allocate)) };
    } catch (error) {
      return { error: error instanceof ProtocolError ? error.code : String(error) };
    }
  }

  const dirty = (size: number) => new Uint8Array(size).fill(0xee);

  // Every MessagePack format boundary, on both sides.
  const edges = [0x20, 0x80, 0x100, 0x8000, 0x1_0000, 0x8000_0000, 0x1_0000_0000, 2 ** 52, 2 ** 53];
  const integer = fc.oneof(
    fc.constantFrom(...edges.flatMap((e) => [e - 1, e, e + 1, -e - 1, -e, -e + 1]), -0, 0),
    fc.integer(),
    fc.maxSafeInteger(),
  );
  const number = fc.oneof(integer, fc.double(), fc.constantFrom(Number.NaN, Infinity, -Infinity, 0.5, -1.5));
  const string = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }), // lone surrogates, below and above 50 units
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ maxLength: 40 }),
    fc.constantFrom(31, 32, 255, 256, 0xffff, 0x1_0000).map((n) => 'x'.repeat(n)),
    fc.constantFrom(10, 85, 86, 0x5555, 0x5556).map((n) => 'é'.repeat(n)),
  );
  const binary = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.constantFrom(0xff, 0x100, 0xffff, 0x1_0000).map((n) => new Uint8Array(n).fill(n & 0xff)),
    fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes)),
  );
  const leaf = fc.oneof(number, string, binary, fc.boolean(), fc.constant(null), fc.constant(undefined));
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
    array: fc.oneof(
      fc.array(tie('value'), { maxLength: 20 }),
      fc.sparseArray(tie('value'), { maxLength: 20 }),
    ),
    object: fc.oneof(
      fc.dictionary(
        fc.oneof(string, fc.constantFrom('0', '1', '-1', '__proto__', 'toString')),
        tie('value'),
        {
          maxKeys: 20,
        },
      ),
      fc.dictionary(fc.string({ maxLength: 5 }), tie('value'), { maxKeys: 20, noNullPrototype: false }),
    ),
  }));

  it('writes what encodePayload writes, on random payloads', PROPERTY_TIMEOUT, () => {
    fc.assert(
      fc.property(value, (v) => {
        const want = expected(v);
        expect(actual(v)).toEqual(want);
        expect(actual(v, dirty)).toEqual(want);
      }),
      // Values reach 64 KiB (the format edges): a run costs ~6 ms, so not the 5x of the cheap tests.
      { numRuns: RUNS / 2 },
    );
  });

  it('writes what encodePayload writes, or throws what it throws, on anything', PROPERTY_TIMEOUT, () => {
    const anything = fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withNullPrototype: true,
      withObjectString: true,
      withSet: true,
      withSparseArray: true,
      withTypedArray: true,
      stringUnit: 'binary',
    });
    fc.assert(
      fc.property(anything, (v) => {
        expect(actual(v, dirty)).toEqual(expected(v));
      }),
      { numRuns: RUNS * 5 },
    );
  });

  it('agrees at the edges: collection sizes, nesting depth, large payloads', () => {
    const entries = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    const nested = (depth: number) => {
      let v: unknown = 1;
      for (let i = 1; i < depth; i++) v = [v];
      return v;
    };
    const cases: unknown[] = [
      entries(15),
      entries(16),
      entries(0x1_0000),
      Array.from({ length: 15 }, (_, i) => i),
      Array.from({ length: 16 }, (_, i) => i),
      Array.from({ length: 0x1_0000 }, () => null),
      nested(99),
      nested(100),
      nested(101),
      { big: new Uint8Array(70_000) }, // past the scratch buffer: the generic encoder writes it
      { a: undefined, b: 1, c: undefined },
      Object.assign(Object.create(null), { x: 1 }),
      JSON.parse('{"__proto__": 1, "a": [1, {"__proto__": null}]}'),
      new Int16Array([1, 2]),
      new Date(0),
      new Map([[1, 2]]),
      [new Set([1])],
      { n: 10n },
      { f: () => 1 },
      { s: Symbol('s') },
    ];
    for (const v of cases) {
      expect(actual(v, dirty)).toEqual(expected(v));
    }
    for (const e of edges) {
      for (const n of [e - 1, e, e + 1, -e - 1, -e, -e + 1]) expect(actual(n)).toEqual(expected(n));
    }
    // A lone surrogate on each side of the length where @msgpack/msgpack switches to TextEncoder.
    for (const units of [49, 50, 51, 52]) {
      for (const lone of ['\ud800', '\udc00']) {
        const text = lone + 'x'.repeat(units - 1);
        expect(actual(text)).toEqual(expected(text));
        expect(actual({ [text]: 1 })).toEqual(expected({ [text]: 1 }));
      }
    }
  });

  it('leaves out what an object inherits, as Object.keys does', () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto['polluted'] = 1;
    try {
      expect(actual({ a: 1 })).toEqual(expected({ a: 1 }));
    } finally {
      delete proto['polluted'];
    }
  });

  it('leaves arrays with another prototype, array-like objects and key-changing getters to the generic encoder', () => {
    const odd = [
      Object.setPrototypeOf([1, 2], Object.prototype),
      Object.setPrototypeOf({ 0: 1, 1: 2, length: 2 }, Array.prototype),
      {
        a: 1,
        get b() {
          (this as Record<string, unknown>)['late'] = 3;
          return 2;
        },
      },
    ];
    for (const value of odd) expect(actual(value)).toEqual(expected(value));
  });

  it('reads each value as the generic encoder does: getters, throwing getters, re-entrant emits', () => {
    let reads = 0;
    const counted = {
      get v() {
        reads++;
        return 5;
      },
    };
    expect(actual(counted)).toEqual(expected(counted));
    expect(reads).toBe(4); // twice by each encoder: once to count the keys, once to write
    const throwing = {
      get v(): number {
        throw new Error('no');
      },
    };
    expect(actual(throwing)).toEqual({ error: ErrorCode.BAD_MSGPACK });
    // A getter that emits while the payload is being written does not write over it.
    const reentrant = {
      a: 'outer',
      get b() {
        return toHex(encodeEmitValueFrame(8, 'g', 'inner', { x: 1 }));
      },
      c: 'after',
    };
    const frame = encodeEmitValueFrame(7, 'g', 'sig', reentrant);
    expect(toHex(frame)).toBe(toHex(encodeEmitFrame(7, 'g', 'sig', encodePayload(reentrant))));
  });

  it('sends undefined as the empty payload, and leaves undefined properties out', () => {
    expect(actual(undefined)).toEqual({ ok: toHex(encodeFrame({ t: 'emit', s: 7, g: 'g', sig: 'sig' })) });
    // A publish: the same value bytes after its header, which ends in q: true.
    expect(toHex(encodeEmitValueFrame(7, 'g', 'sig', { x: 1 }, undefined, true))).toBe(
      toHex(encodeFrame({ t: 'emit', s: 7, g: 'g', sig: 'sig', q: true }, encodePayload({ x: 1 }))),
    );
    expect(toHex(encodeEmitValueFrame(7, 'g', 'sig', undefined, undefined, true))).toBe(
      toHex(encodeFrame({ t: 'emit', s: 7, g: 'g', sig: 'sig', q: true })),
    );
    expect(actual({ a: 1, b: undefined })).toEqual(expected({ a: 1 }));
  });
});
