// The codec fixture table (after mqtt-packet's testParseGenerate): each row is a message and
// the exact header bytes a conforming peer produces for it, and yields an encode, a parse and a
// mirror test. The bytes are written out by hand (fixstr via `s()`), independently of the encoder.

import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ProtocolError } from './errors.js';
import { parseClientHeader, parseServerHeader } from './header-parser.js';
import type { ClientMessage, ServerMessage } from './messages.js';
import { encodeFrame } from './reference/frame-encoder.js';

/** Bytes from hex text; spaces and line breaks are ignored. */
function hex(...parts: string[]): Uint8Array {
  const text = parts.join('').replace(/\s+/g, '');
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** A MessagePack fixstr of ASCII text, as hex. */
function s(text: string): string {
  let out = (0xa0 | text.length).toString(16);
  for (let i = 0; i < text.length; i++) out += text.charCodeAt(i).toString(16).padStart(2, '0');
  return ` ${out} `;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function headerOf(frame: Uint8Array): Uint8Array {
  const length = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
  return frame.subarray(8, 8 + length);
}

type Row =
  | { name: string; side: 'client'; message: ClientMessage; bytes: Uint8Array }
  | { name: string; side: 'server'; message: ServerMessage; bytes: Uint8Array };

const rows: Row[] = [
  // ---- client -> daemon ----
  {
    name: 'hello, minimal',
    side: 'client',
    message: { t: 'hello', v: 1 },
    bytes: hex('82', s('t'), s('hello'), s('v'), '01'),
  },
  {
    name: 'hello, every field',
    side: 'client',
    message: {
      t: 'hello',
      v: 1,
      join: [
        { g: 'logs', f: [{ sig: 'line', from: ':1.3', eq: { level: 'error', n: 2, ok: true, x: null } }] },
        { g: 'jobs' },
      ],
      token: 'tok',
      client: 'cli',
    },
    bytes: hex(
      '85',
      s('t'),
      s('hello'),
      s('v'),
      '01',
      s('join'),
      '92',
      '82',
      s('g'),
      s('logs'),
      s('f'),
      '91',
      '83',
      s('sig'),
      s('line'),
      s('from'),
      s(':1.3'),
      s('eq'),
      '84',
      s('level'),
      s('error'),
      s('n'),
      '02',
      s('ok'),
      'c3',
      s('x'),
      'c0',
      '81',
      s('g'),
      s('jobs'),
      s('token'),
      s('tok'),
      s('client'),
      s('cli'),
    ),
  },
  {
    name: 'create, minimal',
    side: 'client',
    message: { t: 'create', s: 1, g: 'logs' },
    bytes: hex('83', s('t'), s('create'), s('s'), '01', s('g'), s('logs')),
  },
  {
    name: 'create, every option and a schema',
    side: 'client',
    message: {
      t: 'create',
      s: 2,
      g: 'logs',
      o: { emitters: 'owner', loopback: true, sendToPeer: false, onFull: 'evict', retain: true },
      schema: { type: 'object' },
    },
    bytes: hex(
      '85',
      s('t'),
      s('create'),
      s('s'),
      '02',
      s('g'),
      s('logs'),
      s('o'),
      '85',
      s('emitters'),
      s('owner'),
      s('loopback'),
      'c3',
      s('sendToPeer'),
      'c2',
      s('onFull'),
      s('evict'),
      s('retain'),
      'c3',
      s('schema'),
      '81',
      s('type'),
      s('object'),
    ),
  },
  {
    name: 'create, empty options',
    side: 'client',
    message: { t: 'create', s: 3, g: 'a.b', o: {} },
    bytes: hex('84', s('t'), s('create'), s('s'), '03', s('g'), s('a.b'), s('o'), '80'),
  },
  {
    name: 'join, no filter',
    side: 'client',
    message: { t: 'join', s: 3, g: 'logs' },
    bytes: hex('83', s('t'), s('join'), s('s'), '03', s('g'), s('logs')),
  },
  {
    name: 'join, two filters (uint16 serial)',
    side: 'client',
    message: { t: 'join', s: 300, g: 'logs', f: [{ sig: 'line' }, {}] },
    bytes: hex(
      '84',
      s('t'),
      s('join'),
      s('s'),
      'cd 01 2c',
      s('g'),
      s('logs'),
      s('f'),
      '92',
      '81',
      s('sig'),
      s('line'),
      '80',
    ),
  },
  {
    name: 'leave',
    side: 'client',
    message: { t: 'leave', s: 4, g: 'logs' },
    bytes: hex('83', s('t'), s('leave'), s('s'), '04', s('g'), s('logs')),
  },
  {
    name: 'close',
    side: 'client',
    message: { t: 'close', s: 5, g: 'logs' },
    bytes: hex('83', s('t'), s('close'), s('s'), '05', s('g'), s('logs')),
  },
  {
    name: 'emit (uint32 serial)',
    side: 'client',
    message: { t: 'emit', s: 70000, g: 'logs', sig: 'line' },
    bytes: hex('84', s('t'), s('emit'), s('s'), 'ce 00 01 11 70', s('g'), s('logs'), s('sig'), s('line')),
  },
  {
    name: 'ping (largest serial)',
    side: 'client',
    message: { t: 'ping', s: 0xffff_ffff },
    bytes: hex('82', s('t'), s('ping'), s('s'), 'ce ff ff ff ff'),
  },
  // ---- daemon -> client ----
  {
    name: 'welcome, nothing joined',
    side: 'server',
    message: {
      t: 'welcome',
      v: 1,
      name: ':1.7',
      seq: 0,
      limits: { maxFrameBytes: 1_048_576, maxQueueBytes: 8_388_608 },
      joined: [],
    },
    bytes: hex(
      '86',
      s('t'),
      s('welcome'),
      s('v'),
      '01',
      s('name'),
      s(':1.7'),
      s('seq'),
      '00',
      s('limits'),
      '82',
      s('maxFrameBytes'),
      'ce 00 10 00 00',
      s('maxQueueBytes'),
      'ce 00 80 00 00',
      s('joined'),
      '90',
    ),
  },
  {
    name: 'welcome, joined groups and an extra limit',
    side: 'server',
    message: {
      t: 'welcome',
      v: 1,
      name: ':1.12',
      seq: 300,
      limits: { maxFrameBytes: 4096, maxQueueBytes: 65536, maxGroups: 10 },
      joined: [{ g: 'logs', startSeq: 300, startGroupSeq: 7 }],
    },
    bytes: hex(
      '86',
      s('t'),
      s('welcome'),
      s('v'),
      '01',
      s('name'),
      s(':1.12'),
      s('seq'),
      'cd 01 2c',
      s('limits'),
      '83',
      s('maxFrameBytes'),
      'cd 10 00',
      s('maxQueueBytes'),
      'ce 00 01 00 00',
      s('maxGroups'),
      '0a',
      s('joined'),
      '91',
      '83',
      s('g'),
      s('logs'),
      s('startSeq'),
      'cd 01 2c',
      s('startGroupSeq'),
      '07',
    ),
  },
  {
    name: 'ok, no result',
    side: 'server',
    message: { t: 'ok', s: 1 },
    bytes: hex('82', s('t'), s('ok'), s('s'), '01'),
  },
  {
    name: 'ok, emit result',
    side: 'server',
    message: { t: 'ok', s: 5, r: { seq: 42, gseq: 8, n: 3 } },
    bytes: hex(
      '83',
      s('t'),
      s('ok'),
      s('s'),
      '05',
      s('r'),
      '83',
      s('seq'),
      '2a',
      s('gseq'),
      '08',
      s('n'),
      '03',
    ),
  },
  {
    name: 'err, for a request',
    side: 'server',
    message: { t: 'err', s: 2, code: 'UNKNOWN_GROUP', msg: 'no group' },
    bytes: hex('84', s('t'), s('err'), s('s'), '02', s('code'), s('UNKNOWN_GROUP'), s('msg'), s('no group')),
  },
  {
    name: 'err, connection-level, fatal, with data',
    side: 'server',
    message: { t: 'err', code: 'VERSION_MISMATCH', msg: '', fatal: true, data: { versions: [1] } },
    bytes: hex(
      '85',
      s('t'),
      s('err'),
      s('code'),
      s('VERSION_MISMATCH'),
      s('msg'),
      'a0',
      s('fatal'),
      'c3',
      s('data'),
      '81',
      s('versions'),
      '91 01',
    ),
  },
  {
    name: 'sig',
    side: 'server',
    message: { t: 'sig', seq: 42, gseq: 8, g: 'logs', sig: 'line', from: ':1.3' },
    bytes: hex(
      '86',
      s('t'),
      s('sig'),
      s('seq'),
      '2a',
      s('gseq'),
      '08',
      s('g'),
      s('logs'),
      s('sig'),
      s('line'),
      s('from'),
      s(':1.3'),
    ),
  },
  {
    name: 'sig, retained',
    side: 'server',
    message: { t: 'sig', seq: 42, gseq: 8, g: 'logs', sig: 'line', from: ':1.3', r: true },
    bytes: hex(
      '87',
      s('t'),
      s('sig'),
      s('seq'),
      '2a',
      s('gseq'),
      '08',
      s('g'),
      s('logs'),
      s('sig'),
      s('line'),
      s('from'),
      s(':1.3'),
      s('r'),
      'c3',
    ),
  },
  {
    name: 'gclosed',
    side: 'server',
    message: { t: 'gclosed', g: 'logs', reason: 'owner-left' },
    bytes: hex('83', s('t'), s('gclosed'), s('g'), s('logs'), s('reason'), s('owner-left')),
  },
  {
    name: 'bye',
    side: 'server',
    message: { t: 'bye', reason: 'shutdown' },
    bytes: hex('82', s('t'), s('bye'), s('reason'), s('shutdown')),
  },
  // ---- method calls and monitors ----
  {
    name: 'call, every field',
    side: 'client',
    message: { t: 'call', s: 3, dest: 'a.B', m: 'Get', g: 'a.B', to: 100 },
    bytes: hex(
      '86',
      s('t'),
      s('call'),
      s('s'),
      '03',
      s('dest'),
      s('a.B'),
      s('m'),
      s('Get'),
      s('g'),
      s('a.B'),
      s('to'),
      '64',
    ),
  },
  {
    name: 'ret',
    side: 'client',
    message: { t: 'ret', id: 9 },
    bytes: hex('82', s('t'), s('ret'), s('id'), '09'),
  },
  {
    name: 'fail, with the error name',
    side: 'client',
    message: { t: 'fail', id: 9, code: 'REMOTE_ERROR', msg: 'no', name: 'TypeError' },
    bytes: hex(
      '85',
      s('t'),
      s('fail'),
      s('id'),
      '09',
      s('code'),
      s('REMOTE_ERROR'),
      s('msg'),
      s('no'),
      s('name'),
      s('TypeError'),
    ),
  },
  {
    name: 'cancel',
    side: 'client',
    message: { t: 'cancel', id: 4 },
    bytes: hex('82', s('t'), s('cancel'), s('id'), '04'),
  },
  {
    name: 'monitor, some groups',
    side: 'client',
    message: { t: 'monitor', s: 1, g: ['a.B'] },
    bytes: hex('83', s('t'), s('monitor'), s('s'), '01', s('g'), '91', s('a.B')),
  },
  {
    name: 'invoke',
    side: 'server',
    message: { t: 'invoke', id: 2, from: ':1.4', dest: 'a.B', m: 'Get' },
    bytes: hex(
      '85',
      s('t'),
      s('invoke'),
      s('id'),
      '02',
      s('from'),
      s(':1.4'),
      s('dest'),
      s('a.B'),
      s('m'),
      s('Get'),
    ),
  },
  {
    name: 'abort',
    side: 'server',
    message: { t: 'abort', id: 2, reason: 'timeout' },
    bytes: hex('83', s('t'), s('abort'), s('id'), '02', s('reason'), s('timeout')),
  },
];

function parse(row: Row, bytes: Uint8Array): ClientMessage | ServerMessage {
  return row.side === 'client' ? parseClientHeader(bytes) : parseServerHeader(bytes);
}

describe('fixture table', () => {
  it('covers every message type', () => {
    const types = new Set(rows.map((row) => row.message.t));
    expect([...types].sort()).toEqual(
      [
        'abort',
        'call',
        'cancel',
        'fail',
        'invoke',
        'monitor',
        'ret',
        'bye',
        'close',
        'create',
        'emit',
        'err',
        'gclosed',
        'hello',
        'join',
        'leave',
        'ok',
        'ping',
        'sig',
        'welcome',
      ].sort(),
    );
  });

  for (const row of rows) {
    describe(row.name, () => {
      it('encodes to the fixture bytes', () => {
        const frame = encodeFrame(row.message);
        expect(toHex(frame.subarray(0, 8))).toBe(toHex(hex(lengthHex(row.bytes.length), '00000000')));
        expect(toHex(headerOf(frame))).toBe(toHex(row.bytes));
      });

      it('parses the fixture bytes to the message', () => {
        expect(parse(row, row.bytes)).toStrictEqual(row.message);
      });

      it('mirrors: encode(parse(bytes)) is bytes', () => {
        expect(toHex(headerOf(encodeFrame(parse(row, row.bytes))))).toBe(toHex(row.bytes));
      });

      it('is rejected by the parser of the other direction', () => {
        const other = () =>
          row.side === 'client' ? parseServerHeader(row.bytes) : parseClientHeader(row.bytes);
        expect(other).toThrow(expect.objectContaining({ code: ErrorCode.UNKNOWN_TYPE }));
      });
    });
  }
});

function lengthHex(length: number): string {
  return length.toString(16).padStart(8, '0');
}

describe('lenient parsing', () => {
  it('ignores unknown keys at every level and leaves them out of the result', () => {
    const bytes = encode({
      t: 'hello',
      v: 1,
      future: [1, 2],
      join: [{ g: 'logs', extra: true, f: [{ sig: 'a', later: 'x' }] }],
    });
    expect(parseClientHeader(bytes)).toStrictEqual({
      t: 'hello',
      v: 1,
      join: [{ g: 'logs', f: [{ sig: 'a' }] }],
    });
    expect(
      parseClientHeader(encode({ t: 'create', s: 1, g: 'x', o: { retain: true, newOption: 3 } })),
    ).toStrictEqual({
      t: 'create',
      s: 1,
      g: 'x',
      o: { retain: true },
    });
  });

  it('treats nil as absent for optional fields', () => {
    expect(parseClientHeader(encode({ t: 'join', s: 1, g: 'x', f: null }))).toStrictEqual({
      t: 'join',
      s: 1,
      g: 'x',
    });
    expect(
      parseServerHeader(encode({ t: 'err', s: null, code: 'X', msg: 'm', fatal: null, data: null })),
    ).toStrictEqual({
      t: 'err',
      code: 'X',
      msg: 'm',
    });
  });

  it('keeps nil as a value inside eq (matches a null field)', () => {
    expect(parseClientHeader(encode({ t: 'join', s: 1, g: 'x', f: [{ eq: { a: null } }] }))).toStrictEqual({
      t: 'join',
      s: 1,
      g: 'x',
      f: [{ eq: { a: null } }],
    });
  });

  it('accepts integers written in any MessagePack integer or float format', () => {
    // s = 1 as uint64, and as float64 1.0: other encoders may choose either.
    expect(parseClientHeader(hex('82', s('t'), s('ping'), s('s'), 'cf 00 00 00 00 00 00 00 01'))).toEqual({
      t: 'ping',
      s: 1,
    });
    expect(parseClientHeader(hex('82', s('t'), s('ping'), s('s'), 'cb 3f f0 00 00 00 00 00 00'))).toEqual({
      t: 'ping',
      s: 1,
    });
  });

  it('keeps extra numeric limits and ignores non-numeric ones', () => {
    const message = parseServerHeader(
      encode({
        t: 'welcome',
        v: 1,
        name: ':1.1',
        seq: 0,
        limits: { maxFrameBytes: 10, maxQueueBytes: 20, maxGroups: 3, mode: 'strict' },
        joined: [],
      }),
    );
    expect(message).toStrictEqual({
      t: 'welcome',
      v: 1,
      name: ':1.1',
      seq: 0,
      limits: { maxFrameBytes: 10, maxQueueBytes: 20, maxGroups: 3 },
      joined: [],
    });
  });

  it('parses a hello of another version (the session answers VERSION_MISMATCH, not the codec)', () => {
    expect(parseClientHeader(encode({ t: 'hello', v: 2 }))).toStrictEqual({ t: 'hello', v: 2 });
  });
});

// ---- errors: one block per code the header codec raises, each with its fixture ----

function caught(run: () => unknown): ProtocolError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

describe(`${ErrorCode.BAD_MSGPACK}`, () => {
  const cases: { name: string; bytes: Uint8Array; serial?: number }[] = [
    { name: 'empty header', bytes: hex('') },
    { name: 'header is a string, not a map', bytes: hex(s('ping')) },
    { name: 'header is an array, not a map', bytes: hex('92', s('ping'), '01') },
    { name: 'truncated string', bytes: hex('82', s('t'), 'a4 70 69') },
    { name: 'map missing its last value', bytes: hex('82', s('t'), s('ping'), s('s')) },
    { name: 'bytes after the map', bytes: hex('81', s('t'), s('ping'), '00') },
    { name: 'reserved byte 0xc1', bytes: hex('81', s('t'), 'c1') },
    { name: 'array32 claiming 2^32-1 elements', bytes: hex('81', s('t'), 'dd ff ff ff ff') },
    { name: 'map32 claiming 2^32-1 entries', bytes: hex('df ff ff ff ff') },
    { name: 'str32 claiming 4 GiB', bytes: hex('81', s('t'), 'db ff ff ff ff 61') },
    { name: 'map key that is an array', bytes: hex('81', '90', '01') },
    { name: 'map key __proto__', bytes: hex('81', s('__proto__'), '80') },
    { name: 'nesting deeper than MAX_NESTING_DEPTH', bytes: hex('81', s('x'), '91'.repeat(101), '00') },
    { name: 'bad timestamp extension', bytes: hex('81', s('t'), 'd4 ff 00') },
    {
      name: 'damage after a readable serial',
      bytes: hex('83', s('t'), s('ping'), s('s'), '07', s('g'), 'c1'),
      serial: 7,
    },
    {
      name: 'serial read from a uint32',
      bytes: hex('82', s('s'), 'ce 00 01 11 70', s('t'), 'a4 70'),
      serial: 70000,
    },
    { name: 'damage before the serial', bytes: hex('83', s('t'), 'c1', s('s'), '07') },
  ];
  for (const { name, bytes, serial } of cases) {
    it(`${name}`, () => {
      for (const parser of [parseClientHeader, parseServerHeader]) {
        const error = caught(() => parser(bytes));
        expect(error.code).toBe(ErrorCode.BAD_MSGPACK);
        expect(error.fatal).toBe(false);
        expect(error.serial).toBe(serial);
      }
    });
  }
});

describe(`${ErrorCode.UNKNOWN_TYPE}`, () => {
  it('a type no side knows, with its serial', () => {
    const error = caught(() => parseClientHeader(hex('82', s('t'), s('nope'), s('s'), '09')));
    expect(error.code).toBe(ErrorCode.UNKNOWN_TYPE);
    expect(error.fatal).toBe(false);
    expect(error.serial).toBe(9);
  });

  it('a daemon type sent by a client, and a client type sent by the daemon', () => {
    expect(caught(() => parseClientHeader(encode({ t: 'ok', s: 1 }))).code).toBe(ErrorCode.UNKNOWN_TYPE);
    expect(caught(() => parseServerHeader(encode({ t: 'ping', s: 1 }))).code).toBe(ErrorCode.UNKNOWN_TYPE);
    expect(caught(() => parseClientHeader(encode({ t: '' }))).code).toBe(ErrorCode.UNKNOWN_TYPE);
  });
});

describe(`${ErrorCode.BAD_FIELD}`, () => {
  // [header, path of the bad field, serial the error must carry]
  const client: [Record<string, unknown>, (string | number)[], number?][] = [
    [{ s: 1 }, ['t'], 1],
    [{ t: 7 }, ['t']],
    [{ t: 'hello' }, ['v']],
    [{ t: 'hello', v: -1 }, ['v']],
    [{ t: 'hello', v: 1.5 }, ['v']],
    [{ t: 'hello', v: '1' }, ['v']],
    [{ t: 'hello', v: 1, join: {} }, ['join']],
    [{ t: 'hello', v: 1, join: ['logs'] }, ['join', 0]],
    [{ t: 'hello', v: 1, join: [{ g: 'a' }, { f: [] }] }, ['join', 1, 'g']],
    [
      { t: 'hello', v: 1, join: [{ g: 'a', f: [{ sig: 'x' }, { eq: { a: [1] } }] }] },
      ['join', 0, 'f', 1, 'eq', 'a'],
    ],
    [{ t: 'hello', v: 1, token: 5 }, ['token']],
    [{ t: 'hello', v: 1, client: false }, ['client']],
    [{ t: 'create', g: 'x' }, ['s']],
    [{ t: 'create', s: 0, g: 'x' }, ['s']],
    [{ t: 'create', s: 2 ** 32, g: 'x' }, ['s']],
    [{ t: 'create', s: 1.5, g: 'x' }, ['s']],
    [{ t: 'create', s: '1', g: 'x' }, ['s']],
    [{ t: 'create', s: -1, g: 'x' }, ['s']],
    [{ t: 'create', s: 3 }, ['g'], 3],
    [{ t: 'create', s: 3, g: '' }, ['g'], 3],
    [{ t: 'create', s: 3, g: 1 }, ['g'], 3],
    [{ t: 'create', s: 3, g: 'x', o: [] }, ['o'], 3],
    [{ t: 'create', s: 3, g: 'x', o: { emitters: 'everyone' } }, ['o', 'emitters'], 3],
    [{ t: 'create', s: 3, g: 'x', o: { onFull: 'drop' } }, ['o', 'onFull'], 3],
    [{ t: 'create', s: 3, g: 'x', o: { loopback: 1 } }, ['o', 'loopback'], 3],
    [{ t: 'create', s: 3, g: 'x', o: { sendToPeer: 'yes' } }, ['o', 'sendToPeer'], 3],
    [{ t: 'create', s: 3, g: 'x', o: { retain: null, emitters: 3 } }, ['o', 'emitters'], 3],
    [{ t: 'join', s: 4, g: 'x', f: {} }, ['f'], 4],
    [{ t: 'join', s: 4, g: 'x', f: [null] }, ['f', 0], 4],
    [{ t: 'join', s: 4, g: 'x', f: [{ sig: '' }] }, ['f', 0, 'sig'], 4],
    [{ t: 'join', s: 4, g: 'x', f: [{ from: 3 }] }, ['f', 0, 'from'], 4],
    [{ t: 'join', s: 4, g: 'x', f: [{ eq: [] }] }, ['f', 0, 'eq'], 4],
    [{ t: 'join', s: 4, g: 'x', f: [{ eq: { a: { b: 1 } } }] }, ['f', 0, 'eq', 'a'], 4],
    [{ t: 'join', s: 4, g: 'x', f: [{ eq: { a: new Uint8Array(1) } }] }, ['f', 0, 'eq', 'a'], 4],
    [{ t: 'leave', s: 5 }, ['g'], 5],
    [{ t: 'close', s: 6, g: [] }, ['g'], 6],
    [{ t: 'emit', s: 7, g: 'x' }, ['sig'], 7],
    [{ t: 'emit', s: 7, g: 'x', sig: '' }, ['sig'], 7],
    [{ t: 'ping' }, ['s']],
  ];
  const server: [Record<string, unknown>, (string | number)[], number?][] = [
    [
      { t: 'welcome', name: ':1.1', seq: 0, limits: { maxFrameBytes: 1, maxQueueBytes: 1 }, joined: [] },
      ['v'],
    ],
    [{ t: 'welcome', v: 1, seq: 0, limits: { maxFrameBytes: 1, maxQueueBytes: 1 }, joined: [] }, ['name']],
    [
      {
        t: 'welcome',
        v: 1,
        name: ':1.1',
        seq: -1,
        limits: { maxFrameBytes: 1, maxQueueBytes: 1 },
        joined: [],
      },
      ['seq'],
    ],
    [{ t: 'welcome', v: 1, name: ':1.1', seq: 0, joined: [] }, ['limits']],
    [
      { t: 'welcome', v: 1, name: ':1.1', seq: 0, limits: { maxQueueBytes: 1 }, joined: [] },
      ['limits', 'maxFrameBytes'],
    ],
    [
      {
        t: 'welcome',
        v: 1,
        name: ':1.1',
        seq: 0,
        limits: { maxFrameBytes: 1, maxQueueBytes: 'x' },
        joined: [],
      },
      ['limits', 'maxQueueBytes'],
    ],
    [
      { t: 'welcome', v: 1, name: ':1.1', seq: 0, limits: { maxFrameBytes: 1, maxQueueBytes: 1 } },
      ['joined'],
    ],
    [
      {
        t: 'welcome',
        v: 1,
        name: ':1.1',
        seq: 0,
        limits: { maxFrameBytes: 1, maxQueueBytes: 1 },
        joined: [{ g: 'a', startSeq: 0 }],
      },
      ['joined', 0, 'startGroupSeq'],
    ],
    [{ t: 'ok' }, ['s']],
    [{ t: 'ok', s: 1, r: [1] }, ['r'], 1],
    [{ t: 'ok', s: 1, r: 'done' }, ['r'], 1],
    [{ t: 'err', s: 2, msg: 'm' }, ['code'], 2],
    [{ t: 'err', s: 2, code: '', msg: 'm' }, ['code'], 2],
    [{ t: 'err', s: 2, code: 'X' }, ['msg'], 2],
    [{ t: 'err', s: 2, code: 'X', msg: 'm', fatal: 1 }, ['fatal'], 2],
    [{ t: 'err', s: 0, code: 'X', msg: 'm' }, ['s']],
    [{ t: 'sig', gseq: 1, g: 'a', sig: 'b', from: ':1.1' }, ['seq']],
    [{ t: 'sig', seq: 1, gseq: 1.5, g: 'a', sig: 'b', from: ':1.1' }, ['gseq']],
    [{ t: 'sig', seq: 2 ** 53, gseq: 1, g: 'a', sig: 'b', from: ':1.1' }, ['seq']],
    [{ t: 'sig', seq: 1, gseq: 1, sig: 'b', from: ':1.1' }, ['g']],
    [{ t: 'sig', seq: 1, gseq: 1, g: 'a', from: ':1.1' }, ['sig']],
    [{ t: 'sig', seq: 1, gseq: 1, g: 'a', sig: 'b' }, ['from']],
    [{ t: 'sig', seq: 1, gseq: 1, g: 'a', sig: 'b', from: ':1.1', r: 'yes' }, ['r']],
    [{ t: 'gclosed', g: 'a', reason: 'gone' }, ['reason']],
    [{ t: 'gclosed', reason: 'closed' }, ['g']],
    [{ t: 'bye' }, ['reason']],
    [{ t: 'bye', reason: 1 }, ['reason']],
  ];

  for (const [side, table, parser] of [
    ['client', client, parseClientHeader],
    ['daemon', server, parseServerHeader],
  ] as const) {
    for (const [header, path, serial] of table) {
      it(`${side} ${JSON.stringify(header)} -> ${path.join('.')}`, () => {
        const error = caught(() => parser(encode(header)));
        expect(error.code).toBe(ErrorCode.BAD_FIELD);
        expect(error.fatal).toBe(false);
        expect(error.serial).toBe(serial);
        expect(error.data).toEqual({ path });
      });
    }
  }

  it('reports the serial in the err reply the daemon sends back', () => {
    const error = caught(() => parseClientHeader(encode({ t: 'emit', s: 12, g: 'x' })));
    expect(error.toErrorReply()).toStrictEqual({
      t: 'err',
      s: 12,
      code: ErrorCode.BAD_FIELD,
      msg: error.message,
      data: { path: ['sig'] },
    });
  });
});
