/*
 * Copies of small payloads out of the socket read they arrived in, so that a queued message does
 * not keep a whole read (64 KiB) alive. A copy above 64 bytes is an off-heap ArrayBuffer, which
 * costs more than the copy itself (about 1.5-3 µs, mostly the garbage collector's bookkeeping of
 * external memory): copies share slabs instead, each at most PIN_RATIO times the size of every
 * payload in it, so that no payload pins more than PIN_RATIO times its own size — the same bound
 * as the rule that makes the copy.
 *
 *   slab: [ p1 | p2 | p3 | p4 ]    byteLength = PIN_RATIO × size(p1); p2..p4 each ≥ size(p1)
 */

/** Typed arrays this small live on V8's heap: `slice` is cheap and pins nothing. */
const ON_HEAP_BYTES = 64;

export class PayloadCopies {
  readonly #ratio: number;
  #slab: ArrayBuffer | undefined;
  #used = 0;

  /** `ratio`: the most a copy may pin, as a multiple of its size. */
  constructor(ratio: number) {
    this.#ratio = ratio;
  }

  /** A copy of `payload` that pins at most `ratio` times its size. */
  copy(payload: Uint8Array): Uint8Array {
    const size = payload.byteLength;
    if (size <= ON_HEAP_BYTES) return payload.slice();
    let slab = this.#slab;
    // [GUARANTEE: memory] this payload shares a slab of at most ratio × its size.
    if (slab === undefined || slab.byteLength > this.#ratio * size || this.#used + size > slab.byteLength) {
      slab = new ArrayBuffer(this.#ratio * size);
      this.#slab = slab;
      this.#used = 0;
    }
    const copy = new Uint8Array(slab, this.#used, size);
    copy.set(payload);
    this.#used += size;
    return copy;
  }
}
