import { decodeUntrusted, withEncoded } from './msgpack.js';

const EMPTY = new Uint8Array(0);

/**
 * Encodes a signal payload as MessagePack. `undefined` encodes as the empty payload (so an
 * absent value and `null` stay distinct); object properties that are `undefined` are left out.
 * Throws ProtocolError BAD_MSGPACK when the value cannot be encoded (a function, a symbol, a
 * bigint, nesting deeper than {@link MAX_NESTING_DEPTH}).
 *
 * @example
 * ```ts
 * const frame = encodeFrame({ t: 'emit', s: 1, g: 'logs', sig: 'line' }, encodePayload({ text: 'hi' }));
 * ```
 */
export function encodePayload(value: unknown): Uint8Array {
  if (value === undefined) return EMPTY;
  return withEncoded(value, 'payload', (bytes) => bytes.slice());
}

/**
 * Decodes a payload made by {@link encodePayload}: the empty payload is `undefined`.
 * Throws only ProtocolError BAD_MSGPACK (malformed, truncated or trailing bytes, nesting deeper
 * than {@link MAX_NESTING_DEPTH}). Binary values in the result are views of `bytes`, or copies
 * when `bytes` lie in the shared read buffer, which the next socket read overwrites.
 *
 * @example
 * ```ts
 * const { text } = decodePayload(payload) as { text: string };
 * ```
 */
export function decodePayload(bytes: Uint8Array): unknown {
  if (bytes.length === 0) return undefined;
  return decodeUntrusted(bytes, 'payload');
}
