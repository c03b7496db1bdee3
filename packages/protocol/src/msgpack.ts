/*
 * Encoding through one shared @msgpack/msgpack Encoder (creating one allocates its 2 KiB buffer,
 * so it is made once and reused: calls are synchronous); decoding of untrusted bytes as a
 * structure check (msgpack-scan.ts) followed by our decoder (fast/msgpack-decoder.ts).
 */

import { Encoder } from '@msgpack/msgpack';
import { ErrorCode, ProtocolError } from './errors.js';
import { decodeChecked } from './fast/msgpack-decoder.js';
import { findSerial, scanValue, startsWithMap } from './msgpack-scan.js';
import type { HeaderMap } from './reference/fields.js';

// `undefined` properties are left out, as JSON.stringify does: an optional field set to
// undefined must not reach the wire as nil, and `{ a: undefined }` payloads decode as `{}`.
const ENCODER_OPTIONS = { ignoreUndefined: true } as const;

// An Encoder keeps its buffer at the largest size it ever needed. Past this size (bytes) it is
// replaced after use, so one big payload does not pin megabytes for the life of the process.
const MAX_RETAINED_ENCODER_BYTES = 65_536;

/*
 * The shared Encoder, and whether its buffer is lent to a `use` callback.
 *
 * Re-entrancy: while it encodes, the Encoder protects itself (a getter that encodes again gets a
 * clone, @msgpack/msgpack's `entered` flag). After that its bytes are lent to `use`, which may run
 * user code (encodeEmitValueFrame's `use` calls the transport's `allocate`, which may emit). A
 * withEncoded called while `lent` encodes with an Encoder of its own, so it never writes over the
 * bytes being used.
 */
let encoder = new Encoder(ENCODER_OPTIONS);
let lent = false;

/**
 * Encodes `value` and hands the bytes to `use` while they are valid (they live in an encoder's
 * buffer, and are overwritten by a later encode once `use` has returned).
 */
export function withEncoded<TResult>(
  value: unknown,
  what: string,
  use: (bytes: Uint8Array) => TResult,
): TResult {
  const shared = !lent;
  let bytes: Uint8Array;
  try {
    bytes = (shared ? encoder : new Encoder(ENCODER_OPTIONS)).encodeSharedRef(value);
  } catch (cause) {
    throw new ProtocolError(ErrorCode.BAD_MSGPACK, `cannot encode ${what}: ${describe(cause)}`, { cause });
  }
  if (!shared) return use(bytes);
  lent = true;
  try {
    return use(bytes);
  } finally {
    lent = false;
    if (bytes.length > MAX_RETAINED_ENCODER_BYTES) encoder = new Encoder(ENCODER_OPTIONS);
  }
}

/**
 * Decodes untrusted MessagePack: throws only ProtocolError BAD_MSGPACK (with the serial read by
 * {@link findSerial} when `isHeader`).
 */
export function decodeUntrusted(bytes: Uint8Array, what: string, isHeader = false): unknown {
  const problem = scanValue(bytes);
  if (problem !== undefined) throw badMsgpack(bytes, `${what}: ${problem}`, isHeader);
  try {
    return decodeChecked(bytes);
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
