// The hand-written readers of the hot-path headers against the reference parsers: on every header
// the encoders write they agree, and on any mutated header the fast path either declines (the
// reference parser decides) or returns exactly what the reference parser returns. The last two
// blocks check the other side of the same layouts: the fast emit and reply encoders against
// encodeFrame.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAME_PREFIX_BYTES, MAX_SERIAL } from '../constants.js';
import { parseClientHeader, parseServerHeader } from '../header-parser.js';
import { encodeFrame } from '../reference/frame-encoder.js';
import { parseClientHeaderGeneric, parseServerHeaderGeneric } from '../reference/header-parser.js';
import { encodeEmitFrame, encodeEmitReplyFrame, encodeSignalFrame } from './frame-encoder.js';
import { readEmitHeader, readEmitReplyHeader, readSignalHeader } from './header-reader.js';

const { CI } = process.env;
const RUNS = CI === undefined ? 500 : 5_000;
const PROPERTY_TIMEOUT = { timeout: 60_000 };

const headerOf = (frame: Uint8Array): Uint8Array => {
  const length = ((frame[0]! << 24) | (frame[1]! << 16) | (frame[2]! << 8) | frame[3]!) >>> 0;
  return frame.subarray(FRAME_PREFIX_BYTES, FRAME_PREFIX_BYTES + length);
};

// Boundaries of every MessagePack uint and str format, plus anything in between.
const uintEdges = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffff_ffff, 0x1_0000_0000];
const count = fc.oneof(fc.constantFrom(...uintEdges, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
const serial = fc.oneof(
  fc.constantFrom(1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, MAX_SERIAL),
  fc.integer({ min: 1, max: MAX_SERIAL }),
);
const asciiName = fc.oneof(
  fc.string({
    unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)),
    minLength: 1,
    maxLength: 40,
  }),
  fc.integer({ min: 1, max: 300 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom(
    'org.example.Logs',
    'Line',
    ':1.3',
    ':1.4',
    'a'.repeat(31),
    'a'.repeat(32),
    'a'.repeat(255),
    'a'.repeat(256),
  ),
);
const anyName = fc.oneof(
  asciiName,
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.string({ maxLength: 40 }),
);

const signalArgs = fc.tuple(count, count, anyName, anyName, anyName, fc.boolean());
const signalHeader = signalArgs.map(([seq, gseq, g, sig, from, r]) =>
  headerOf(encodeSignalFrame(seq, gseq, g, sig, from, r, new Uint8Array(0))),
);
/** An emit header, or a publish's (`q: true`). */
const emitHeader = fc
  .tuple(serial, anyName, anyName, fc.boolean())
  .map(([s, g, sig, q]) => headerOf(encodeFrame(q ? { t: 'emit', s, g, sig, q } : { t: 'emit', s, g, sig })));

const emitReplyHeader = fc
  .tuple(serial, count, count, count)
  .map(([s, seq, gseq, n]) => headerOf(encodeEmitReplyFrame(s, seq, gseq, n)));

/** A copy of `header` with a few random edits: byte changes, insertions, deletions, a cut. */
const mutated = (headers: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(
      headers,
      fc.array(
        fc.tuple(
          fc.constantFrom('set', 'insert', 'delete', 'cut', 'append'),
          fc.nat(),
          fc.integer({ min: 0, max: 255 }),
        ),
        { minLength: 1, maxLength: 4 },
      ),
    )
    .map(([header, edits]) => {
      let bytes = Array.from(header);
      for (const [kind, at, value] of edits) {
        const i = bytes.length === 0 ? 0 : at % bytes.length;
        if (kind === 'set') bytes[i] = value;
        else if (kind === 'insert') bytes.splice(i, 0, value);
        else if (kind === 'delete') bytes.splice(i, 1);
        else if (kind === 'cut') bytes = bytes.slice(0, i);
        else bytes.push(value);
      }
      return Uint8Array.from(bytes);
    });

/** The generic parser's verdict: the message, or the error's code and message. */
function generic(parse: (header: Uint8Array) => unknown, header: Uint8Array): unknown {
  try {
    return { ok: parse(header) };
  } catch (error) {
    return { error: String(error) };
  }
}

/** Same fields, same values and the same key order (re-encoding keeps it). */
function expectSame(fast: unknown, slow: unknown): void {
  expect({ ok: fast }).toEqual(slow);
  expect(JSON.stringify({ ok: fast })).toBe(JSON.stringify(slow));
}

describe('sig fast path', () => {
  it('agrees with parseServerHeader on every encodeSignalFrame header', PROPERTY_TIMEOUT, () => {
    fc.assert(
      fc.property(signalHeader, (header) => {
        const slow = generic(parseServerHeaderGeneric, header);
        const fast = readSignalHeader(header);
        if (fast !== undefined) expectSame(fast, slow);
        expect(generic(parseServerHeader, header)).toEqual(slow);
      }),
      { numRuns: RUNS },
    );
  });

  it(
    'takes the fast path for ASCII names up to 255 bytes and sequence numbers up to 2^53 - 1',
    PROPERTY_TIMEOUT,
    () => {
      const small = fc.oneof(
        fc.constantFrom(...uintEdges.slice(0, -1), 2 ** 32, Number.MAX_SAFE_INTEGER),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.maxSafeNat(),
      );
      const short = asciiName.filter((name) => name.length < 256);
      fc.assert(
        fc.property(small, small, short, short, short, fc.boolean(), (seq, gseq, g, sig, from, r) => {
          const header = headerOf(encodeSignalFrame(seq, gseq, g, sig, from, r, new Uint8Array(0)));
          const fast = readSignalHeader(header);
          expect(fast).toBeDefined();
          expectSame(fast, generic(parseServerHeaderGeneric, header));
        }),
        { numRuns: RUNS },
      );
    },
  );

  it('never reads a mutated header differently from the generic parser', PROPERTY_TIMEOUT, () => {
    fc.assert(
      fc.property(mutated(signalHeader), (header) => {
        const fast = readSignalHeader(header);
        if (fast !== undefined) expectSame(fast, generic(parseServerHeaderGeneric, header));
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('reads a repeated name from its cache only when the bytes are the same', () => {
    const header = (g: string) =>
      headerOf(encodeSignalFrame(1, 1, g, 'Line', ':1.3', false, new Uint8Array(0)));
    expect(readSignalHeader(header('logs'))?.g).toBe('logs');
    expect(readSignalHeader(header('logs'))?.g).toBe('logs');
    expect(readSignalHeader(header('logz'))?.g).toBe('logz');
    expect(readSignalHeader(header('logs'))?.g).toBe('logs');
  });

  it('declines what it cannot be sure of', () => {
    const base = headerOf(encodeSignalFrame(5, 6, 'g', 's', ':1.3', false, new Uint8Array(0)));
    expect(readSignalHeader(base)).toBeDefined();
    expect(readSignalHeader(Uint8Array.from([...base, 0xc0]))).toBeUndefined(); // trailing byte
    expect(readSignalHeader(base.subarray(0, base.length - 1))).toBeUndefined(); // truncated
    const huge = headerOf(encodeSignalFrame(2 ** 40, 6, 'g', 's', ':1', false, new Uint8Array(0)));
    expect(readSignalHeader(huge)?.seq).toBe(2 ** 40); // uint64 below 2^53
    const at = huge.indexOf(0xcf);
    expect(readSignalHeader(Uint8Array.from(huge).fill(0x20, at + 1, at + 2))).toBeUndefined(); // 2^53 and up
    expect(
      readSignalHeader(headerOf(encodeSignalFrame(5, 6, 'gé', 's', ':1', false, new Uint8Array(0)))),
    ).toBeUndefined(); // non-ASCII
    expect(
      readSignalHeader(
        headerOf(encodeFrame({ t: 'sig', seq: 5, gseq: 6, g: 'g', sig: 's', from: ':1', r: false })),
      ),
    ).toBeUndefined();
    expect(
      readSignalHeader(headerOf(encodeFrame({ t: 'sig', gseq: 6, seq: 5, g: 'g', sig: 's', from: ':1' }))),
    ).toBeUndefined();
    expect(readSignalHeader(new Uint8Array(0))).toBeUndefined();
  });
});

describe('emit fast path', () => {
  it('agrees with parseClientHeader on every encodeFrame emit header', PROPERTY_TIMEOUT, () => {
    fc.assert(
      fc.property(emitHeader, (header) => {
        const slow = generic(parseClientHeaderGeneric, header);
        const fast = readEmitHeader(header);
        if (fast !== undefined) expectSame(fast, slow);
        expect(generic(parseClientHeader, header)).toEqual(slow);
      }),
      { numRuns: RUNS },
    );
  });

  it('takes the fast path for ASCII names up to 255 bytes', PROPERTY_TIMEOUT, () => {
    const short = asciiName.filter((name) => name.length < 256);
    fc.assert(
      fc.property(serial, short, short, fc.boolean(), (s, g, sig, q) => {
        const header = headerOf(encodeFrame(q ? { t: 'emit', s, g, sig, q } : { t: 'emit', s, g, sig }));
        const fast = readEmitHeader(header);
        expect(fast).toBeDefined();
        expectSame(fast, generic(parseClientHeaderGeneric, header));
      }),
      { numRuns: RUNS },
    );
  });

  it('never reads a mutated header differently from the generic parser', PROPERTY_TIMEOUT, () => {
    fc.assert(
      fc.property(mutated(emitHeader), (header) => {
        const fast = readEmitHeader(header);
        if (fast !== undefined) expectSame(fast, generic(parseClientHeaderGeneric, header));
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('declines serial 0, other layouts and extra keys', () => {
    const header = (message: Record<string, unknown>) => headerOf(encodeFrame(message as never));
    expect(readEmitHeader(header({ t: 'emit', s: 1, g: 'g', sig: 's' }))).toEqual({
      t: 'emit',
      s: 1,
      g: 'g',
      sig: 's',
    });
    expect(readEmitHeader(header({ t: 'emit', s: 0, g: 'g', sig: 's' }))).toBeUndefined();
    expect(readEmitHeader(header({ t: 'emit', s: 2 ** 32, g: 'g', sig: 's' }))).toBeUndefined();
    expect(readEmitHeader(header({ t: 'emit', g: 'g', s: 1, sig: 's' }))).toBeUndefined();
    expect(readEmitHeader(header({ t: 'emit', s: 1, g: 'g', sig: 's', x: 1 }))).toBeUndefined();
    expect(readEmitHeader(header({ t: 'emit', s: 1, g: '', sig: 's' }))).toBeUndefined();
    // A publish: only `q: true`, last; `q: false` and other orders go to the reference parser.
    expect(readEmitHeader(header({ t: 'emit', s: 1, g: 'g', sig: 's', q: true }))).toEqual({
      t: 'emit',
      s: 1,
      g: 'g',
      sig: 's',
      q: true,
    });
    expect(readEmitHeader(header({ t: 'emit', s: 1, g: 'g', sig: 's', q: false }))).toBeUndefined();
    expect(readEmitHeader(header({ t: 'emit', s: 1, g: 'g', q: true, sig: 's' }))).toBeUndefined();
    expect(parseClientHeader(header({ t: 'emit', s: 1, g: 'g', sig: 's', q: false }))).toEqual({
      t: 'emit',
      s: 1,
      g: 'g',
      sig: 's',
      q: false,
    });
  });
});

describe('emit reply fast path', () => {
  it('reads every encodeEmitReplyFrame header as parseServerHeader does', PROPERTY_TIMEOUT, () => {
    fc.assert(
      fc.property(emitReplyHeader, (header) => {
        // Counts are safe integers, so the fast path must not decline any of them.
        const fast = readEmitReplyHeader(header);
        expect(fast).toBeDefined();
        expectSame(fast, generic(parseServerHeaderGeneric, header));
      }),
      { numRuns: RUNS },
    );
  });

  it('agrees with parseServerHeader on every encodeFrame ok header', PROPERTY_TIMEOUT, () => {
    // Other shapes of `ok` (no r, other keys, any value) must be declined or read alike.
    const value = fc.oneof(count, fc.integer(), fc.double(), fc.string({ maxLength: 4 }), fc.constant(null));
    const r = fc.oneof(
      fc.record({ seq: value, gseq: value, n: value }),
      fc.dictionary(fc.constantFrom('seq', 'gseq', 'n', 'x'), value),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(fc.oneof(serial, fc.constant(0)), r, (s, result) => {
        const header = headerOf(encodeFrame({ t: 'ok', s, r: result }));
        const slow = generic(parseServerHeaderGeneric, header);
        const fast = readEmitReplyHeader(header);
        if (fast !== undefined) expectSame(fast, slow);
      }),
      { numRuns: RUNS },
    );
  });

  it('never reads a mutated header differently from the generic parser', PROPERTY_TIMEOUT, () => {
    fc.assert(
      fc.property(mutated(emitReplyHeader), (header) => {
        const fast = readEmitReplyHeader(header);
        if (fast !== undefined) expectSame(fast, generic(parseServerHeaderGeneric, header));
      }),
      { numRuns: RUNS * 4 },
    );
  });

  it('reads uint64 counts below 2^53 and declines larger ones, serial 0 and other layouts', () => {
    const header = (message: Record<string, unknown>) => headerOf(encodeFrame(message as never));
    const max = Number.MAX_SAFE_INTEGER;
    expect(readEmitReplyHeader(headerOf(encodeEmitReplyFrame(1, 2 ** 32, max, 3)))).toEqual({
      t: 'ok',
      s: 1,
      r: { seq: 2 ** 32, gseq: max, n: 3 },
    });
    // 2^53 as uint64: cf 00 20 00 00 00 00 00 00.
    const base = headerOf(encodeEmitReplyFrame(1, max, 2, 3));
    const at = base.indexOf(0xcf);
    const above = Uint8Array.from(base);
    above.set([0x00, 0x20, 0, 0, 0, 0, 0, 0], at + 1);
    expect(readEmitReplyHeader(above)).toBeUndefined();
    expect(readEmitReplyHeader(base)).toBeDefined();
    expect(readEmitReplyHeader(Uint8Array.from([...base, 0xc0]))).toBeUndefined(); // trailing byte
    expect(readEmitReplyHeader(base.subarray(0, base.length - 1))).toBeUndefined(); // truncated
    expect(readEmitReplyHeader(headerOf(encodeEmitReplyFrame(0, 1, 2, 3)))).toBeUndefined(); // serial 0
    expect(
      readEmitReplyHeader(header({ t: 'ok', s: 2 ** 32, r: { seq: 1, gseq: 2, n: 3 } })),
    ).toBeUndefined();
    expect(readEmitReplyHeader(header({ t: 'ok', s: 1 }))).toBeUndefined();
    expect(readEmitReplyHeader(header({ t: 'ok', s: 1, r: {} }))).toBeUndefined();
    expect(readEmitReplyHeader(header({ t: 'ok', s: 1, r: { gseq: 2, seq: 1, n: 3 } }))).toBeUndefined();
    expect(readEmitReplyHeader(header({ t: 'ok', s: 1, r: { seq: -1, gseq: 2, n: 3 } }))).toBeUndefined();
    expect(readEmitReplyHeader(header({ t: 'ok', s: 1, r: { seq: 1.5, gseq: 2, n: 3 } }))).toBeUndefined();
    expect(
      readEmitReplyHeader(header({ t: 'ok', s: 1, r: { seq: 1, gseq: 2, n: 3 }, x: 1 })),
    ).toBeUndefined();
    expect(readEmitReplyHeader(new Uint8Array(0))).toBeUndefined();
  });
});

describe('encodeEmitFrame', () => {
  it('writes the bytes encodeFrame writes for { t: emit, s, g, sig } and the payload', () => {
    fc.assert(
      fc.property(serial, anyName, anyName, fc.uint8Array({ maxLength: 300 }), (s, g, sig, payload) => {
        expect(encodeEmitFrame(s, g, sig, payload)).toEqual(encodeFrame({ t: 'emit', s, g, sig }, payload));
      }),
      { numRuns: RUNS },
    );
  });

  it(
    'writes the same bytes when the names come from its cache (same pair in a row)',
    PROPERTY_TIMEOUT,
    () => {
      const pair = fc.tuple(anyName, anyName);
      fc.assert(
        fc.property(fc.array(fc.tuple(serial, pair, fc.nat({ max: 3 })), { maxLength: 8 }), (emits) => {
          for (const [s, [g, sig], times] of emits) {
            // An equal string that is not the same string object reads from the cache too.
            for (let k = 0; k <= times; k++) {
              const group = k % 2 === 0 ? g : [...g].join('');
              expect(encodeEmitFrame(s, group, sig, new Uint8Array([k]))).toEqual(
                encodeFrame({ t: 'emit', s, g, sig }, new Uint8Array([k])),
              );
            }
          }
        }),
        { numRuns: RUNS / 5 }, // up to 8 pairs x 4 emits each: 32 comparisons a run
      );
    },
  );

  it('writes every byte of the buffer its allocator gives (which need not be zeroed)', () => {
    // Reason: with Buffer.allocUnsafe a byte left unwritten would send old process memory.
    const dirty = (size: number) => new Uint8Array(size).fill(0xee);
    fc.assert(
      fc.property(serial, anyName, anyName, fc.uint8Array({ maxLength: 300 }), (s, g, sig, payload) => {
        const expected = encodeFrame({ t: 'emit', s, g, sig }, payload);
        // Twice: the second time the names come from the cache.
        expect(encodeEmitFrame(s, g, sig, payload, dirty)).toEqual(expected);
        expect(encodeEmitFrame(s, g, sig, payload, dirty)).toEqual(expected);
      }),
      { numRuns: RUNS },
    );
  });

  it('is read by the daemon fast path', () => {
    const frame = encodeEmitFrame(7, 'org.example.Logs', 'Line', new Uint8Array([1, 2]));
    expect(readEmitHeader(headerOf(frame))).toEqual({ t: 'emit', s: 7, g: 'org.example.Logs', sig: 'Line' });
  });

  it('writes a publish as encodeFrame writes { t: emit, s, g, sig, q: true }', PROPERTY_TIMEOUT, () => {
    const dirty = (size: number) => new Uint8Array(size).fill(0xee);
    fc.assert(
      fc.property(serial, anyName, anyName, fc.uint8Array({ maxLength: 300 }), (s, g, sig, payload) => {
        const expected = encodeFrame({ t: 'emit', s, g, sig, q: true }, payload);
        // Twice: the second time the names come from the cache.
        expect(encodeEmitFrame(s, g, sig, payload, dirty, true)).toEqual(expected);
        expect(encodeEmitFrame(s, g, sig, payload, dirty, true)).toEqual(expected);
        // An emit right after a publish of the same pair is not a publish.
        expect(encodeEmitFrame(s, g, sig, payload)).toEqual(encodeFrame({ t: 'emit', s, g, sig }, payload));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('encodeEmitReplyFrame', () => {
  it('writes the bytes encodeFrame writes for { t: ok, s, r: { seq, gseq, n } }', PROPERTY_TIMEOUT, () => {
    fc.assert(
      fc.property(serial, count, count, count, (s, seq, gseq, n) => {
        expect(encodeEmitReplyFrame(s, seq, gseq, n)).toEqual(
          encodeFrame({ t: 'ok', s, r: { seq, gseq, n } }),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('round-trips through parseServerHeader', () => {
    const frame = encodeEmitReplyFrame(300, 70_000, 2 ** 40, 0);
    expect(parseServerHeader(headerOf(frame))).toEqual({
      t: 'ok',
      s: 300,
      r: { seq: 70_000, gseq: 2 ** 40, n: 0 },
    });
  });
});
