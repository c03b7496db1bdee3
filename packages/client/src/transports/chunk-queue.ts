/*
 * The incoming side shared by the transports: chunks pushed by an event source (socket 'data',
 * the memory peer, later WebSocket 'message'), pulled by one `for await` consumer.
 */

type Waiter = {
  resolve: (result: IteratorResult<Uint8Array>) => void;
  reject: (error: unknown) => void;
};

/**
 * A single-consumer async queue of chunks with pause/resume, EOF and failure.
 *
 * - While paused, queued chunks are held back, unless the stream has ended or failed: then they are
 *   handed out at once, so a reader that paused learns as soon as possible that the peer is gone
 *   (the connection then fails every pending request instead of leaving them hanging).
 * - `end()` and `fail()` take effect after the queued chunks; `close()` (local) drops them.
 */
export class ChunkQueue implements AsyncIterable<Uint8Array> {
  #chunks: Uint8Array[] = [];
  #paused = false;
  #ended = false;
  #failure: { error: unknown } | undefined;
  #closed = false;
  #waiter: Waiter | undefined;
  #iterated = false;

  get paused(): boolean {
    return this.#paused;
  }

  /** Bytes received but not yet pulled. */
  get bufferedBytes(): number {
    let total = 0;
    for (const chunk of this.#chunks) total += chunk.byteLength;
    return total;
  }

  /**
   * Whether a chunk pushed now goes straight to the waiting consumer, which reads it in this
   * turn's microtasks: then a view of a buffer that the next read reuses is safe to push.
   */
  get takesNow(): boolean {
    return (
      this.#waiter !== undefined &&
      !this.#paused &&
      this.#chunks.length === 0 &&
      !this.#closed &&
      !this.#ended
    );
  }

  push(chunk: Uint8Array): void {
    if (this.#ended || this.#closed || chunk.byteLength === 0) return;
    this.#chunks.push(chunk);
    this.#settle();
  }

  /** The peer finished sending (EOF). */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#settle();
  }

  /** The stream broke; the consumer's loop throws `error` after the queued chunks. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#failure = { error };
    this.#settle();
  }

  /** Closed locally: the consumer's loop finishes now; queued chunks are dropped. */
  close(): void {
    this.#closed = true;
    this.#chunks = [];
    this.#settle();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#settle();
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    // One reader: two would each see a random half of the byte stream.
    if (this.#iterated) throw new Error('a transport can be iterated only once');
    this.#iterated = true;
    return {
      next: () =>
        new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
          this.#waiter = { resolve, reject };
          this.#settle();
        }),
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }

  #settle(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    if (this.#closed) {
      this.#waiter = undefined;
      waiter.resolve({ done: true, value: undefined });
      return;
    }
    if (this.#chunks.length > 0 && (!this.#paused || this.#ended)) {
      this.#waiter = undefined;
      waiter.resolve({ done: false, value: this.#chunks.shift() as Uint8Array });
      return;
    }
    if (this.#ended && this.#chunks.length === 0) {
      this.#waiter = undefined;
      const failure = this.#failure;
      if (failure === undefined) {
        waiter.resolve({ done: true, value: undefined });
      } else {
        // Report the failure once; a later next() sees a finished stream.
        this.#failure = undefined;
        waiter.reject(failure.error);
      }
    }
  }
}
