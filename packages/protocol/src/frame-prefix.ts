/*
 * The 8-byte prefix in front of every frame (README section 1): headerLength then payloadLength,
 * each a u32 big-endian. Written here for every encoder, the reference one and the fast ones;
 * frame-decoder.ts reads it.
 */

/** Writes the prefix of a frame of `headerLength` + `payloadLength` bytes at the start of `frame`. */
export function writeFramePrefix(frame: Uint8Array, headerLength: number, payloadLength: number): void {
  writeU32(frame, 0, headerLength);
  writeU32(frame, 4, payloadLength);
}

/** Writes `value` as a big-endian u32 at `pos`. */
export function writeU32(bytes: Uint8Array, pos: number, value: number): void {
  bytes[pos] = value >>> 24;
  bytes[pos + 1] = value >>> 16;
  bytes[pos + 2] = value >>> 8;
  bytes[pos + 3] = value;
}
