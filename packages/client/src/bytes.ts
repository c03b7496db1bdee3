/*
 * bytes(): the schema of a bytes value, published as `{ "x-chorus-bytes": true }` (the marker is
 * @chorus/protocol's, contract-schema.ts, where every contract's JSON Schema is computed).
 */

import { z } from 'zod';

/**
 * The schema of a bytes value: a `Uint8Array` (a MessagePack bin). The same as
 * `z.instanceof(Uint8Array)`, which is published as `{ "x-chorus-bytes": true }`.
 *
 * @example
 * ```ts
 * const Camera = defineGroup('org.example.Camera', { signals: { Frame: z.object({ jpeg: bytes() }) } });
 * ```
 */
export function bytes(): z.ZodCustom<Uint8Array, Uint8Array> {
  return z.instanceof(Uint8Array);
}
