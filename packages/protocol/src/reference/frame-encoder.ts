/*
 * The reference frame encoder: any message, through the shared @msgpack/msgpack Encoder. It is
 * what the hand-written encoders in fast/ must match byte for byte (fast/frame-encoder.test.ts),
 * and what encodes every message that has no fast path.
 */

import { FRAME_PREFIX_BYTES, MAX_U32 } from '../constants.js';
import { writeFramePrefix } from '../frame-prefix.js';
import type { ClientMessage, ServerMessage } from '../messages.js';
import { withEncoded } from '../msgpack.js';

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
    writeFramePrefix(frame, bytes.length, payload.length);
    frame.set(bytes, FRAME_PREFIX_BYTES);
    frame.set(payload, FRAME_PREFIX_BYTES + bytes.length);
    return frame;
  });
}
