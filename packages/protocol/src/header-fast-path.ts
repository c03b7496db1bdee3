/*
 * Hand-written readers for the headers on the hot path: the `sig` the daemon writes with
 * encodeSignalFrame (read by every subscriber, once per delivery), the `emit` the SDK writes with
 * encodeFrame (read by the daemon, once per emit), and the `ok` to an emit the daemon writes with
 * encodeEmitReplyFrame (read by the emitter, once per emit). Each recognizes one exact byte layout:
 *
 *   sig:  map(6|7) | a1 't' a3 "sig" | a3 "seq" count | a4 "gseq" count | a1 'g' str
 *                  | a3 "sig" str | a4 "from" str | [a1 'r' c3]
 *   emit: map(4)   | a1 't' a4 "emit" | a1 's' uint | a1 'g' str | a3 "sig" str
 *   ok:   map(3)   | a1 't' a2 "ok" | a1 's' uint | a1 'r' map(3)
 *                  | a3 "seq" count | a4 "gseq" count | a1 'n' count
 *
 * with uint in positive fixint, uint8, uint16 or uint32 format, count a uint or a uint64 below
 * 2^53 (bus sequence numbers pass 2^32 on a busy, long-lived bus), and str a non-empty fixstr or
 * str8 of ASCII bytes (where every UTF-8 decoder agrees). Anything else (other key orders, a
 * uint64 serial, str16, non-ASCII names, trailing bytes, a serial of 0, ...) returns undefined,
 * and the caller falls back to the generic parser, which gives the answer or the error. So for
 * every input these readers accept, the result is what the generic parser returns
 * (header-fast-path.test.ts).
 */

import type { EmitRequest, Reply, SignalMessage } from './messages.js';

// Keys, as fixstr: the bytes after the map marker, in encodeSignalFrame's order.
const SIG_T_AND_SEQ = [0xa1, 0x74, 0xa3, 0x73, 0x69, 0x67, 0xa3, 0x73, 0x65, 0x71]; // 't' 'sig' 'seq'
const KEY_GSEQ = [0xa4, 0x67, 0x73, 0x65, 0x71];
const KEY_G = [0xa1, 0x67];
const KEY_SIG = [0xa3, 0x73, 0x69, 0x67];
const KEY_FROM = [0xa4, 0x66, 0x72, 0x6f, 0x6d];
const KEY_R_TRUE = [0xa1, 0x72, 0xc3];
const EMIT_T_AND_S = [0xa1, 0x74, 0xa4, 0x65, 0x6d, 0x69, 0x74, 0xa1, 0x73]; // 't' 'emit' 's'
const OK_T_AND_S = [0xa1, 0x74, 0xa2, 0x6f, 0x6b, 0xa1, 0x73]; // 't' 'ok' 's'
const OK_R_AND_SEQ = [0xa1, 0x72, 0x83, 0xa3, 0x73, 0x65, 0x71]; // 'r' map(3) 'seq'
const KEY_N = [0xa1, 0x6e];

/** Names shorter than this are remembered (one per slot), so a repeated name is not rebuilt. */
const CACHED_NAME_BYTES = 64;

/** The last name read in one position of a header: its bytes and its string. */
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
// Module-level (the readers are synchronous and not re-entrant) so that reading allocates nothing.
let pos = 0;

/**
 * The `sig` message of a header in encodeSignalFrame's layout, or undefined when the header is
 * anything else (the caller then uses parseServerHeader).
 */
export function readSignalHeader(header: Uint8Array): SignalMessage | undefined {
  const first = header[0];
  if (first !== 0x86 && first !== 0x87) return undefined;
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
  if (first === 0x87) {
    if (!expect(header, KEY_R_TRUE) || pos !== header.length) return undefined;
    return { t: 'sig', seq, gseq, g, sig, from, r: true };
  }
  if (pos !== header.length) return undefined;
  return { t: 'sig', seq, gseq, g, sig, from };
}

/**
 * The `emit` request of a header in the SDK's layout (`{ t, s, g, sig }` in that order), or
 * undefined when the header is anything else (the caller then uses parseClientHeader).
 */
export function readEmitHeader(header: Uint8Array): EmitRequest | undefined {
  if (header[0] !== 0x84) return undefined;
  pos = 1;
  if (!expect(header, EMIT_T_AND_S)) return undefined;
  const s = readUint(header);
  // Serials are 1..MAX_SERIAL (0xffffffff): any uint up to uint32 but 0.
  if (pos < 0 || s === 0 || !expect(header, KEY_G)) return undefined;
  const g = readName(header, EMIT_GROUP);
  if (g === undefined || !expect(header, KEY_SIG)) return undefined;
  const sig = readName(header, EMIT_SIGNAL);
  if (sig === undefined || pos !== header.length) return undefined;
  return { t: 'emit', s, g, sig };
}

/**
 * The `ok` answering an emit, in encodeEmitReplyFrame's layout (`{ t, s, r: { seq, gseq, n } }`
 * in that order), or undefined when the header is anything else (the caller then uses
 * parseServerHeader).
 */
export function readEmitReplyHeader(header: Uint8Array): Reply | undefined {
  if (header[0] !== 0x83) return undefined;
  pos = 1;
  if (!expect(header, OK_T_AND_S)) return undefined;
  const s = readUint(header);
  // Serials are 1..MAX_SERIAL (0xffffffff): any uint up to uint32 but 0.
  if (pos < 0 || s === 0 || !expect(header, OK_R_AND_SEQ)) return undefined;
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
