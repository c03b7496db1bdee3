/**
 * The protocol version this package speaks; sent as `v` in `hello` and `welcome`.
 *
 * @example
 * ```ts
 * const hello: Hello = { t: 'hello', v: PROTOCOL_VERSION };
 * ```
 */
export const PROTOCOL_VERSION = 1;

/**
 * Default bound on `headerLength + payloadLength` of one frame (bytes, 1 MiB).
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder(handler, { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES });
 * ```
 */
export const DEFAULT_MAX_FRAME_BYTES = 1_048_576;

/**
 * Size of the length prefix in front of every frame (bytes): u32 BE headerLength + u32 BE payloadLength.
 *
 * @example
 * ```ts
 * const headerLength = frame.length - FRAME_PREFIX_BYTES - payload.length;
 * ```
 */
export const FRAME_PREFIX_BYTES = 8;

/**
 * Largest request serial `s` (serials are integers in 1..MAX_SERIAL).
 *
 * @example
 * ```ts
 * serial = serial === MAX_SERIAL ? 1 : serial + 1;
 * ```
 */
export const MAX_SERIAL = 0xffff_ffff;

/**
 * Deepest nesting of maps and arrays accepted in a header or payload (containers).
 * It equals the default `maxDepth` of the @msgpack/msgpack Encoder, so whatever `encodePayload`
 * produces `decodePayload` accepts; the bound keeps a hostile input from making the decoder
 * build one stack entry per byte.
 *
 * @example
 * ```ts
 * // 101 nested one-element arrays around a 0 are rejected as BAD_MSGPACK
 * decodePayload(new Uint8Array([...Array(MAX_NESTING_DEPTH + 1).fill(0x91), 0]));
 * ```
 */
export const MAX_NESTING_DEPTH = 100;

/** Largest value of a u32 length field. */
export const MAX_U32 = 0xffff_ffff;
