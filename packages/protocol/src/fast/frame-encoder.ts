/*
 * Hand-written frame encoders for the messages on the hot path: the daemon's `sig` (one per emit,
 * shared by every recipient) and its `ok` to an emit, and the SDK's `emit`. A generic encoder walks
 * keys and grows buffers; these write one fixed header layout each (declared in layouts.ts and
 * read back by header-reader.ts) straight into a buffer of the exact size.
 *
 * Reference: encodeFrame (reference/frame-encoder.ts). Each function here produces, byte for byte,
 * the frame encodeFrame produces for the same message (fast/frame-encoder.test.ts and
 * fast/header-reader.test.ts, property tests over every integer and string format boundary).
 */

import { FRAME_PREFIX_BYTES, MAX_U32 } from '../constants.js';
import * as framePrefix from '../frame-prefix.js';
import { withEncoded } from '../msgpack.js';
import * as layouts from './layouts.js';
import { encodePlainValue, releasePlainValue } from './msgpack-encoder.js';
import { utf8Length, writeUtf8 } from './utf8.js';

// Module-local copies of the layouts and prefix writers: V8 folds a local const into the code that reads it, but
// reads an imported binding through its module cell, with a check, on every use (measured: these
// readers and encoders took up to twice as long with the imports used directly).
const {
  EMIT_MAP,
  EMIT_MAP_QUIET,
  EMIT_REPLY_MAP,
  EMIT_REPLY_R_AND_SEQ,
  EMIT_REPLY_T_AND_S,
  EMIT_T_AND_S,
  KEY_FROM,
  KEY_G,
  KEY_GSEQ,
  KEY_N,
  KEY_Q_TRUE,
  KEY_R_TRUE,
  KEY_SIG,
  SIG_MAP,
  SIG_MAP_RETAINED,
  SIG_T_AND_SEQ,
} = layouts;
const { writeFramePrefix, writeU32 } = framePrefix;

const EMPTY = new Uint8Array(0);

// The bytes of each layout that do not depend on the values (the map marker and the fixed runs).
const FIXED_SIG_BYTES =
  1 + SIG_T_AND_SEQ.length + KEY_GSEQ.length + KEY_G.length + KEY_SIG.length + KEY_FROM.length;
// The map marker and the first run, as one run: one copy loop instead of a store and a loop.
const EMIT_HEAD: readonly number[] = [EMIT_MAP, ...EMIT_T_AND_S];
const PUBLISH_HEAD: readonly number[] = [EMIT_MAP_QUIET, ...EMIT_T_AND_S];
const EMIT_REPLY_HEAD: readonly number[] = [EMIT_REPLY_MAP, ...EMIT_REPLY_T_AND_S];
const FIXED_EMIT_BYTES = EMIT_HEAD.length;
const FIXED_EMIT_REPLY_BYTES =
  EMIT_REPLY_HEAD.length + EMIT_REPLY_R_AND_SEQ.length + KEY_GSEQ.length + KEY_N.length;

/**
 * Fast path for the daemon's hot loop: the frame of a `sig` message, byte for byte what
 * `encodeFrame({ t: 'sig', seq, gseq, g: group, sig: signal, from, r: retained || undefined }, payload)`
 * produces. `seq` and `gseq` must be non-negative safe integers (not checked, for speed).
 *
 * @example
 * ```ts
 * const frame = encodeSignalFrame(42, 8, 'logs', 'line', ':1.3', false, payload);
 * for (const member of members) member.write(frame); // one buffer shared by every recipient
 * ```
 */
export function encodeSignalFrame(
  seq: number,
  gseq: number,
  group: string,
  signal: string,
  from: string,
  retained: boolean,
  payload: Uint8Array,
): Uint8Array {
  const frame = new Uint8Array(signalFrameLength(seq, gseq, group, signal, from, retained, payload.length));
  encodeSignalFrameInto(frame, 0, seq, gseq, group, signal, from, retained, payload);
  return frame;
}

/**
 * The length of the frame {@link encodeSignalFrame} makes for these values (`payloadLength`: the
 * payload's), without making it: so that several frames can be written into one buffer.
 *
 * @example
 * ```ts
 * const target = new Uint8Array(signalFrameLength(42, 8, 'logs', 'line', ':1.3', false, payload.length));
 * ```
 */
export function signalFrameLength(
  seq: number,
  gseq: number,
  group: string,
  signal: string,
  from: string,
  retained: boolean,
  payloadLength: number,
): number {
  const names = signalNames(group, signal, from);
  const namesLength =
    names !== undefined ? names.length : namesSize(utf8Length(group), utf8Length(signal), utf8Length(from));
  const headerLength = sigHeaderSize(seq, gseq, namesLength, retained);
  return FRAME_PREFIX_BYTES + headerLength + payloadLength;
}

/** Bytes of the `g`, `sig` and `from` fields, from the UTF-8 lengths of their values. */
function namesSize(groupBytes: number, signalBytes: number, fromBytes: number): number {
  return (
    KEY_G.length +
    strSize(groupBytes) +
    KEY_SIG.length +
    strSize(signalBytes) +
    KEY_FROM.length +
    strSize(fromBytes)
  );
}

/** Bytes of a `sig` header whose names take `namesLength`. */
function sigHeaderSize(seq: number, gseq: number, namesLength: number, retained: boolean): number {
  return (
    FIXED_SIG_BYTES -
    KEY_G.length -
    KEY_SIG.length -
    KEY_FROM.length +
    uintSize(seq) +
    uintSize(gseq) +
    namesLength +
    (retained ? KEY_R_TRUE.length : 0)
  );
}

/*
 * The `g`, `sig` and `from` fields of the `sig` header, kept encoded for the last triple: a batch
 * is mostly one signal of one group from one sender, and comparing three strings costs less than
 * measuring and encoding them twice (signalFrameLength, then encodeSignalFrameInto). The bytes are
 * made on the second frame in a row with the same triple, so alternating triples allocate nothing.
 * A `names` array is never written after it is made (a new triple replaces it), so a caller that
 * took it keeps valid bytes.
 */
let lastSigGroup: string | undefined;
let lastSigSignal: string | undefined;
let lastSigFrom: string | undefined;
let lastSigNames: Uint8Array | undefined;

function signalNames(group: string, signal: string, from: string): Uint8Array | undefined {
  if (group !== lastSigGroup || signal !== lastSigSignal || from !== lastSigFrom) {
    lastSigGroup = group;
    lastSigSignal = signal;
    lastSigFrom = from;
    lastSigNames = undefined;
    return undefined;
  }
  if (lastSigNames === undefined) {
    const groupBytes = utf8Length(group);
    const signalBytes = utf8Length(signal);
    const fromBytes = utf8Length(from);
    const names = new Uint8Array(namesSize(groupBytes, signalBytes, fromBytes));
    let at = writeBytes(names, 0, KEY_G);
    at = writeStr(names, at, group, groupBytes);
    at = writeBytes(names, at, KEY_SIG);
    at = writeStr(names, at, signal, signalBytes);
    at = writeBytes(names, at, KEY_FROM);
    writeStr(names, at, from, fromBytes);
    lastSigNames = names;
  }
  return lastSigNames;
}

/**
 * Writes the frame {@link encodeSignalFrame} makes into `target` at `offset` (which must have
 * {@link signalFrameLength} bytes from there), and returns the offset after it: several frames
 * end to end in one buffer, without a buffer per frame.
 *
 * @example
 * ```ts
 * let at = 0;
 * for (const m of messages) at = encodeSignalFrameInto(chunk, at, m.seq, m.gseq, m.g, m.sig, m.from, false, m.payload);
 * ```
 */
export function encodeSignalFrameInto(
  target: Uint8Array,
  offset: number,
  seq: number,
  gseq: number,
  group: string,
  signal: string,
  from: string,
  retained: boolean,
  payload: Uint8Array,
): number {
  if (payload.length > MAX_U32)
    throw new RangeError(`payload of ${payload.length} bytes does not fit a frame`);
  const names = signalNames(group, signal, from);
  let groupBytes = 0;
  let signalBytes = 0;
  let fromBytes = 0;
  let namesLength: number;
  if (names !== undefined) {
    namesLength = names.length;
  } else {
    groupBytes = utf8Length(group);
    signalBytes = utf8Length(signal);
    fromBytes = utf8Length(from);
    namesLength = namesSize(groupBytes, signalBytes, fromBytes);
  }
  const headerLength = sigHeaderSize(seq, gseq, namesLength, retained);
  writeU32(target, offset, headerLength);
  writeU32(target, offset + 4, payload.length);
  let pos = offset + FRAME_PREFIX_BYTES;
  target[pos++] = retained ? SIG_MAP_RETAINED : SIG_MAP;
  pos = writeBytes(target, pos, SIG_T_AND_SEQ);
  pos = writeUint(target, pos, seq);
  pos = writeBytes(target, pos, KEY_GSEQ);
  pos = writeUint(target, pos, gseq);
  if (names !== undefined) {
    for (let i = 0; i < namesLength; i++) target[pos + i] = names[i] as number;
    pos += namesLength;
  } else {
    pos = writeBytes(target, pos, KEY_G);
    pos = writeStr(target, pos, group, groupBytes);
    pos = writeBytes(target, pos, KEY_SIG);
    pos = writeStr(target, pos, signal, signalBytes);
    pos = writeBytes(target, pos, KEY_FROM);
    pos = writeStr(target, pos, from, fromBytes);
  }
  if (retained) pos = writeBytes(target, pos, KEY_R_TRUE);
  target.set(payload, pos);
  return pos + payload.length;
}

/**
 * Makes the buffer of one frame. The encoders write every byte of it, so it need not be zeroed:
 * Node's `Buffer.allocUnsafe` (slices of a shared pool, and what a socket writes without a
 * conversion) is a valid allocator.
 *
 * @example
 * ```ts
 * const allocate: FrameAllocator = (size) => Buffer.allocUnsafe(size);
 * socket.write(encodeEmitFrame(8, 'logs', 'line', encodePayload('hello'), allocate));
 * ```
 */
export type FrameAllocator = (size: number) => Uint8Array;

const newBytes: FrameAllocator = (size) => new Uint8Array(size);

/**
 * Fast path for the SDK's emits: byte for byte what
 * `encodeFrame({ t: 'emit', s: serial, g: group, sig: signal }, payload)` produces (the layout
 * the daemon's header fast path reads), in a buffer from `allocate`; with `quiet`, a publish:
 * `encodeFrame({ t: 'emit', s: serial, g: group, sig: signal, q: true }, payload)`. `serial` must
 * be a valid serial (not checked, for speed).
 *
 * @example
 * ```ts
 * socket.write(encodeEmitFrame(8, 'logs', 'line', encodePayload('hello')));
 * ```
 */
export function encodeEmitFrame(
  serial: number,
  group: string,
  signal: string,
  payload: Uint8Array,
  allocate: FrameAllocator = newBytes,
  quiet = false,
): Uint8Array {
  return emitFrame(serial, group, signal, payload, payload.length, allocate, quiet);
}

/** encodeEmitFrame with the payload in the first `payloadLength` bytes of `source`. */
function emitFrame(
  serial: number,
  group: string,
  signal: string,
  source: Uint8Array,
  payloadLength: number,
  allocate: FrameAllocator,
  quiet: boolean,
): Uint8Array {
  if (payloadLength > MAX_U32) throw new RangeError(`payload of ${payloadLength} bytes does not fit a frame`);
  const names = emitNames(group, signal);
  let groupBytes = 0;
  let signalBytes = 0;
  let namesLength: number;
  if (names !== undefined) {
    namesLength = names.length;
  } else {
    groupBytes = utf8Length(group);
    signalBytes = utf8Length(signal);
    namesLength = KEY_G.length + strSize(groupBytes) + KEY_SIG.length + strSize(signalBytes);
  }
  const headerLength = FIXED_EMIT_BYTES + uintSize(serial) + namesLength + (quiet ? KEY_Q_TRUE.length : 0);
  const frame = allocate(FRAME_PREFIX_BYTES + headerLength + payloadLength);
  writeFramePrefix(frame, headerLength, payloadLength);
  let pos = writeBytes(frame, FRAME_PREFIX_BYTES, quiet ? PUBLISH_HEAD : EMIT_HEAD);
  pos = writeUint(frame, pos, serial);
  if (names !== undefined) {
    frame.set(names, pos);
    pos += namesLength;
  } else {
    pos = writeNames(frame, pos, group, groupBytes, signal, signalBytes);
  }
  if (quiet) pos = writeBytes(frame, pos, KEY_Q_TRUE);
  frame.set(payloadLength === source.length ? source : source.subarray(0, payloadLength), pos);
  return frame;
}

/*
 * The `g` and `sig` fields of the emit header, kept encoded for the last (group, signal) pair:
 * an emitter mostly sends the same signal of the same group over and over, and comparing two
 * strings costs less than encoding them. The bytes are made on the second emit in a row with the
 * same pair, so an emitter that alternates does not allocate them each time.
 *
 * Re-entrancy: emitFrame calls the caller's `allocate` between taking `lastNames` and copying
 * it, and `allocate` may emit (another pair). That is safe because a `lastNames` array is never
 * written after it is made: another pair replaces it with a new array, and the outer emit still
 * copies the one it took.
 */
let lastGroup: string | undefined;
let lastSignal: string | undefined;
let lastNames: Uint8Array | undefined;

function emitNames(group: string, signal: string): Uint8Array | undefined {
  if (group !== lastGroup || signal !== lastSignal) {
    lastGroup = group;
    lastSignal = signal;
    lastNames = undefined;
    return undefined;
  }
  if (lastNames === undefined) {
    const groupBytes = utf8Length(group);
    const signalBytes = utf8Length(signal);
    lastNames = new Uint8Array(KEY_G.length + strSize(groupBytes) + KEY_SIG.length + strSize(signalBytes));
    writeNames(lastNames, 0, group, groupBytes, signal, signalBytes);
  }
  return lastNames;
}

function writeNames(
  target: Uint8Array,
  pos: number,
  group: string,
  groupBytes: number,
  signal: string,
  signalBytes: number,
): number {
  let at = writeBytes(target, pos, KEY_G);
  at = writeStr(target, at, group, groupBytes);
  at = writeBytes(target, at, KEY_SIG);
  return writeStr(target, at, signal, signalBytes);
}

/**
 * {@link encodeEmitFrame} of a signal value: the value is encoded as {@link encodePayload} does,
 * straight into the frame (the MessagePack bytes are copied once, not once into a payload and
 * again into the frame). Throws ProtocolError BAD_MSGPACK when the value cannot be encoded.
 *
 * @example
 * ```ts
 * socket.write(encodeEmitValueFrame(8, 'logs', 'line', { text: 'hello' }));
 * ```
 */
export function encodeEmitValueFrame(
  serial: number,
  group: string,
  signal: string,
  value: unknown,
  allocate: FrameAllocator = newBytes,
  quiet = false,
): Uint8Array {
  // `undefined` is the empty payload (encodePayload's rule), not MessagePack nil.
  if (value === undefined) return encodeEmitFrame(serial, group, signal, EMPTY, allocate, quiet);
  const bytes = encodePlainValue(value);
  if (bytes !== undefined) {
    // The bytes are the plain encoder's scratch, lent until copied into the frame: `allocate`
    // may emit meanwhile (then that emit declines the scratch and writes elsewhere).
    try {
      return emitFrame(serial, group, signal, bytes, bytes.length, allocate, quiet);
    } finally {
      releasePlainValue();
    }
  }
  return withEncoded(value, 'payload', (bytes) =>
    encodeEmitFrame(serial, group, signal, bytes, allocate, quiet),
  );
}

/**
 * Fast path for the daemon's reply to an accepted emit: byte for byte what
 * `encodeFrame({ t: 'ok', s: serial, r: { seq, gseq, n: recipients } })` produces. All four must
 * be non-negative safe integers (not checked, for speed).
 *
 * @example
 * ```ts
 * const frame = encodeEmitReplyFrame(8, 42, 7, 10); // the ok to emit #8: seq 42, group seq 7, 10 recipients
 * ```
 */
export function encodeEmitReplyFrame(
  serial: number,
  seq: number,
  gseq: number,
  recipients: number,
): Uint8Array {
  const headerLength =
    FIXED_EMIT_REPLY_BYTES + uintSize(serial) + uintSize(seq) + uintSize(gseq) + uintSize(recipients);
  const frame = new Uint8Array(FRAME_PREFIX_BYTES + headerLength);
  writeU32(frame, 0, headerLength);
  // Bytes 4..7, the payload length, stay 0.
  let pos = writeBytes(frame, FRAME_PREFIX_BYTES, EMIT_REPLY_HEAD);
  pos = writeUint(frame, pos, serial);
  pos = writeBytes(frame, pos, EMIT_REPLY_R_AND_SEQ);
  pos = writeUint(frame, pos, seq);
  pos = writeBytes(frame, pos, KEY_GSEQ);
  pos = writeUint(frame, pos, gseq);
  pos = writeBytes(frame, pos, KEY_N);
  writeUint(frame, pos, recipients);
  return frame;
}

function writeBytes(target: Uint8Array, pos: number, source: readonly number[]): number {
  for (let i = 0; i < source.length; i++) target[pos + i] = source[i]!;
  return pos + source.length;
}

// MessagePack's smallest unsigned format for a non-negative safe integer (as @msgpack/msgpack).
function uintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x100) return 2;
  if (value < 0x10000) return 3;
  if (value < 0x1_0000_0000) return 5;
  return 9;
}

function writeUint(target: Uint8Array, pos: number, value: number): number {
  if (value < 0x80) {
    target[pos] = value;
    return pos + 1;
  }
  if (value < 0x100) {
    target[pos] = 0xcc;
    target[pos + 1] = value;
    return pos + 2;
  }
  if (value < 0x10000) {
    target[pos] = 0xcd;
    target[pos + 1] = value >>> 8;
    target[pos + 2] = value;
    return pos + 3;
  }
  if (value < 0x1_0000_0000) {
    target[pos] = 0xce;
    writeU32(target, pos + 1, value);
    return pos + 5;
  }
  target[pos] = 0xcf;
  writeU32(target, pos + 1, Math.floor(value / 0x1_0000_0000));
  writeU32(target, pos + 5, value >>> 0);
  return pos + 9;
}

function strSize(byteLength: number): number {
  if (byteLength < 32) return 1 + byteLength;
  if (byteLength < 0x100) return 2 + byteLength;
  if (byteLength < 0x10000) return 3 + byteLength;
  return 5 + byteLength;
}

function writeStr(target: Uint8Array, pos: number, value: string, byteLength: number): number {
  let at = pos;
  if (byteLength < 32) {
    target[at++] = 0xa0 | byteLength;
  } else if (byteLength < 0x100) {
    target[at++] = 0xd9;
    target[at++] = byteLength;
  } else if (byteLength < 0x10000) {
    target[at++] = 0xda;
    target[at++] = byteLength >>> 8;
    target[at++] = byteLength;
  } else {
    target[at++] = 0xdb;
    writeU32(target, at, byteLength);
    at += 4;
  }
  if (byteLength === value.length) {
    // ASCII: one byte per UTF-16 unit, the common case for names.
    for (let i = 0; i < value.length; i++) target[at + i] = value.charCodeAt(i);
    return at + byteLength;
  }
  return writeUtf8(target, at, value, false);
}
