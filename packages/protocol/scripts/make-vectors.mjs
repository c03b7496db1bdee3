#!/usr/bin/env node
// Writes the language-neutral test vectors in ../vectors/ from the tables below, using the BUILT
// codec (run `npx turbo run build` first): node packages/protocol/scripts/make-vectors.mjs
// The frames' bytes come from encodeFrame and are checked here against the parsers; the exact
// bytes are pinned independently by src/header-parser.test.ts (hand-written hex) and by the
// Python client, which encodes them with another MessagePack library. src/vectors.test.ts reads
// every file back, so a change to the codec that alters a byte fails until the vectors are
// regenerated (and reviewed in the diff).

import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from '@msgpack/msgpack';
import {
  decodePayload,
  encodeFrame,
  encodePayload,
  FrameDecoder,
  parseClientHeader,
  parseServerHeader,
} from '../dist/index.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors');
const hex = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const fromHex = (text) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

// ---- tagged JSON: what plain JSON cannot say about a MessagePack value ----
// { "$bin": "<hex>" } bin · { "$int": "<decimal>" } an integer beyond ±(2^53-1) · { "$float": n } a
// float whose value is integral (2.0, not 2).
function untagForTs(value) {
  if (Array.isArray(value)) return value.map(untagForTs);
  if (value !== null && typeof value === 'object') {
    if ('$bin' in value) return fromHex(value.$bin);
    if ('$int' in value) return Number(BigInt(value.$int));
    if ('$float' in value) return value.$float;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, untagForTs(v)]));
  }
  return value;
}

// ---- valid frames: every message type, both directions ----
const frames = [
  // client -> daemon
  ['hello, minimal', 'client', { t: 'hello', v: 1 }],
  [
    'hello, every field',
    'client',
    {
      t: 'hello',
      v: 1,
      join: [
        {
          g: 'org.example.Logs',
          f: [{ sig: 'Line', from: ':1.3', eq: { level: 'error', n: 2, ok: true, x: null } }],
        },
        { g: 'org.example.Jobs' },
      ],
      token: 'tok',
      client: 'cli',
    },
  ],
  ['create, minimal', 'client', { t: 'create', s: 1, g: 'org.example.Logs' }],
  [
    'create, every option and a schema',
    'client',
    {
      t: 'create',
      s: 2,
      g: 'org.example.Logs',
      o: { emitters: 'members', loopback: true, sendToPeer: false, onFull: 'evict', retain: true },
      schema: { type: 'object' },
    },
  ],
  ['join, no filter', 'client', { t: 'join', s: 3, g: 'org.example.Logs' }],
  [
    'join, two filters (uint16 serial)',
    'client',
    { t: 'join', s: 300, g: 'org.example.Logs', f: [{ sig: 'Line' }, {}] },
  ],
  [
    'join, a federated group replayed after a stream sequence',
    'client',
    { t: 'join', s: 4, g: 'org.example.Logs', fseq: 1200 },
  ],
  [
    "join, a federated group replayed, naming the client's earlier connections (no loopback across them)",
    'client',
    {
      t: 'join',
      s: 4,
      g: 'org.example.Logs',
      fseq: 1200,
      own: ['kitchen/5f2a9c0e11b3/7', 'kitchen/0c4d8e9f7a21/3'],
    },
  ],
  ['leave', 'client', { t: 'leave', s: 4, g: 'org.example.Logs' }],
  ['close', 'client', { t: 'close', s: 5, g: 'org.example.Logs' }],
  [
    'emit, payload a map (uint32 serial)',
    'client',
    { t: 'emit', s: 70000, g: 'org.example.Logs', sig: 'Line' },
    { text: 'hi', n: 1 },
  ],
  ['emit, empty payload', 'client', { t: 'emit', s: 6, g: 'org.example.Logs', sig: 'Tick' }],
  [
    'emit, a publish: no ok when accepted (q: true)',
    'client',
    { t: 'emit', s: 11, g: 'org.example.Logs', sig: 'Line', q: true },
    { text: 'hi', n: 1 },
  ],
  ['ping (largest serial)', 'client', { t: 'ping', s: 0xffff_ffff }],
  [
    'call, minimal (input in the payload)',
    'client',
    { t: 'call', s: 7, dest: 'org.example.Battery', m: 'GetLevel' },
    {},
  ],
  [
    'call, every field',
    'client',
    { t: 'call', s: 3, dest: ':1.4', m: 'Get', g: 'org.example.Battery', to: 1000 },
    { id: 1 },
  ],
  [
    'call to the bus',
    'client',
    { t: 'call', s: 8, dest: 'org.chorus.Bus', m: 'RequestName' },
    { name: 'org.example.Battery' },
  ],
  ['ret (output in the payload)', 'client', { t: 'ret', id: 9 }, { percent: 42 }],
  [
    'fail, with the error name',
    'client',
    { t: 'fail', id: 9, code: 'REMOTE_ERROR', msg: 'no', name: 'TypeError' },
  ],
  ['fail, minimal', 'client', { t: 'fail', id: 10, code: 'INVALID_ARGS', msg: 'percent: expected a number' }],
  ['cancel', 'client', { t: 'cancel', id: 4 }],
  ['monitor, every group', 'client', { t: 'monitor', s: 1 }],
  ['monitor, some groups', 'client', { t: 'monitor', s: 2, g: ['org.example.Logs', 'org.chorus.Bus'] }],
  // daemon -> client
  [
    'welcome, nothing joined',
    'daemon',
    {
      t: 'welcome',
      v: 1,
      name: ':1.7',
      seq: 0,
      limits: { maxFrameBytes: 1_048_576, maxQueueBytes: 8_388_608 },
      joined: [],
    },
  ],
  [
    "welcome, a federated daemon's: the connection's origin",
    'daemon',
    {
      t: 'welcome',
      v: 1,
      name: ':1.7',
      seq: 0,
      limits: { maxFrameBytes: 1_048_576, maxQueueBytes: 8_388_608 },
      joined: [],
      origin: 'kitchen/5f2a9c0e11b3/7',
    },
  ],
  [
    'welcome, joined and the limits this daemon sends',
    'daemon',
    {
      t: 'welcome',
      v: 1,
      name: ':1.12',
      seq: 300,
      limits: {
        maxFrameBytes: 1_048_576,
        maxQueueBytes: 8_388_608,
        maxGroupsPerConnection: 1024,
        maxMembershipsPerConnection: 4096,
        maxFiltersPerMembership: 32,
      },
      joined: [{ g: 'org.example.Logs', startSeq: 301, startGroupSeq: 8 }],
    },
  ],
  ['ok, empty result', 'daemon', { t: 'ok', s: 1, r: {} }],
  ['ok, no result', 'daemon', { t: 'ok', s: 1 }],
  ['ok, join result', 'daemon', { t: 'ok', s: 3, r: { startSeq: 43, startGroupSeq: 9 } }],
  [
    'ok, federated join result: where it starts in the stream, what the replay missed',
    'daemon',
    { t: 'ok', s: 4, r: { startSeq: 43, startGroupSeq: 9, fseq: 1250, missedTo: 1210, missed: 6 } },
  ],
  ['ok, emit result', 'daemon', { t: 'ok', s: 5, r: { seq: 42, gseq: 8, n: 3 } }],
  ['ok, answer to a call: the output is the payload', 'daemon', { t: 'ok', s: 7 }, { percent: 42 }],
  ['ok, answer to a bus call', 'daemon', { t: 'ok', s: 8 }, { result: 'primary-owner' }],
  [
    'err, for a request',
    'daemon',
    { t: 'err', s: 2, code: 'UNKNOWN_GROUP', msg: "no group named 'org.example.Logs'" },
  ],
  [
    'err, BAD_FIELD with its path',
    'daemon',
    {
      t: 'err',
      s: 9,
      code: 'BAD_FIELD',
      msg: 'f[0].eq.level: expected a string, number, boolean or nil',
      data: { path: ['f', 0, 'eq', 'level'] },
    },
  ],
  [
    'err, REMOTE_ERROR with the error name',
    'daemon',
    { t: 'err', s: 7, code: 'REMOTE_ERROR', msg: 'no', data: { name: 'TypeError' } },
  ],
  [
    'err, answering a publish: it names the group and signal',
    'daemon',
    {
      t: 'err',
      s: 11,
      code: 'INVALID_PAYLOAD',
      msg: 'org.example.Logs Line: n: must be integer',
      data: { signal: 'Line', path: ['n'], reason: 'must be integer' },
      g: 'org.example.Logs',
      sig: 'Line',
    },
  ],
  [
    'err, connection-level and fatal',
    'daemon',
    { t: 'err', code: 'SLOW_CONSUMER', msg: 'evicted: your queue stayed full', fatal: true },
  ],
  [
    'err, fatal at hello with its path',
    'daemon',
    {
      t: 'err',
      code: 'BAD_FIELD',
      msg: 'join[0].g: required',
      fatal: true,
      data: { path: ['join', 0, 'g'] },
    },
  ],
  [
    'err, not fatal and without serial',
    'daemon',
    { t: 'err', code: 'DUPLICATE_HELLO', msg: 'hello was already received' },
  ],
  [
    'sig',
    'daemon',
    { t: 'sig', seq: 42, gseq: 8, g: 'org.example.Logs', sig: 'Line', from: ':1.3' },
    { text: 'hi', n: 1 },
  ],
  [
    'sig, empty payload',
    'daemon',
    { t: 'sig', seq: 43, gseq: 9, g: 'org.example.Logs', sig: 'Tick', from: ':1.3' },
  ],
  [
    "sig, a federated group's, replayed from the stream (seq and gseq 0)",
    'daemon',
    { t: 'sig', seq: 0, gseq: 0, g: 'org.example.Logs', sig: 'Line', from: 'host-a:1.7', fseq: 1211 },
    { text: 'hi', n: 1 },
  ],
  [
    'sig, retained replay',
    'daemon',
    { t: 'sig', seq: 42, gseq: 8, g: 'org.example.Logs', sig: 'Line', from: ':1.3', r: true },
    { text: 'hi', n: 1 },
  ],
  [
    'sig, NameOwnerChanged from the bus (to members)',
    'daemon',
    { t: 'sig', seq: 50, gseq: 4, g: 'org.chorus.Bus', sig: 'NameOwnerChanged', from: 'org.chorus.Bus' },
    { name: 'org.example.Battery', oldOwner: null, newOwner: ':1.3' },
  ],
  [
    'sig, NameAcquired from the bus (to one connection: gseq 0)',
    'daemon',
    { t: 'sig', seq: 51, gseq: 0, g: 'org.chorus.Bus', sig: 'NameAcquired', from: 'org.chorus.Bus' },
    { name: 'org.example.Battery' },
  ],
  [
    'sig, NameLost from the bus (to one connection: gseq 0)',
    'daemon',
    { t: 'sig', seq: 49, gseq: 0, g: 'org.chorus.Bus', sig: 'NameLost', from: 'org.chorus.Bus' },
    { name: 'org.example.Battery' },
  ],
  ...['closed', 'owner-left', 'owner-evicted', 'shutdown', 'not-permitted'].map((reason) => [
    `gclosed, ${reason}`,
    'daemon',
    { t: 'gclosed', g: 'org.example.Logs', reason },
  ]),
  ['bye', 'daemon', { t: 'bye', reason: 'shutdown' }],
  [
    'invoke, with its interface',
    'daemon',
    {
      t: 'invoke',
      id: 2,
      from: ':1.4',
      dest: 'org.example.Battery',
      m: 'GetLevel',
      g: 'org.example.Battery',
    },
    {},
  ],
  [
    'invoke, sent to a unique name',
    'daemon',
    { t: 'invoke', id: 3, from: ':1.4', dest: ':1.9', m: 'GetLevel', g: 'org.example.Battery' },
    {},
  ],
  [
    'invoke, without g (not sent by this daemon)',
    'daemon',
    { t: 'invoke', id: 4, from: ':1.4', dest: 'org.example.Battery', m: 'GetLevel' },
    {},
  ],
  ...['cancelled', 'timeout', 'caller-left'].map((reason, i) => [
    `abort, ${reason}`,
    'daemon',
    { t: 'abort', id: 2 + i, reason },
  ]),
].map(([name, direction, header, value]) => {
  const payload = value === undefined ? new Uint8Array(0) : encodePayload(value);
  const frame = encodeFrame(header, payload);
  const headerLength = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
  const parsed = (direction === 'client' ? parseClientHeader : parseServerHeader)(
    frame.subarray(8, 8 + headerLength),
  );
  if (JSON.stringify(parsed) !== JSON.stringify(header)) throw new Error(`${name}: does not parse back`);
  const vector = { name, direction, hex: hex(frame), header };
  if (value !== undefined) vector.payload = value;
  return vector;
});

// ---- header errors: well-delimited frames whose header the codec refuses (never fatal after hello) ----
const s = (text) => hex(encode(text));
const headerErrors = [];
function headerError(name, direction, headerHex, error) {
  const bytes = fromHex(headerHex);
  const parse = direction === 'client' ? parseClientHeader : parseServerHeader;
  try {
    parse(bytes);
  } catch (e) {
    const got = { code: e.code };
    if (e.serial !== undefined) got.serial = e.serial;
    if (e.data !== undefined) got.path = e.data.path;
    if (JSON.stringify(got) !== JSON.stringify(error)) throw new Error(`${name}: got ${JSON.stringify(got)}`);
    headerErrors.push({ name, direction, headerHex: hex(bytes), error });
    return;
  }
  throw new Error(`${name}: parsed`);
}
const msgpackCases = [
  ['empty header', ''],
  ['header is a string, not a map', s('ping')],
  ['header is an array, not a map', `92${s('ping')}01`],
  ['truncated string', `82${s('t')}a47069`],
  ['map missing its last value', `82${s('t')}${s('ping')}${s('s')}`],
  ['bytes after the map', `81${s('t')}${s('ping')}00`],
  ['reserved byte 0xc1', `81${s('t')}c1`],
  ['array32 claiming 2^32-1 elements', `81${s('t')}ddffffffff`],
  ['map32 claiming 2^32-1 entries', 'dfffffffff'],
  ['str32 claiming 4 GiB', `81${s('t')}dbffffffff61`],
  ['map key that is an array', '819001'],
  ['map key __proto__', `81${s('__proto__')}80`],
  ['nesting deeper than 100', `81${s('x')}${'91'.repeat(101)}00`],
  ['damage after a readable serial', `83${s('t')}${s('ping')}${s('s')}07${s('g')}c1`, 7],
  ['serial read from a uint32', `82${s('s')}ce00011170${s('t')}a470`, 70000],
  ['damage before the serial', `83${s('t')}c1${s('s')}07`],
];
for (const [name, bytes, serial] of msgpackCases) {
  for (const direction of ['client', 'daemon']) {
    headerError(
      `BAD_MSGPACK: ${name}`,
      direction,
      bytes,
      serial === undefined ? { code: 'BAD_MSGPACK' } : { code: 'BAD_MSGPACK', serial },
    );
  }
}
headerError(
  'UNKNOWN_TYPE: a type no side knows, with its serial',
  'client',
  hex(encode({ t: 'nope', s: 9 })),
  { code: 'UNKNOWN_TYPE', serial: 9 },
);
headerError('UNKNOWN_TYPE: a daemon type sent by a client', 'client', hex(encode({ t: 'ok', s: 1 })), {
  code: 'UNKNOWN_TYPE',
  serial: 1,
});
headerError('UNKNOWN_TYPE: a client type sent by the daemon', 'daemon', hex(encode({ t: 'ping', s: 1 })), {
  code: 'UNKNOWN_TYPE',
  serial: 1,
});
headerError('UNKNOWN_TYPE: empty t', 'client', hex(encode({ t: '' })), { code: 'UNKNOWN_TYPE' });
const badFields = [
  ['client', { s: 1 }, ['t'], 1],
  ['client', { t: 7 }, ['t']],
  ['client', { t: 'hello' }, ['v']],
  ['client', { t: 'hello', v: -1 }, ['v']],
  ['client', { t: 'hello', v: 1.5 }, ['v']],
  ['client', { t: 'hello', v: 1, join: ['org.a.B'] }, ['join', 0]],
  ['client', { t: 'hello', v: 1, join: [{ g: 'a.b' }, { f: [] }] }, ['join', 1, 'g']],
  [
    'client',
    { t: 'hello', v: 1, join: [{ g: 'a.b', f: [{ sig: 'X' }, { eq: { a: [1] } }] }] },
    ['join', 0, 'f', 1, 'eq', 'a'],
  ],
  ['client', { t: 'hello', v: 1, token: 5 }, ['token']],
  ['client', { t: 'create', g: 'a.b' }, ['s']],
  ['client', { t: 'create', s: 0, g: 'a.b' }, ['s']],
  ['client', { t: 'create', s: 2 ** 32, g: 'a.b' }, ['s']],
  ['client', { t: 'create', s: 3 }, ['g'], 3],
  ['client', { t: 'create', s: 3, g: '' }, ['g'], 3],
  ['client', { t: 'create', s: 3, g: 'a.b', o: { emitters: 'everyone' } }, ['o', 'emitters'], 3],
  ['client', { t: 'create', s: 3, g: 'a.b', o: { onFull: 'drop' } }, ['o', 'onFull'], 3],
  ['client', { t: 'create', s: 3, g: 'a.b', o: { loopback: 1 } }, ['o', 'loopback'], 3],
  ['client', { t: 'join', s: 4, g: 'a.b', f: [{ eq: { a: { b: 1 } } }] }, ['f', 0, 'eq', 'a'], 4],
  ['client', { t: 'emit', s: 7, g: 'a.b' }, ['sig'], 7],
  ['client', { t: 'ping' }, ['s']],
  ['client', { t: 'call', s: 5, m: 'Get' }, ['dest'], 5],
  ['client', { t: 'call', s: 5, dest: 'a.b' }, ['m'], 5],
  ['client', { t: 'call', s: 5, dest: 'a.b', m: 'Get', to: -1 }, ['to'], 5],
  ['client', { t: 'call', s: 5, dest: 'a.b', m: 'Get', g: '' }, ['g'], 5],
  ['client', { t: 'ret' }, ['id']],
  ['client', { t: 'ret', id: 0 }, ['id']],
  ['client', { t: 'fail', id: 1, msg: 'm' }, ['code']],
  ['client', { t: 'fail', id: 1, code: 'X' }, ['msg']],
  ['client', { t: 'fail', id: 1, code: 'X', msg: 'm', name: 3 }, ['name']],
  ['client', { t: 'cancel', id: 'x' }, ['id']],
  ['client', { t: 'monitor', s: 1, g: 'a.b' }, ['g'], 1],
  ['client', { t: 'monitor', s: 1, g: [''] }, ['g', 0], 1],
  [
    'daemon',
    { t: 'welcome', v: 1, name: ':1.1', seq: 0, limits: { maxQueueBytes: 1 }, joined: [] },
    ['limits', 'maxFrameBytes'],
  ],
  [
    'daemon',
    {
      t: 'welcome',
      v: 1,
      name: ':1.1',
      seq: 0,
      limits: { maxFrameBytes: 1, maxQueueBytes: 1 },
      joined: [{ g: 'a.b', startSeq: 0 }],
    },
    ['joined', 0, 'startGroupSeq'],
  ],
  ['daemon', { t: 'ok' }, ['s']],
  ['daemon', { t: 'ok', s: 1, r: [1] }, ['r'], 1],
  ['daemon', { t: 'err', s: 2, code: 'X' }, ['msg'], 2],
  ['daemon', { t: 'err', s: 2, code: 'X', msg: 'm', fatal: 1 }, ['fatal'], 2],
  ['daemon', { t: 'sig', seq: 2 ** 53, gseq: 1, g: 'a.b', sig: 'B', from: ':1.1' }, ['seq']],
  ['daemon', { t: 'sig', seq: 1, gseq: 1, g: 'a.b', sig: 'B' }, ['from']],
  ['daemon', { t: 'sig', seq: 1, gseq: 1, g: 'a.b', sig: 'B', from: ':1.1', r: 'yes' }, ['r']],
  ['daemon', { t: 'gclosed', g: 'a.b', reason: 'gone' }, ['reason']],
  ['daemon', { t: 'bye' }, ['reason']],
  ['daemon', { t: 'invoke', id: 1, from: ':1.1', dest: 'a.b' }, ['m']],
  ['daemon', { t: 'invoke', id: 1, from: ':1.1', dest: 'a.b', m: 'M', g: 2 }, ['g']],
  ['daemon', { t: 'abort', id: 1, reason: 'bored' }, ['reason']],
];
for (const [direction, header, path, serial] of badFields) {
  const error = serial === undefined ? { code: 'BAD_FIELD', path } : { code: 'BAD_FIELD', serial, path };
  headerError(`BAD_FIELD: ${JSON.stringify(header)}`, direction, hex(encode(header)), error);
}
// Integers in any MessagePack format: these parse (uint64 1, float64 1.0) — kept with the frames' test.
const lenient = [
  ['serial as uint64', 'client', `82${s('t')}${s('ping')}${s('s')}cf0000000000000001`, { t: 'ping', s: 1 }],
  [
    'serial as float64 1.0',
    'client',
    `82${s('t')}${s('ping')}${s('s')}cb3ff0000000000000`,
    { t: 'ping', s: 1 },
  ],
  [
    'nil for an optional field is absent',
    'client',
    hex(encode({ t: 'join', s: 1, g: 'a.b', f: null })),
    { t: 'join', s: 1, g: 'a.b' },
  ],
  [
    'unknown keys are ignored',
    'client',
    hex(encode({ t: 'hello', v: 1, future: [1], join: [{ g: 'a.b', x: 1 }] })),
    { t: 'hello', v: 1, join: [{ g: 'a.b' }] },
  ],
  ['keys in another order', 'daemon', hex(encode({ s: 1, t: 'ok' })), { t: 'ok', s: 1 }],
].map(([name, direction, headerHex, header]) => {
  const parsed = (direction === 'client' ? parseClientHeader : parseServerHeader)(fromHex(headerHex));
  if (JSON.stringify(parsed) !== JSON.stringify(header))
    throw new Error(`${name}: parsed ${JSON.stringify(parsed)}`);
  return { name, direction, headerHex, header };
});

// ---- framing: byte streams and what a FrameDecoder makes of them ----
const framing = [
  [
    'two frames back to back',
    1_048_576,
    hex(encodeFrame({ t: 'ping', s: 1 })) + hex(encodeFrame({ t: 'ping', s: 2 })),
    2,
    undefined,
  ],
  ['headerLength 0', 1_048_576, '0000000000000000', 0, 'BAD_LENGTH'],
  ['headerLength 0, refused after its first 4 bytes', 1_048_576, '00000000', 0, 'BAD_LENGTH'],
  ['header + payload one byte over maxFrameBytes', 64, '0000002000000021', 0, 'FRAME_TOO_LARGE'],
  [
    'headerLength alone over maxFrameBytes, refused after 4 bytes',
    1_048_576,
    '00100001',
    0,
    'FRAME_TOO_LARGE',
  ],
  [
    'a good frame, then a bad length: the good one is delivered',
    1_048_576,
    `${hex(encodeFrame({ t: 'ping', s: 1 }))}00000000ffffffff`,
    1,
    'BAD_LENGTH',
  ],
  [
    'exactly maxFrameBytes is accepted',
    16,
    hex(encodeFrame({ t: 'ping', s: 1 }, new Uint8Array(5))),
    1,
    undefined,
  ],
].map(([name, maxFrameBytes, streamHex, frameCount, code]) => {
  let count = 0;
  let failure;
  const decoder = new FrameDecoder({ frame: () => count++, error: (e) => (failure = e) }, { maxFrameBytes });
  decoder.push(fromHex(streamHex));
  if (count !== frameCount || failure?.code !== code)
    throw new Error(`${name}: ${count} frames, ${failure?.code}`);
  const vector = { name, maxFrameBytes, streamHex, frames: frameCount };
  if (code !== undefined) vector.error = { code, fatal: true };
  return vector;
});

// ---- payloads: values and their bytes (section 13) ----
const payloads = [
  ['empty payload: no value', '', null, 'empty'],
  ['nil', 'c0', null],
  ['true', 'c3', true],
  ['positive fixint', '2a', 42],
  ['negative fixint', 'ff', -1],
  ['uint16', 'cd012c', 300],
  ['int32 (TypeScript writes int16)', 'd2ffff8000', -32768],
  ['largest safe integer (uint64)', 'cf001fffffffffffff', 9007199254740991],
  ['2^53 + 1 (TypeScript reads 2^53)', 'cf0020000000000001', { $int: '9007199254740993' }],
  ['2^64 - 1 (TypeScript reads 2^64)', 'cfffffffffffffffff', { $int: '18446744073709551615' }],
  ['-2^63 (int64)', 'd38000000000000000', { $int: '-9223372036854775808' }],
  ['float64', 'cb3ff8000000000000', 1.5],
  ['float64 with an integral value', 'cb4000000000000000', { $float: 2 }],
  ['str', 'a26869', 'hi'],
  ['str, UTF-8', 'a3e282ac', '€'],
  ['bin', 'c403000102', { $bin: '000102' }],
  ['empty bin', 'c400', { $bin: '' }],
  ['array', '9301a178c0', [1, 'x', null]],
];
payloads.push(
  ['map', hex(encode({ percent: 42, ok: true })), { percent: 42, ok: true }],
  [
    'map, nested',
    hex(encode({ name: 'org.a.B', owners: [':1.1', null], meta: { bin: new Uint8Array([1]) } })),
    {
      name: 'org.a.B',
      owners: [':1.1', null],
      meta: { bin: { $bin: '01' } },
    },
  ],
  ['empty map', '80', {}],
);
const payloadVectors = payloads.map(([name, bytesHex, value, kind]) => {
  const bytes = fromHex(bytesHex);
  const vector = { name, hex: bytesHex.replace(/\s+/g, '') };
  if (kind === 'empty') {
    if (decodePayload(bytes) !== undefined) throw new Error(name);
    vector.empty = true;
    vector.tsEncodes = hex(encodePayload(undefined)) === '';
    return vector;
  }
  const decoded = decodePayload(bytes);
  const expected = untagForTs(value);
  if (JSON.stringify(plain(decoded)) !== JSON.stringify(plain(expected))) {
    throw new Error(`${name}: decoded ${JSON.stringify(plain(decoded))}`);
  }
  vector.value = value;
  let encoded;
  try {
    encoded = hex(encodePayload(expected));
  } catch {
    encoded = undefined;
  }
  // Whether the TypeScript encoder writes exactly these bytes for the value (it cannot write a
  // bigint, and writes an integral float as an int).
  vector.tsEncodes = encoded === vector.hex;
  // The smallest encoding (what encoders SHOULD write): TypeScript's, or one it cannot write.
  vector.canonical = vector.tsEncodes || /"\$(int|float)"/.test(JSON.stringify(value));
  return vector;
});
function plain(value) {
  if (value instanceof Uint8Array) return { $bin: hex(value) };
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

// ---- names (section 3): the daemon's grammar ----
const names = {
  group: {
    valid: ['org.example.Battery', 'a.b', 'my-app._x', '-a.b', 'a.b-c.d_e9', `a.${'b'.repeat(253)}`],
    invalid: [
      '',
      'battery',
      'a..b',
      '.a.b',
      'a.b.',
      '1a.b',
      'a.1b',
      'a.b c',
      'a.b/c',
      'ä.b',
      ':1.7',
      `a.${'b'.repeat(254)}`,
    ],
  },
  member: {
    valid: ['LevelChanged', 'GetLevel', '_x1', 'a', 'A_B'],
    invalid: ['', '1a', 'a-b', 'a.b', 'a b', 'é', 'x'.repeat(256)],
  },
  wellKnown: {
    valid: ['org.example.Battery', 'a.b'],
    invalid: ['org.chorus.Bus', ':1.7', 'battery', ''],
  },
  unique: {
    valid: [':1.1', ':1.7', ':1.1234567890123456'],
    invalid: [':1.0', ':1.01', ':2.1', ':1.', ':1.a', '1.1', ':1.12345678901234567', 'org.chorus.Bus'],
  },
};

function write(file, description, body) {
  writeFileSync(join(out, file), `${JSON.stringify({ description, ...body }, null, 2)}\n`);
}
write(
  'frames.json',
  'Valid frames of every message type, both directions: hex is the whole frame (prefix, header, payload); header is what the header decodes to; payload, when present, the decoded payload (tagged JSON, see README.md).',
  { frames },
);
write(
  'header-errors.json',
  'Well-delimited headers a receiver refuses (non-fatal after hello): the error code, the serial it carries when one is readable, and the path of a BAD_FIELD.',
  { errors: headerErrors, lenient },
);
write(
  'framing.json',
  'Byte streams pushed into a frame decoder with maxFrameBytes: how many frames come out before the framing error (always fatal), if any.',
  { streams: framing },
);
write(
  'payloads.json',
  'Payload values and their MessagePack bytes (tagged JSON, see README.md). tsEncodes: the TypeScript encoder writes exactly these bytes for the value.',
  { payloads: payloadVectors },
);
write(
  'names.json',
  'The name grammars of the wire spec, section 3: names the daemon accepts and refuses (INVALID_NAME).',
  names,
);
console.log(
  `vectors: ${frames.length} frames, ${headerErrors.length + lenient.length} headers, ${framing.length} streams, ${payloadVectors.length} payloads`,
);
