// Properties of the header codec over generated input: every valid message survives
// encode -> parse unchanged, and no input makes a parser throw anything but a header ProtocolError.

import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SERIAL } from './constants.js';
import { ErrorCode, isProtocolError } from './errors.js';
import { parseClientHeader, parseServerHeader } from './header-parser.js';
import type { ClientMessage, Filter, ServerMessage } from './messages.js';
import { encodeFrame } from './reference/frame-encoder.js';

const { CI } = process.env;
const RUNS = CI === undefined ? 200 : 2_000;
// Property tests get room for the CI budget; a local run stays well under a second each.
const PROPERTY_TIMEOUT = { timeout: 60_000 };
const HEADER_CODES: string[] = [ErrorCode.BAD_MSGPACK, ErrorCode.UNKNOWN_TYPE, ErrorCode.BAD_FIELD];

const serial = fc.integer({ min: 1, max: MAX_SERIAL });
const count = fc.maxSafeNat();
const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
const text = fc.string({ unit: 'grapheme', maxLength: 40 });
// JSON-like values (what `schema`, `data` and `r` carry); JSON round trip drops -0, which
// MessagePack writes as the integer 0. The Decoder refuses the key __proto__. No key
// `constructor` either: toStrictEqual compares `a.constructor === b.constructor`, so two equal
// objects with an own `constructor` object would compare unequal (a CI=true run drew one).
const unsafeKey = /"(__proto__|constructor)"/;
const anyValue = fc
  .jsonValue({ maxDepth: 4 })
  .map((value) => JSON.parse(JSON.stringify(value)) as unknown)
  .filter((value) => !unsafeKey.test(JSON.stringify(value)));
const anyMap = fc.dictionary(
  name.filter((key) => key !== '__proto__' && key !== 'constructor'),
  anyValue,
  { maxKeys: 5, noNullPrototype: true },
);
const scalar = fc.oneof(
  text,
  fc.integer(),
  fc.double({ noNaN: true }).filter((x) => !Object.is(x, -0)),
  fc.boolean(),
  fc.constant(null),
);

const filter: fc.Arbitrary<Filter> = fc.record(
  {
    sig: name,
    from: name,
    eq: fc.dictionary(
      name.filter((key) => key !== '__proto__'),
      scalar,
      { maxKeys: 4, noNullPrototype: true },
    ),
  },
  { requiredKeys: [], noNullPrototype: true },
);
const filters = fc.array(filter, { maxLength: 3 });

const clientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record(
    {
      t: fc.constant('hello' as const),
      v: count,
      join: fc.array(fc.record({ g: name, f: filters }, { requiredKeys: ['g'], noNullPrototype: true }), {
        maxLength: 3,
      }),
      token: text,
      client: text,
    },
    { requiredKeys: ['t', 'v'], noNullPrototype: true },
  ),
  fc.record(
    {
      t: fc.constant('create' as const),
      s: serial,
      g: name,
      o: fc.record(
        {
          emitters: fc.constantFrom('owner' as const, 'members' as const, 'anyone' as const),
          loopback: fc.boolean(),
          sendToPeer: fc.boolean(),
          onFull: fc.constantFrom('block' as const, 'reject' as const, 'evict' as const),
          retain: fc.boolean(),
        },
        { requiredKeys: [], noNullPrototype: true },
      ),
      schema: anyValue.filter((value) => value !== null),
    },
    { requiredKeys: ['t', 's', 'g'], noNullPrototype: true },
  ),
  fc.record(
    { t: fc.constant('join' as const), s: serial, g: name, f: filters },
    { requiredKeys: ['t', 's', 'g'], noNullPrototype: true },
  ),
  fc.record({ t: fc.constant('leave' as const), s: serial, g: name }, { noNullPrototype: true }),
  fc.record({ t: fc.constant('close' as const), s: serial, g: name }, { noNullPrototype: true }),
  fc.record({ t: fc.constant('emit' as const), s: serial, g: name, sig: name }, { noNullPrototype: true }),
  fc.record({ t: fc.constant('ping' as const), s: serial }, { noNullPrototype: true }),
);

const serverMessage: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.record(
    {
      t: fc.constant('welcome' as const),
      v: count,
      name,
      seq: count,
      limits: fc.record({ maxFrameBytes: count, maxQueueBytes: count }, { noNullPrototype: true }),
      joined: fc.array(
        fc.record({ g: name, startSeq: count, startGroupSeq: count }, { noNullPrototype: true }),
        { maxLength: 3 },
      ),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    { t: fc.constant('ok' as const), s: serial, r: anyMap },
    { requiredKeys: ['t', 's'], noNullPrototype: true },
  ),
  fc.record(
    {
      t: fc.constant('err' as const),
      s: serial,
      code: name,
      msg: text,
      fatal: fc.boolean(),
      data: anyValue.filter((value) => value !== null),
    },
    { requiredKeys: ['t', 'code', 'msg'], noNullPrototype: true },
  ),
  fc.record(
    {
      t: fc.constant('sig' as const),
      seq: count,
      gseq: count,
      g: name,
      sig: name,
      from: name,
      r: fc.boolean(),
    },
    { requiredKeys: ['t', 'seq', 'gseq', 'g', 'sig', 'from'], noNullPrototype: true },
  ),
  fc.record(
    {
      t: fc.constant('gclosed' as const),
      g: name,
      reason: fc.constantFrom(
        'closed' as const,
        'owner-left' as const,
        'owner-evicted' as const,
        'shutdown' as const,
        'not-permitted' as const,
      ),
    },
    { noNullPrototype: true },
  ),
  fc.record({ t: fc.constant('bye' as const), reason: text }, { noNullPrototype: true }),
);

function headerOf(frame: Uint8Array): Uint8Array {
  const length = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
  return frame.subarray(8, 8 + length);
}

/** Runs `parse` and checks it either returns or throws a header-code ProtocolError. */
function parsesOrRejects(parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    expect(isProtocolError(error)).toBe(true);
    if (isProtocolError(error)) {
      expect(HEADER_CODES).toContain(error.code);
      expect(error.fatal).toBe(false);
      if (error.serial !== undefined)
        expect(error.serial).toSatisfy((s: number) => s >= 1 && s <= MAX_SERIAL);
    }
  }
}

describe('header codec properties', PROPERTY_TIMEOUT, () => {
  it('every client message survives encode -> parse', () => {
    fc.assert(
      fc.property(clientMessage, (message) => {
        expect(parseClientHeader(headerOf(encodeFrame(message)))).toStrictEqual(message);
      }),
      { numRuns: RUNS },
    );
  });

  it('every daemon message survives encode -> parse', () => {
    fc.assert(
      fc.property(serverMessage, (message) => {
        expect(parseServerHeader(headerOf(encodeFrame(message)))).toStrictEqual(message);
      }),
      { numRuns: RUNS },
    );
  });

  it('random bytes: only a header ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        parsesOrRejects(() => parseClientHeader(bytes));
        parsesOrRejects(() => parseServerHeader(bytes));
      }),
      { numRuns: RUNS * 5 },
    );
  });

  it('random maps with known types: only a header ProtocolError', () => {
    const types = fc.constantFrom(
      'hello',
      'create',
      'join',
      'leave',
      'close',
      'emit',
      'ping',
      'welcome',
      'ok',
      'err',
      'sig',
      'gclosed',
      'bye',
    );
    const keys = fc.constantFrom(
      's',
      'g',
      'v',
      'f',
      'o',
      'sig',
      'join',
      'from',
      'eq',
      'seq',
      'gseq',
      'r',
      'code',
      'msg',
      'limits',
      'joined',
      'reason',
      'name',
    );
    const map = fc.tuple(
      types,
      fc.dictionary(keys, fc.anything({ maxDepth: 3 }), { maxKeys: 8, noNullPrototype: true }),
    );
    fc.assert(
      fc.property(map, ([t, fields]) => {
        let bytes: Uint8Array;
        try {
          bytes = encode({ ...fields, t });
        } catch {
          return; // fc.anything() makes values MessagePack cannot hold (bigint, symbols...)
        }
        parsesOrRejects(() => parseClientHeader(bytes));
        parsesOrRejects(() => parseServerHeader(bytes));
      }),
      { numRuns: RUNS * 5 },
    );
  });

  it('mutated valid headers: only a header ProtocolError', () => {
    fc.assert(
      fc.property(
        clientMessage,
        serverMessage,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (client, server, mutations) => {
          for (const header of [headerOf(encodeFrame(client)), headerOf(encodeFrame(server))]) {
            const mutated = header.slice();
            for (const [at, value] of mutations) mutated[at % mutated.length] = value;
            parsesOrRejects(() => parseClientHeader(mutated));
            parsesOrRejects(() => parseServerHeader(mutated));
            for (const [at] of mutations)
              parsesOrRejects(() => parseClientHeader(header.subarray(0, at % header.length)));
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
