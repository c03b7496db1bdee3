/*
 * A MessagePack structure check that allocates nothing. It runs before @msgpack/msgpack sees
 * untrusted bytes, because that Decoder trusts declared lengths: an array32 header claiming
 * 2^32-1 elements makes it call `new Array(2^32-1)` before noticing the bytes are missing, and
 * N nested one-element arrays make it build N stack entries. After a successful scan every
 * declared count fits in the bytes that follow it (a value takes at least one byte, a map entry
 * two) and nesting is bounded, so decoding allocates O(input length).
 */

import { MAX_NESTING_DEPTH } from './constants.js';

/** Why a scan failed (negative so it can share the return slot of a position). */
export const ScanFailure = {
  TRUNCATED: -1,
  RESERVED_BYTE: -2,
  TOO_DEEP: -3,
  COUNT_EXCEEDS_INPUT: -4,
} as const;
export type ScanFailure = (typeof ScanFailure)[keyof typeof ScanFailure];

const FAILURE_TEXT: Record<ScanFailure, string> = {
  [ScanFailure.TRUNCATED]: 'truncated MessagePack value',
  [ScanFailure.RESERVED_BYTE]: 'reserved MessagePack byte 0xc1',
  [ScanFailure.TOO_DEEP]: `MessagePack nesting deeper than ${MAX_NESTING_DEPTH}`,
  [ScanFailure.COUNT_EXCEEDS_INPUT]: 'MessagePack array or map declares more elements than bytes remain',
};

/** Human text for a scan failure. */
export function scanFailureText(failure: ScanFailure): string {
  return FAILURE_TEXT[failure];
}

// Values still expected by each open container, innermost last; Float64Array because a map32 can
// expect 2 * (2^32 - 1) values. Shared by every scan, so that scanning allocates nothing.
// Re-entrancy: used from the start of skipValue to its return, and skipValue calls no user code
// and no other scan, so no scan can start while one is in progress.
const pending = new Float64Array(MAX_NESTING_DEPTH);

/**
 * Skips one MessagePack value starting at `start`.
 * Returns the position after it, or a negative {@link ScanFailure}.
 */
export function skipValue(bytes: Uint8Array, start: number): number {
  const end = bytes.length;
  let pos = start;
  let depth = 0; // open non-empty containers
  while (true) {
    if (pos >= end) return ScanFailure.TRUNCATED;
    const b = bytes[pos++]!;
    let skip = 0; // payload bytes after the type byte (and after its length field, once read)
    let items = 0; // values a container holds (2 per map entry)
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) {
      // fixint, negative fixint, nil, false, true: the type byte is the whole value
    } else if (b <= 0x8f) {
      items = (b & 0x0f) * 2;
    } else if (b <= 0x9f) {
      items = b & 0x0f;
    } else if (b <= 0xbf) {
      skip = b & 0x1f;
    } else {
      switch (b) {
        case 0xc1:
          return ScanFailure.RESERVED_BYTE;
        case 0xcc:
        case 0xd0:
          skip = 1;
          break;
        case 0xcd:
        case 0xd1:
          skip = 2;
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          skip = 4;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          skip = 8;
          break;
        case 0xd4:
          skip = 2;
          break;
        case 0xd5:
          skip = 3;
          break;
        case 0xd6:
          skip = 5;
          break;
        case 0xd7:
          skip = 9;
          break;
        case 0xd8:
          skip = 17;
          break;
        case 0xc4:
        case 0xd9:
          if (end - pos < 1) return ScanFailure.TRUNCATED;
          skip = bytes[pos]!;
          pos += 1;
          break;
        case 0xc5:
        case 0xda:
          if (end - pos < 2) return ScanFailure.TRUNCATED;
          skip = readU16(bytes, pos);
          pos += 2;
          break;
        case 0xc6:
        case 0xdb:
          if (end - pos < 4) return ScanFailure.TRUNCATED;
          skip = readU32(bytes, pos);
          pos += 4;
          break;
        case 0xc7: // ext 8: length, type, data
          if (end - pos < 1) return ScanFailure.TRUNCATED;
          skip = bytes[pos]! + 1;
          pos += 1;
          break;
        case 0xc8:
          if (end - pos < 2) return ScanFailure.TRUNCATED;
          skip = readU16(bytes, pos) + 1;
          pos += 2;
          break;
        case 0xc9:
          if (end - pos < 4) return ScanFailure.TRUNCATED;
          skip = readU32(bytes, pos) + 1;
          pos += 4;
          break;
        case 0xdc:
          if (end - pos < 2) return ScanFailure.TRUNCATED;
          items = readU16(bytes, pos);
          pos += 2;
          break;
        case 0xdd:
          if (end - pos < 4) return ScanFailure.TRUNCATED;
          items = readU32(bytes, pos);
          pos += 4;
          break;
        case 0xde:
          if (end - pos < 2) return ScanFailure.TRUNCATED;
          items = readU16(bytes, pos) * 2;
          pos += 2;
          break;
        default: // 0xdf, the only byte left
          if (end - pos < 4) return ScanFailure.TRUNCATED;
          items = readU32(bytes, pos) * 2;
          pos += 4;
          break;
      }
    }
    if (items > 0) {
      // Each value takes at least one byte: this is what makes a hostile count harmless.
      if (items > end - pos) return ScanFailure.COUNT_EXCEEDS_INPUT;
      if (depth === MAX_NESTING_DEPTH) return ScanFailure.TOO_DEEP;
      pending[depth++] = items;
      continue;
    }
    if (skip > end - pos) return ScanFailure.TRUNCATED;
    pos += skip;
    // One value done: close every container it completes.
    while (depth > 0) {
      const left = pending[depth - 1]! - 1;
      if (left > 0) {
        pending[depth - 1] = left;
        break;
      }
      depth--;
    }
    if (depth === 0) return pos;
  }
}

/**
 * Checks that `bytes` hold exactly one well-formed MessagePack value within the nesting bound.
 * Returns undefined when they do, else why not.
 */
export function scanValue(bytes: Uint8Array): string | undefined {
  const end = skipValue(bytes, 0);
  if (end < 0) return scanFailureText(end as ScanFailure);
  if (end !== bytes.length) return `${bytes.length - end} extra byte(s) after the MessagePack value`;
  return undefined;
}

/** Whether the first byte of `bytes` starts a MessagePack map. */
export function startsWithMap(bytes: Uint8Array): boolean {
  const b = bytes[0];
  return b !== undefined && ((b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf);
}

/**
 * Best-effort read of the integer serial `s` of a header that failed to decode, so the error can
 * still name the request: walks the top-level map entries in order until `s` or the first
 * malformed entry. Returns undefined when no usable serial precedes the damage.
 */
export function findSerial(bytes: Uint8Array): number | undefined {
  const b = bytes[0];
  let entries: number;
  let pos: number;
  if (b === undefined) return undefined;
  if (b >= 0x80 && b <= 0x8f) {
    entries = b & 0x0f;
    pos = 1;
  } else if (b === 0xde && bytes.length >= 3) {
    entries = readU16(bytes, 1);
    pos = 3;
  } else if (b === 0xdf && bytes.length >= 5) {
    entries = readU32(bytes, 1);
    pos = 5;
  } else {
    return undefined;
  }
  for (let i = 0; i < entries; i++) {
    // The key "s" is the fixstr 0xa1 0x73 in every encoder we know of; other spellings
    // (str8 "s") are legal but not worth a slower path on an error path.
    const isSerialKey = bytes[pos] === 0xa1 && bytes[pos + 1] === 0x73;
    const valueAt = skipValue(bytes, pos);
    if (valueAt < 0) return undefined;
    if (isSerialKey) return readUnsigned(bytes, valueAt);
    pos = skipValue(bytes, valueAt);
    if (pos < 0) return undefined;
  }
  return undefined;
}

// A non-negative integer in 1..2^32-1 at `pos` (the serial range), else undefined.
function readUnsigned(bytes: Uint8Array, pos: number): number | undefined {
  const b = bytes[pos];
  if (b === undefined) return undefined;
  let value: number;
  if (b <= 0x7f) value = b;
  else if (b === 0xcc && pos + 1 < bytes.length) value = bytes[pos + 1]!;
  else if (b === 0xcd && pos + 2 < bytes.length) value = readU16(bytes, pos + 1);
  else if (b === 0xce && pos + 4 < bytes.length) value = readU32(bytes, pos + 1);
  else return undefined;
  return value >= 1 ? value : undefined;
}

/** Big-endian u16 at `pos` (caller checked bounds). */
export function readU16(bytes: Uint8Array, pos: number): number {
  return (bytes[pos]! << 8) | bytes[pos + 1]!;
}

/** Big-endian u32 at `pos` (caller checked bounds). */
export function readU32(bytes: Uint8Array, pos: number): number {
  // `* 2 ** 24` instead of `<< 24`: a shift would make values >= 2^31 negative.
  return bytes[pos]! * 0x100_0000 + ((bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!);
}
