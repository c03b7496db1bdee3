/*
 * What every system carries: a message counter `i` (for verification: every message, in order,
 * none twice) and the emit time `t` (µs, see clock.ts), padded to the payload size under test.
 * Peers carry raw bytes (i and t as float64 LE at offsets 0 and 8); Chorus carries a MessagePack
 * object validated by a zod schema on both ends (systems/chorus.ts), padded to the same size.
 */

/** Smallest raw payload: two float64. */
export const RAW_HEADER_BYTES = 16;

/** A reusable raw payload buffer of `size` bytes; `stamp` writes i and t into it. */
export function rawPayload(size: number): Buffer {
  return Buffer.alloc(Math.max(RAW_HEADER_BYTES, size));
}

export function stamp(buffer: Buffer, i: number, t: number): Buffer {
  buffer.writeDoubleLE(i, 0);
  buffer.writeDoubleLE(t, 8);
  return buffer;
}

/** A new buffer holding `template` stamped with i and t, for clients that keep a reference until they flush. */
export function stampedCopy(template: Buffer, i: number, t: number): Buffer {
  return stamp(Buffer.from(template), i, t);
}

export function readI(buffer: Uint8Array): number {
  return Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength).readDoubleLE(0);
}

export function readT(buffer: Uint8Array): number {
  return Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength).readDoubleLE(8);
}
