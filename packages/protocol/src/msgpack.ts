/*
 * Shared @msgpack/msgpack instances. Creating an Encoder allocates its 2 KiB buffer and a
 * Decoder its stack pool, so both are made once and reused (calls are synchronous).
 */

import { Decoder, Encoder } from '@msgpack/msgpack';
import { ErrorCode, ProtocolError } from './errors.js';
import type { HeaderMap } from './fields.js';
import { findSerial, scanValue, startsWithMap } from './msgpack-scan.js';

// `undefined` properties are left out, as JSON.stringify does: an optional field set to
// undefined must not reach the wire as nil, and `{ a: undefined }` payloads decode as `{}`.
const ENCODER_OPTIONS = { ignoreUndefined: true } as const;

// An Encoder keeps its buffer at the largest size it ever needed. Past this size (bytes) it is
// replaced after use, so one big payload does not pin megabytes for the life of the process.
const MAX_RETAINED_ENCODER_BYTES = 65_536;

let encoder = new Encoder(ENCODER_OPTIONS);

/**
 * Encodes `value` and hands the bytes to `use` while they are valid (they live in the shared
 * encoder's buffer and are overwritten by the next encode).
 */
export function withEncoded<TResult>(
  value: unknown,
  what: string,
  use: (bytes: Uint8Array) => TResult,
): TResult {
  let bytes: Uint8Array;
  try {
    bytes = encoder.encodeSharedRef(value);
  } catch (cause) {
    throw new ProtocolError(ErrorCode.BAD_MSGPACK, `cannot encode ${what}: ${describe(cause)}`, { cause });
  }
  try {
    return use(bytes);
  } finally {
    if (bytes.length > MAX_RETAINED_ENCODER_BYTES) encoder = new Encoder(ENCODER_OPTIONS);
  }
}

// Decoders by size class: decoderFor(n) is bounded by the smallest power of two >= n, so no
// string, binary, array, map or extension it accepts is longer than about twice the input.
// The scan in msgpack-scan.ts already guarantees that; these bounds keep the Decoder safe on its
// own. Classes start at 2^6 so tiny headers share one instance; 33 classes cover u32 lengths.
const MIN_SIZE_CLASS = 6;
const decoders: (Decoder | undefined)[] = [];

/** The shared Decoder whose length limits are the size class of `byteLength`. */
export function decoderFor(byteLength: number): Decoder {
  const sizeClass = Math.max(MIN_SIZE_CLASS, 32 - Math.clz32(Math.max(byteLength, 1) - 1));
  let decoder = decoders[sizeClass];
  if (decoder === undefined) {
    const max = 2 ** sizeClass;
    decoder = new Decoder({
      maxStrLength: max,
      maxBinLength: max,
      maxArrayLength: max,
      maxMapLength: max,
      maxExtLength: max,
    });
    decoders[sizeClass] = decoder;
  }
  return decoder;
}

/**
 * Decodes untrusted MessagePack: throws only ProtocolError BAD_MSGPACK (with the serial read by
 * {@link findSerial} when `isHeader`).
 */
export function decodeUntrusted(bytes: Uint8Array, what: string, isHeader = false): unknown {
  const problem = scanValue(bytes);
  if (problem !== undefined) throw badMsgpack(bytes, `${what}: ${problem}`, isHeader);
  try {
    return decoderFor(bytes.length).decode(bytes);
  } catch (cause) {
    throw badMsgpack(bytes, `${what}: ${describe(cause)}`, isHeader, cause);
  }
}

/**
 * Decodes a header: a MessagePack map. Throws only ProtocolError BAD_MSGPACK, with the serial
 * when one can be read before the damage.
 */
export function decodeHeaderMap(header: Uint8Array): HeaderMap {
  if (!startsWithMap(header)) throw badMsgpack(header, 'header: not a MessagePack map', false);
  // A map-typed first byte decodes to a plain object (the Decoder rejects keys other than
  // strings and numbers, and the key __proto__).
  return decodeUntrusted(header, 'header', true) as HeaderMap;
}

function badMsgpack(bytes: Uint8Array, message: string, isHeader: boolean, cause?: unknown): ProtocolError {
  const serial = isHeader ? findSerial(bytes) : undefined;
  const options: { serial?: number; cause?: unknown } = {};
  if (serial !== undefined) options.serial = serial;
  if (cause !== undefined) options.cause = cause;
  return new ProtocolError(ErrorCode.BAD_MSGPACK, message, options);
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
