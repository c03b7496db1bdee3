/*
 * The frame encoders by one name, so that frame-decoder.test.ts (edited concurrently with the move
 * of the encoders to reference/ and fast/) keeps its import. To fold into its imports once that
 * change is merged; the package's barrel imports from reference/ and fast/ directly.
 */

export type { FrameAllocator } from './fast/frame-encoder.js';
export {
  encodeEmitFrame,
  encodeEmitReplyFrame,
  encodeEmitValueFrame,
  encodeSignalFrame,
} from './fast/frame-encoder.js';
export { encodeFrame } from './reference/frame-encoder.js';
