/*
 * A MessagePack encoder for the values apps emit, written by hand: byte for byte what the shared
 * @msgpack/msgpack Encoder (ignoreUndefined) writes, for plain objects and arrays, strings,
 * numbers, booleans, null and Uint8Arrays. Why: it runs once per emit, and the generic encoder
 * spends most of its time on a DataView call and a bounds check per byte, where this one makes
 * room once per value (about 0.3 us less per emit of { i, t, pad }). Anything else (a Date, a Map,
 * a class instance, another typed array, a bigint, a function, a string over 50 units with a lone
 * surrogate (the generic encoder's TextEncoder writes U+FFFD for it), nesting deeper than the
 * generic encoder allows, a payload over MAX_SCRATCH_BYTES, a getter that throws) makes it give
 * up, and the generic encoder decides: the same bytes, or the same error.
 *
 * Reference: the shared @msgpack/msgpack Encoder (withEncoded, msgpack.ts), through encodePayload.
 * fast/frame-encoder.test.ts compares the two on random values and at every format edge, through
 * encodeEmitValueFrame.
 */

import { isHighSurrogate, isLowSurrogate, isSurrogate, writeUtf8 } from './utf8.js';

const MAX_SCRATCH_BYTES = 65_536;
// @msgpack/msgpack's DEFAULT_MAX_DEPTH: deeper, the generic encoder throws.
const MAX_ENCODER_DEPTH = 100;
// Above this many UTF-16 units, @msgpack/msgpack encodes strings with TextEncoder.
const TEXT_ENCODER_THRESHOLD = 50;

/*
 * Scratch shared by every encode of the process, so that encoding allocates nothing: the buffer
 * (grown up to MAX_SCRATCH_BYTES, never shrunk), a view of it, and the write position.
 *
 * Re-entrancy: the scratch is in use from the start of encodePlainValue until the caller calls
 * releasePlainValue, after copying the bytes. Both ends run user code: writing reads the value's
 * getters and proxies, and the caller copies into a buffer from the transport's `allocate`. Any
 * of them may emit, and so call encodePlainValue again: while `inUse`, that call declines
 * (returns undefined) and its caller takes the generic encoder, which writes elsewhere.
 */
let scratch = new Uint8Array(1024);
let scratchView = new DataView(scratch.buffer);
let end = 0;
let inUse = false;

/**
 * The MessagePack bytes of `value`, or undefined when the generic encoder must decide. The bytes
 * are a view of the shared scratch, lent: the caller copies them, then calls releasePlainValue
 * (in a `finally`), and until then every other call declines.
 */
export function encodePlainValue(value: unknown): Uint8Array | undefined {
  if (inUse) return undefined;
  inUse = true;
  end = 0;
  let written: boolean;
  try {
    written = writeValue(value, 1);
  } catch {
    // A getter or a proxy threw: the generic encoder runs it again and reports it as it does.
    written = false;
  }
  if (written) return scratch.subarray(0, end);
  inUse = false;
  return undefined;
}

/** Ends the loan of the bytes encodePlainValue returned: the scratch may be written again. */
export function releasePlainValue(): void {
  inUse = false;
}

function writeValue(value: unknown, depth: number): boolean {
  if (depth > MAX_ENCODER_DEPTH) return false;
  if (value === null || value === undefined) {
    if (!room(1)) return false;
    scratch[end++] = 0xc0;
    return true;
  }
  switch (typeof value) {
    case 'number':
      return writeNumber(value);
    case 'string':
      return writeString(value);
    case 'boolean':
      if (!room(1)) return false;
      scratch[end++] = value ? 0xc3 : 0xc2;
      return true;
    case 'object':
      break;
    default:
      return false;
  }
  if (value instanceof Uint8Array) return writeBinary(value);
  // Only what is plainly an array or plainly an object: anything in between (an array with another
  // prototype, an object that inherits from Array.prototype) is left to the generic encoder.
  const proto: unknown = Object.getPrototypeOf(value);
  if (Array.isArray(value)) return proto === Array.prototype && writeArray(value, depth);
  if (proto === Object.prototype || proto === null) return writeMap(value as Record<string, unknown>, depth);
  return false;
}

/** Makes room for `bytes` more bytes at `end`; false past MAX_SCRATCH_BYTES. */
function room(bytes: number): boolean {
  const needed = end + bytes;
  if (needed <= scratch.length) return true;
  if (needed > MAX_SCRATCH_BYTES) return false;
  let size = scratch.length * 2;
  while (size < needed) size *= 2;
  const grown = new Uint8Array(Math.min(size, MAX_SCRATCH_BYTES));
  grown.set(scratch.subarray(0, end));
  scratch = grown;
  scratchView = new DataView(grown.buffer);
  return true;
}

// Encoder#encodeNumber without forceIntegerToFloat or useBigInt64: the smallest integer format
// for a safe integer (uint64/int64 above 32 bits), float64 for anything else (-0 is integer 0).
function writeNumber(value: number): boolean {
  if (!room(9)) return false;
  if (!Number.isSafeInteger(value)) {
    scratch[end] = 0xcb;
    scratchView.setFloat64(end + 1, value);
    end += 9;
  } else if (value >= 0) {
    if (value < 0x80) {
      scratch[end++] = value;
    } else if (value < 0x100) {
      scratch[end] = 0xcc;
      scratch[end + 1] = value;
      end += 2;
    } else if (value < 0x10000) {
      scratch[end] = 0xcd;
      scratchView.setUint16(end + 1, value);
      end += 3;
    } else if (value < 0x1_0000_0000) {
      scratch[end] = 0xce;
      scratchView.setUint32(end + 1, value);
      end += 5;
    } else {
      scratch[end] = 0xcf;
      scratchView.setUint32(end + 1, value / 0x1_0000_0000);
      scratchView.setUint32(end + 5, value);
      end += 9;
    }
  } else if (value >= -0x20) {
    scratch[end++] = 0xe0 | (value + 0x20);
  } else if (value >= -0x80) {
    scratch[end] = 0xd0;
    scratchView.setInt8(end + 1, value);
    end += 2;
  } else if (value >= -0x8000) {
    scratch[end] = 0xd1;
    scratchView.setInt16(end + 1, value);
    end += 3;
  } else if (value >= -0x8000_0000) {
    scratch[end] = 0xd2;
    scratchView.setInt32(end + 1, value);
    end += 5;
  } else {
    scratch[end] = 0xd3;
    scratchView.setUint32(end + 1, Math.floor(value / 0x1_0000_0000));
    scratchView.setUint32(end + 5, value);
    end += 9;
  }
  return true;
}

// Encoder#encodeString: the UTF-8 byte count first (a surrogate pair is 4 bytes, a lone
// surrogate 3), then the smallest str header, then the bytes as utf8EncodeJs writes them.
function writeString(value: string): boolean {
  const units = value.length;
  let byteLength = units;
  for (let i = 0; i < units; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) byteLength += 1;
    else if (isHighSurrogate(unit) && isLowSurrogate(value.charCodeAt(i + 1))) {
      byteLength += 2; // 4 bytes for 2 units
      i++;
    } else if (units > TEXT_ENCODER_THRESHOLD && isSurrogate(unit)) {
      return false; // a lone surrogate, which TextEncoder would write as U+FFFD
    } else byteLength += 2;
  }
  if (!room(5 + byteLength)) return false;
  if (byteLength < 32) {
    scratch[end++] = 0xa0 | byteLength;
  } else if (byteLength < 0x100) {
    scratch[end] = 0xd9;
    scratch[end + 1] = byteLength;
    end += 2;
  } else if (byteLength < 0x10000) {
    scratch[end] = 0xda;
    scratchView.setUint16(end + 1, byteLength);
    end += 3;
  } else {
    scratch[end] = 0xdb;
    scratchView.setUint32(end + 1, byteLength);
    end += 5;
  }
  if (byteLength === units) {
    for (let i = 0; i < units; i++) scratch[end + i] = value.charCodeAt(i);
    end += units;
  } else {
    end = writeUtf8(scratch, end, value, true);
  }
  return true;
}

// Encoder#encodeBinary: bin 8/16/32 and the bytes.
function writeBinary(value: Uint8Array): boolean {
  const size = value.length;
  if (!room(5 + size)) return false;
  if (size < 0x100) {
    scratch[end] = 0xc4;
    scratch[end + 1] = size;
    end += 2;
  } else if (size < 0x10000) {
    scratch[end] = 0xc5;
    scratchView.setUint16(end + 1, size);
    end += 3;
  } else {
    scratch[end] = 0xc6;
    scratchView.setUint32(end + 1, size);
    end += 5;
  }
  scratch.set(value, end);
  end += size;
  return true;
}

// Encoder#encodeArray: fixarray / array 16 / array 32, then each item (a hole is nil).
function writeArray(value: readonly unknown[], depth: number): boolean {
  const size = value.length;
  if (!writeCollectionHeader(size, 0x90, 0xdc)) return false;
  for (let i = 0; i < size; i++) {
    if (!writeValue(value[i], depth + 1)) return false;
  }
  return true;
}

// Encoder#encodeMap with ignoreUndefined: the own enumerable string keys whose value is not
// undefined (counted first, then written: each value is read twice, as the generic encoder does).
// for-in with an own-property check visits the keys of Object.keys in the same order, and V8 runs
// it from the object's enumeration cache, without the array Object.keys allocates.
function writeMap(value: Record<string, unknown>, depth: number): boolean {
  let size = 0;
  for (const key in value) {
    if (hasOwn.call(value, key) && value[key] !== undefined) size++;
  }
  if (!writeCollectionHeader(size, 0x80, 0xde)) return false;
  let written = 0;
  for (const key in value) {
    if (!hasOwn.call(value, key)) continue;
    const item = value[key];
    if (item === undefined) continue;
    if (!writeString(key) || !writeValue(item, depth + 1)) return false;
    written++;
  }
  // A getter that added or removed keys meanwhile: the header would not match what follows.
  return written === size;
}

const hasOwn = Object.prototype.hasOwnProperty;

/** A fixarray/fixmap marker (`fix | size`) below 16, else the 16- or 32-bit form (`marker16`, +1). */
function writeCollectionHeader(size: number, fix: number, marker16: number): boolean {
  if (!room(5)) return false;
  if (size < 16) {
    scratch[end++] = fix | size;
  } else if (size < 0x10000) {
    scratch[end] = marker16;
    scratchView.setUint16(end + 1, size);
    end += 3;
  } else {
    scratch[end] = marker16 + 1;
    scratchView.setUint32(end + 1, size);
    end += 5;
  }
  return true;
}
