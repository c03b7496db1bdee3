/*
 * Hand-written readers for the headers on the hot path: the `sig` the daemon writes with
 * encodeSignalFrame (read by every subscriber, once per delivery), the `emit` the SDK writes with
 * encodeEmitFrame or encodeFrame (read by the daemon, once per emit), and the `ok` to an emit the
 * daemon writes with encodeEmitReplyFrame (read by the emitter, once per emit). Each recognizes one
 * exact byte layout, declared in layouts.ts and shared with those encoders.
 *
 * Values: uint in positive fixint, uint8, uint16 or uint32 format, count a uint or a uint64 below
 * 2^53 (bus sequence numbers pass 2^32 on a busy, long-lived bus), and str a non-empty fixstr or
 * str8 of ASCII bytes (where every UTF-8 decoder agrees). Anything else (other key orders, a
 * uint64 serial, str16, non-ASCII names, trailing bytes, a serial of 0, ...) returns undefined,
 * and the caller falls back to the reference parser (reference/header-parser.ts), which gives the
 * answer or the error.
 *
 * Reference: parseClientHeaderGeneric and parseServerHeaderGeneric. For every input these readers
 * accept, the result is what the reference returns, key order included; on headers the encoders
 * write and on randomly mutated ones (fast/header-reader.test.ts, property tests).
 */

import type { EmitRequest, Reply, SignalMessage } from '../messages.js';
import * as layouts from './layouts.js';

// Module-local copies of the layouts: V8 folds a local const into the code that reads it, but
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

/** Names shorter than this are remembered (one per slot), so a repeated name is not rebuilt. */
const CACHED_NAME_BYTES = 64;

/**
 * The last name read in one position of a header: its bytes and its string. Scratch shared by
 * every call of its reader; re-entrancy: written and compared only inside readName, which calls
 * nothing that could re-enter a reader, and what a caller gets is the string (immutable), never
 * the bytes. So a stale slot can only cost a rebuild, never a wrong name.
 */
class NameSlot {
  readonly bytes = new Uint8Array(CACHED_NAME_BYTES);
  length = -1;
  value = '';
}

const SIG_GROUP = new NameSlot();
const SIG_SIGNAL = new NameSlot();
const SIG_FROM = new NameSlot();
const EMIT_GROUP = new NameSlot();
const EMIT_SIGNAL = new NameSlot();

// Reader state: the position after the last field read, or -1 once the layout did not match.
// Module-level so that reading allocates nothing. Re-entrancy: set at the start of each reader and
// used until it returns; a reader calls no user code and no other reader, and JS runs it to the end
// before anything else can, so no second read ever starts while one is in progress.
let pos = 0;

/**
 * The `sig` message of a header in encodeSignalFrame's layout, or undefined when the header is
 * anything else (the caller then uses the reference parser).
 */
export function readSignalHeader(header: Uint8Array): SignalMessage | undefined {
  const first = header[0];
  if (first !== SIG_MAP && first !== SIG_MAP_RETAINED) return undefined;
  pos = 1;
  if (!expect(header, SIG_T_AND_SEQ)) return undefined;
  const seq = readCount(header);
  if (pos < 0 || !expect(header, KEY_GSEQ)) return undefined;
  const gseq = readCount(header);
  if (pos < 0 || !expect(header, KEY_G)) return undefined;
  const g = readName(header, SIG_GROUP);
  if (g === undefined || !expect(header, KEY_SIG)) return undefined;
  const sig = readName(header, SIG_SIGNAL);
  if (sig === undefined || !expect(header, KEY_FROM)) return undefined;
  const from = readName(header, SIG_FROM);
  if (from === undefined) return undefined;
  if (first === SIG_MAP_RETAINED) {
    if (!expect(header, KEY_R_TRUE) || pos !== header.length) return undefined;
    return { t: 'sig', seq, gseq, g, sig, from, r: true };
  }
  if (pos !== header.length) return undefined;
  return { t: 'sig', seq, gseq, g, sig, from };
}

/**
 * The `emit` request of a header in the SDK's layout (`{ t, s, g, sig }` in that order, or a
 * publish's `{ t, s, g, sig, q: true }`), or undefined when the header is anything else (the
 * caller then uses the reference parser).
 */
export function readEmitHeader(header: Uint8Array): EmitRequest | undefined {
  const first = header[0];
  if (first !== EMIT_MAP && first !== EMIT_MAP_QUIET) return undefined;
  pos = 1;
  if (!expect(header, EMIT_T_AND_S)) return undefined;
  const s = readUint(header);
  // Serials are 1..MAX_SERIAL (0xffffffff): any uint up to uint32 but 0.
  if (pos < 0 || s === 0 || !expect(header, KEY_G)) return undefined;
  const g = readName(header, EMIT_GROUP);
  if (g === undefined || !expect(header, KEY_SIG)) return undefined;
  const sig = readName(header, EMIT_SIGNAL);
  if (sig === undefined) return undefined;
  if (first === EMIT_MAP_QUIET) {
    if (!expect(header, KEY_Q_TRUE) || pos !== header.length) return undefined;
    return { t: 'emit', s, g, sig, q: true };
  }
  if (pos !== header.length) return undefined;
  return { t: 'emit', s, g, sig };
}

/**
 * The `ok` answering an emit, in encodeEmitReplyFrame's layout (`{ t, s, r: { seq, gseq, n } }`
 * in that order), or undefined when the header is anything else (the caller then uses
 * the reference parser).
 */
export function readEmitReplyHeader(header: Uint8Array): Reply | undefined {
  if (header[0] !== EMIT_REPLY_MAP) return undefined;
  pos = 1;
  if (!expect(header, EMIT_REPLY_T_AND_S)) return undefined;
  const s = readUint(header);
  // Serials are 1..MAX_SERIAL (0xffffffff): any uint up to uint32 but 0.
  if (pos < 0 || s === 0 || !expect(header, EMIT_REPLY_R_AND_SEQ)) return undefined;
  const seq = readCount(header);
  if (pos < 0 || !expect(header, KEY_GSEQ)) return undefined;
  const gseq = readCount(header);
  if (pos < 0 || !expect(header, KEY_N)) return undefined;
  const n = readCount(header);
  if (pos !== header.length) return undefined;
  return { t: 'ok', s, r: { seq, gseq, n } };
}

/** Whether `bytes` come next (then skipped); false, with `pos` -1, otherwise. */
function expect(header: Uint8Array, bytes: readonly number[]): boolean {
  const at = pos;
  if (at < 0 || at + bytes.length > header.length) {
    pos = -1;
    return false;
  }
  for (let i = 0; i < bytes.length; i++) {
    if (header[at + i] !== bytes[i]) {
      pos = -1;
      return false;
    }
  }
  pos = at + bytes.length;
  return true;
}

/** An unsigned integer up to uint32; sets `pos` to -1 for any other format. */
function readUint(header: Uint8Array): number {
  const at = pos;
  const marker = header[at];
  if (marker === undefined) {
    pos = -1;
    return 0;
  }
  if (marker < 0x80) {
    pos = at + 1;
    return marker;
  }
  if (marker === 0xcc && at + 2 <= header.length) {
    pos = at + 2;
    return header[at + 1] as number;
  }
  if (marker === 0xcd && at + 3 <= header.length) {
    pos = at + 3;
    return ((header[at + 1] as number) << 8) | (header[at + 2] as number);
  }
  if (marker === 0xce && at + 5 <= header.length) {
    pos = at + 5;
    return (
      (header[at + 1] as number) * 0x100_0000 +
      (((header[at + 2] as number) << 16) | ((header[at + 3] as number) << 8) | (header[at + 4] as number))
    );
  }
  pos = -1;
  return 0;
}

/** An unsigned integer up to uint32, or a uint64 below 2^53; sets `pos` to -1 for anything else. */
function readCount(header: Uint8Array): number {
  const at = pos;
  if (header[at] !== 0xcf) return readUint(header);
  const high = header[at + 1];
  // Above 2^53 - 1 a double would round: the generic parser decides.
  if (high !== 0 || at + 9 > header.length || (header[at + 2] as number) > 0x1f) {
    pos = -1;
    return 0;
  }
  pos = at + 9;
  return (
    (((header[at + 2] as number) << 16) | ((header[at + 3] as number) << 8) | (header[at + 4] as number)) *
      0x1_0000_0000 +
    (header[at + 5] as number) * 0x100_0000 +
    (((header[at + 6] as number) << 16) | ((header[at + 7] as number) << 8) | (header[at + 8] as number))
  );
}

/** A non-empty ASCII string (fixstr or str8), or undefined with `pos` -1. */
function readName(header: Uint8Array, slot: NameSlot): string | undefined {
  let at = pos;
  const marker = header[at++];
  let length: number;
  if (marker === undefined) length = -1;
  else if ((marker & 0xe0) === 0xa0) length = marker & 0x1f;
  else if (marker === 0xd9 && at < header.length) length = header[at++] as number;
  else length = -1;
  if (length <= 0 || at + length > header.length) {
    pos = -1;
    return undefined;
  }
  const end = at + length;
  pos = end;
  if (length === slot.length) {
    const cached = slot.bytes;
    let same = true;
    for (let i = 0; i < length; i++) {
      if (cached[i] !== header[at + i]) {
        same = false;
        break;
      }
    }
    if (same) return slot.value;
  }
  let value = '';
  for (let i = at; i < end; i++) {
    const byte = header[i] as number;
    if (byte >= 0x80) {
      pos = -1;
      return undefined;
    }
    value += String.fromCharCode(byte);
  }
  if (length < CACHED_NAME_BYTES) {
    slot.bytes.set(header.subarray(at, end));
    slot.length = length;
    slot.value = value;
  }
  return value;
}
