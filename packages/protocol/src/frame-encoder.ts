import { FRAME_PREFIX_BYTES, MAX_U32 } from './constants.js';
import type { ClientMessage, ServerMessage } from './messages.js';
import { withEncoded } from './msgpack.js';
import { encodePlainValue } from './msgpack-encoder.js';
import { utf8Length, writeUtf8 } from './utf8.js';

const EMPTY = new Uint8Array(0);

/**
 * Builds one frame in a single contiguous buffer: the 8-byte prefix, the MessagePack header,
 * then the payload. Header properties that are `undefined` are left out. The header is not
 * validated (it is typed); the frame-size limit is the caller's to check against
 * `welcome.limits.maxFrameBytes`. Throws ProtocolError BAD_MSGPACK when a value in the header
 * cannot be encoded, RangeError when a length does not fit in a u32.
 *
 * @example
 * ```ts
 * socket.write(encodeFrame({ t: 'ping', s: 7 }));
 * socket.write(encodeFrame({ t: 'emit', s: 8, g: 'logs', sig: 'line' }, encodePayload('hello')));
 * ```
 */
export function encodeFrame(header: ClientMessage | ServerMessage, payload: Uint8Array = EMPTY): Uint8Array {
  if (payload.length > MAX_U32)
    throw new RangeError(`payload of ${payload.length} bytes does not fit a frame`);
  return withEncoded(header, 'header', (bytes) => {
    if (bytes.length > MAX_U32) throw new RangeError(`header of ${bytes.length} bytes does not fit a frame`);
    const frame = new Uint8Array(FRAME_PREFIX_BYTES + bytes.length + payload.length);
    writeU32(frame, 0, bytes.length);
    writeU32(frame, 4, payload.length);
    frame.set(bytes, FRAME_PREFIX_BYTES);
    frame.set(payload, FRAME_PREFIX_BYTES + bytes.length);
    return frame;
  });
}

/*
 * encodeSignalFrame writes the MessagePack of one fixed shape by hand, because the daemon builds
 * one `sig` frame per emit and a generic encoder walks keys and grows buffers. The bytes are the
 * ones encodeFrame produces for { t: 'sig', seq, gseq, g, sig, from, r? } (same key order, same
 * smallest integer and string formats), which signal-frame.test.ts checks.
 *
 *   8x map(6|7) | a1 't' a3 "sig" | a3 "seq" uint | a4 "gseq" uint | a1 'g' str
 *               | a3 "sig" str | a4 "from" str | [a1 'r' c3]
 */
const KEY_T_SIG_KEY_SEQ = [0xa1, 0x74, 0xa3, 0x73, 0x69, 0x67, 0xa3, 0x73, 0x65, 0x71];
const KEY_GSEQ = [0xa4, 0x67, 0x73, 0x65, 0x71];
const KEY_G = [0xa1, 0x67];
const KEY_SIG = [0xa3, 0x73, 0x69, 0x67];
const KEY_FROM = [0xa4, 0x66, 0x72, 0x6f, 0x6d];
const KEY_R_TRUE = [0xa1, 0x72, 0xc3];
const FIXED_HEADER_BYTES =
  1 + KEY_T_SIG_KEY_SEQ.length + KEY_GSEQ.length + KEY_G.length + KEY_SIG.length + KEY_FROM.length;

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
  const groupBytes = utf8Length(group);
  const signalBytes = utf8Length(signal);
  const fromBytes = utf8Length(from);
  const headerLength =
    FIXED_HEADER_BYTES +
    uintSize(seq) +
    uintSize(gseq) +
    strSize(groupBytes) +
    strSize(signalBytes) +
    strSize(fromBytes) +
    (retained ? KEY_R_TRUE.length : 0);
  if (payload.length > MAX_U32)
    throw new RangeError(`payload of ${payload.length} bytes does not fit a frame`);
  const frame = new Uint8Array(FRAME_PREFIX_BYTES + headerLength + payload.length);
  writeU32(frame, 0, headerLength);
  writeU32(frame, 4, payload.length);
  let pos = FRAME_PREFIX_BYTES;
  frame[pos++] = retained ? 0x87 : 0x86;
  pos = writeBytes(frame, pos, KEY_T_SIG_KEY_SEQ);
  pos = writeUint(frame, pos, seq);
  pos = writeBytes(frame, pos, KEY_GSEQ);
  pos = writeUint(frame, pos, gseq);
  pos = writeBytes(frame, pos, KEY_G);
  pos = writeStr(frame, pos, group, groupBytes);
  pos = writeBytes(frame, pos, KEY_SIG);
  pos = writeStr(frame, pos, signal, signalBytes);
  pos = writeBytes(frame, pos, KEY_FROM);
  pos = writeStr(frame, pos, from, fromBytes);
  if (retained) pos = writeBytes(frame, pos, KEY_R_TRUE);
  frame.set(payload, pos);
  return frame;
}

// { t: 'emit', s, g, sig }: 84 | a1 't' a4 "emit" | a1 's' uint | a1 'g' str | a3 "sig" str
const EMIT_T_KEY_S = [0x84, 0xa1, 0x74, 0xa4, 0x65, 0x6d, 0x69, 0x74, 0xa1, 0x73];

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
 * the daemon's header fast path reads), in a buffer from `allocate`. `serial` must be a valid
 * serial (not checked, for speed).
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
): Uint8Array {
  return emitFrame(serial, group, signal, payload, payload.length, allocate);
}

/** encodeEmitFrame with the payload in the first `payloadLength` bytes of `source`. */
function emitFrame(
  serial: number,
  group: string,
  signal: string,
  source: Uint8Array,
  payloadLength: number,
  allocate: FrameAllocator,
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
  const headerLength = EMIT_T_KEY_S.length + uintSize(serial) + namesLength;
  const frame = allocate(FRAME_PREFIX_BYTES + headerLength + payloadLength);
  writeU32(frame, 0, headerLength);
  writeU32(frame, 4, payloadLength);
  let pos = writeBytes(frame, FRAME_PREFIX_BYTES, EMIT_T_KEY_S);
  pos = writeUint(frame, pos, serial);
  if (names !== undefined) {
    frame.set(names, pos);
    pos += namesLength;
  } else {
    pos = writeNames(frame, pos, group, groupBytes, signal, signalBytes);
  }
  frame.set(payloadLength === source.length ? source : source.subarray(0, payloadLength), pos);
  return frame;
}

/*
 * The `g` and `sig` fields of the emit header, kept encoded for the last (group, signal) pair:
 * an emitter mostly sends the same signal of the same group over and over, and comparing two
 * strings costs less than encoding them. The bytes are made on the second emit in a row with the
 * same pair, so an emitter that alternates does not allocate them each time.
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
): Uint8Array {
  // `undefined` is the empty payload (encodePayload's rule), not MessagePack nil.
  if (value === undefined) return encodeEmitFrame(serial, group, signal, EMPTY, allocate);
  const bytes = encodePlainValue(value);
  if (bytes !== undefined) return emitFrame(serial, group, signal, bytes, bytes.length, allocate);
  return withEncoded(value, 'payload', (bytes) => encodeEmitFrame(serial, group, signal, bytes, allocate));
}

// { t: 'ok', s, r: { seq, gseq, n } }: 83 | a1 't' a2 "ok" | a1 's' uint | a1 'r' 83
//   | a3 "seq" uint | a4 "gseq" uint | a1 'n' uint
const REPLY_T_OK_KEY_S = [0x83, 0xa1, 0x74, 0xa2, 0x6f, 0x6b, 0xa1, 0x73];
const REPLY_KEY_R_SEQ = [0xa1, 0x72, 0x83, 0xa3, 0x73, 0x65, 0x71];
const REPLY_KEY_N = [0xa1, 0x6e];
const FIXED_REPLY_BYTES =
  REPLY_T_OK_KEY_S.length + REPLY_KEY_R_SEQ.length + KEY_GSEQ.length + REPLY_KEY_N.length;

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
    FIXED_REPLY_BYTES + uintSize(serial) + uintSize(seq) + uintSize(gseq) + uintSize(recipients);
  const frame = new Uint8Array(FRAME_PREFIX_BYTES + headerLength);
  writeU32(frame, 0, headerLength);
  // Bytes 4..7, the payload length, stay 0.
  let pos = writeBytes(frame, FRAME_PREFIX_BYTES, REPLY_T_OK_KEY_S);
  pos = writeUint(frame, pos, serial);
  pos = writeBytes(frame, pos, REPLY_KEY_R_SEQ);
  pos = writeUint(frame, pos, seq);
  pos = writeBytes(frame, pos, KEY_GSEQ);
  pos = writeUint(frame, pos, gseq);
  pos = writeBytes(frame, pos, REPLY_KEY_N);
  writeUint(frame, pos, recipients);
  return frame;
}

/** Writes `value` as a big-endian u32 at `pos`. */
export function writeU32(bytes: Uint8Array, pos: number, value: number): void {
  bytes[pos] = value >>> 24;
  bytes[pos + 1] = value >>> 16;
  bytes[pos + 2] = value >>> 8;
  bytes[pos + 3] = value;
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
