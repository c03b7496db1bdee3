/*
 * A MessagePack decoder for input that {@link skipValue} has already checked: every declared
 * length and count fits in the bytes, nesting is bounded, no reserved byte. That check is what
 * makes this decoder safe on hostile bytes; this file only turns checked bytes into values.
 *
 * Why not @msgpack/msgpack's Decoder (still used to encode): every subscriber decodes one
 * payload per delivered signal, and that Decoder costs about 0.4 µs for `{ i, t, pad }` (a
 * DataView per call, a state stack, key cache lookups) where this one takes a fraction of it.
 * Reference: that Decoder. The values are the same as its values: nil → null, maps → plain
 * objects with string or number keys (`__proto__` refused), 64-bit integers → numbers (rounded
 * beyond 2^53), bin → views of the input (copies when the input is the shared read buffer,
 * read-buffer.ts), ext → the default ExtensionCodec (timestamps → Date,
 * others → ExtData), strings as that Decoder does for valid input (a leading U+FEFF kept; a lone
 * surrogate, written as its 3 bytes, back as itself); bytes that are not UTF-8 become U+FFFD.
 * fast/msgpack-decoder.test.ts compares the two on random values and on random bytes that pass
 * the structure check.
 */

import { ExtensionCodec } from '@msgpack/msgpack';
import { isTransient } from '../read-buffer.js';

/** A checked value that still cannot be decoded (a map key that is not a string or number, ...). */
export class MsgpackDecodeError extends Error {
  override readonly name = 'MsgpackDecodeError';
}

// Reader state (the input and the read position), module-level so that a call allocates nothing
// but its result. Re-entrancy: an extension decoder is user code (an application may register one
// on the default ExtensionCodec) and may decode a nested payload, so decodeChecked saves the state
// of the call it interrupts and puts it back. Nothing else in here runs user code.
let bytes: Uint8Array = new Uint8Array(0);
let pos = 0;
/**
 * Whether bin and ext values are copies instead of views: when the input lies in the shared read
 * buffer (read-buffer.ts), which the next socket read overwrites. Saved and restored with the rest.
 */
let copyBytes = false;

// Floats are read through an 8-byte scratch area rather than a DataView over each input.
// Re-entrancy: written and read within readFloat, which calls nothing.
const scratch = new ArrayBuffer(8);
const scratchBytes = new Uint8Array(scratch);
const scratchF32 = new Float32Array(scratch);
const scratchF64 = new Float64Array(scratch);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// A global in every runtime the package targets (Node, browsers); the package compiles without
// DOM or Node types, so the one thing used of it is declared here. `ignoreBOM`: a string that
// starts with U+FEFF keeps it (the default would drop it, and with it tell two keys apart no more).
declare const TextDecoder: new (
  label: string,
  options: { ignoreBOM: boolean },
) => { decode(input: Uint8Array): string };
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** Strings up to this many bytes are decoded by hand (TextDecoder's call costs more). */
const SHORT_STRING_BYTES = 200;

// Map keys recur in every message of a stream: the last key seen per (length, first, last byte)
// slot is kept, so a repeated key is the same string (and objects keep one hidden class).
// Re-entrancy: a slot is compared and filled within readKey, which calls no user code; a nested
// decode between two keys only changes which strings the slots hold, never a returned one.
const KEY_CACHE_BYTES = 16;
const KEY_SLOTS = 1024;
const keyBytes = new Uint8Array(KEY_SLOTS * KEY_CACHE_BYTES);
const keyLengths = new Int8Array(KEY_SLOTS).fill(-1);
const keyStrings: string[] = new Array<string>(KEY_SLOTS).fill('');

/**
 * Decodes the one value `input` holds. Precondition: `skipValue(input, 0) === input.length`.
 * Throws MsgpackDecodeError (a map key that is not a string or number, or `__proto__`) or the
 * ExtensionCodec's DecodeError (a malformed timestamp).
 */
export function decodeChecked(input: Uint8Array): unknown {
  // Outside any decode these are an empty array and 0 (so the caller's buffer is not kept alive
  // until the next call); inside an extension decoder, the state of the decode it interrupted.
  const outerBytes = bytes;
  const outerPos = pos;
  const outerCopy = copyBytes;
  bytes = input;
  pos = 0;
  copyBytes = isTransient(input);
  try {
    return readValue();
  } finally {
    bytes = outerBytes;
    pos = outerPos;
    copyBytes = outerCopy;
  }
}

function readValue(): unknown {
  const b = bytes[pos++] as number;
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b <= 0x8f) return readMap(b & 0x0f);
  if (b <= 0x9f) return readArray(b & 0x0f);
  if (b <= 0xbf) return readString(b & 0x1f);
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return readBinary(readLength(1));
    case 0xc5:
      return readBinary(readLength(2));
    case 0xc6:
      return readBinary(readLength(4));
    case 0xc7:
      return readExtension(readLength(1));
    case 0xc8:
      return readExtension(readLength(2));
    case 0xc9:
      return readExtension(readLength(4));
    case 0xca:
      return readFloat(4);
    case 0xcb:
      return readFloat(8);
    case 0xcc:
      return readLength(1);
    case 0xcd:
      return readLength(2);
    case 0xce:
      return readLength(4);
    case 0xcf: {
      const high = readLength(4);
      return high * 0x1_0000_0000 + readLength(4);
    }
    case 0xd0: {
      const v = readLength(1);
      return v < 0x80 ? v : v - 0x100;
    }
    case 0xd1: {
      const v = readLength(2);
      return v < 0x8000 ? v : v - 0x1_0000;
    }
    case 0xd2:
      return readLength(4) | 0;
    case 0xd3: {
      const high = readLength(4) | 0;
      return high * 0x1_0000_0000 + readLength(4);
    }
    case 0xd4:
      return readExtension(1);
    case 0xd5:
      return readExtension(2);
    case 0xd6:
      return readExtension(4);
    case 0xd7:
      return readExtension(8);
    case 0xd8:
      return readExtension(16);
    case 0xd9:
      return readString(readLength(1));
    case 0xda:
      return readString(readLength(2));
    case 0xdb:
      return readString(readLength(4));
    case 0xdc:
      return readArray(readLength(2));
    case 0xdd:
      return readArray(readLength(4));
    case 0xde:
      return readMap(readLength(2));
    case 0xdf:
      return readMap(readLength(4));
    default:
      // 0xc1: skipValue refuses it, so a caller broke the precondition.
      throw new MsgpackDecodeError(`reserved MessagePack byte 0x${b.toString(16)}`);
  }
}

/** A big-endian unsigned integer of `size` (1, 2 or 4) bytes. */
function readLength(size: 1 | 2 | 4): number {
  const at = pos;
  pos = at + size;
  if (size === 1) return bytes[at] as number;
  if (size === 2) return ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
  // `* 2 ** 24` instead of `<< 24`: a shift would make values >= 2^31 negative.
  return (
    (bytes[at] as number) * 0x100_0000 +
    (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number))
  );
}

function readFloat(size: 4 | 8): number {
  const at = pos;
  pos = at + size;
  for (let i = 0; i < size; i++) {
    scratchBytes[LITTLE_ENDIAN ? size - 1 - i : i] = bytes[at + i] as number;
  }
  return size === 4 ? (scratchF32[0] as number) : (scratchF64[0] as number);
}

function readString(length: number): string {
  const at = pos;
  pos = at + length;
  if (length > SHORT_STRING_BYTES) return utf8.decode(bytes.subarray(at, pos));
  let text = '';
  for (let i = at; i < pos; i++) {
    const c = bytes[i] as number;
    if (c >= 0x80) return text + decodeUtf8Js(i, pos);
    text += String.fromCharCode(c);
  }
  return text;
}

/**
 * UTF-8 of bytes[from, to) as @msgpack/msgpack decodes strings up to 200 bytes: a 3-byte sequence
 * is its code unit, lone surrogates included (what its encoder, and ours, write for a lone
 * surrogate in a short string), so such a string comes back as it was sent. A byte that starts no
 * sequence, or one whose continuation bytes are missing, comes out as U+FFFD, and what follows it
 * is read on its own.
 */
function decodeUtf8Js(from: number, to: number): string {
  let text = '';
  let i = from;
  while (i < to) {
    const b1 = bytes[i++] as number;
    let unit = 0xfffd;
    if (b1 < 0x80) {
      unit = b1;
    } else if (b1 >= 0xc0 && b1 < 0xe0) {
      if (continues(i, 1, to)) unit = ((b1 & 0x1f) << 6) | ((bytes[i++] as number) & 0x3f);
    } else if (b1 >= 0xe0 && b1 < 0xf0) {
      if (continues(i, 2, to)) {
        unit = ((b1 & 0x0f) << 12) | (((bytes[i] as number) & 0x3f) << 6) | ((bytes[i + 1] as number) & 0x3f);
        i += 2;
      }
    } else if (b1 >= 0xf0 && b1 < 0xf8 && continues(i, 3, to)) {
      const point =
        ((b1 & 0x07) << 18) |
        (((bytes[i] as number) & 0x3f) << 12) |
        (((bytes[i + 1] as number) & 0x3f) << 6) |
        ((bytes[i + 2] as number) & 0x3f);
      i += 3;
      if (point > 0xffff) {
        const offset = point - 0x10000;
        text += String.fromCharCode(0xd800 | ((offset >>> 10) & 0x3ff), 0xdc00 | (offset & 0x3ff));
        continue;
      }
      unit = point;
    }
    text += String.fromCharCode(unit);
  }
  return text;
}

/** Whether `count` continuation bytes (top two bits 1 and 0) follow at `at`, before `to`. */
function continues(at: number, count: number, to: number): boolean {
  if (at + count > to) return false;
  for (let k = 0; k < count; k++) if (((bytes[at + k] as number) & 0xc0) !== 0x80) return false;
  return true;
}

/** A map key: a cached string for short string keys, else any value (checked by the caller). */
function readKey(): unknown {
  const b = bytes[pos] as number;
  const length = b - 0xa0;
  if (length < 1 || length > KEY_CACHE_BYTES - 1) return readValue();
  const at = pos + 1;
  const slot =
    (length * 31 + (bytes[at] as number) * 7 + (bytes[at + length - 1] as number)) & (KEY_SLOTS - 1);
  const base = slot * KEY_CACHE_BYTES;
  if (keyLengths[slot] === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (keyBytes[base + i] !== bytes[at + i]) {
        same = false;
        break;
      }
    }
    if (same) {
      pos = at + length;
      return keyStrings[slot];
    }
  }
  pos = at;
  const key = readString(length);
  keyBytes.set(bytes.subarray(at, at + length), base);
  keyLengths[slot] = length;
  keyStrings[slot] = key;
  return key;
}

function readMap(size: number): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  for (let i = 0; i < size; i++) {
    const key = readKey();
    if (typeof key !== 'string' && typeof key !== 'number') {
      throw new MsgpackDecodeError(`The type of key must be string or number but ${typeof key}`);
    }
    if (key === '__proto__') throw new MsgpackDecodeError('The key __proto__ is not allowed');
    map[key] = readValue();
  }
  return map;
}

function readArray(size: number): unknown[] {
  const array = new Array<unknown>(size);
  for (let i = 0; i < size; i++) array[i] = readValue();
  return array;
}

function readBinary(length: number): Uint8Array {
  const at = pos;
  pos = at + length;
  return copyBytes ? bytes.slice(at, pos) : bytes.subarray(at, pos);
}

function readExtension(length: number): unknown {
  const type = ((bytes[pos] as number) << 24) >> 24;
  const at = pos + 1;
  pos = at + length;
  // An extension decoder (user code) may keep the bytes it is given.
  return ExtensionCodec.defaultCodec.decode(
    copyBytes ? bytes.slice(at, pos) : bytes.subarray(at, pos),
    type,
    undefined,
  );
}
