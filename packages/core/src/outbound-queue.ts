/**
 * A connection's outbound FIFO, counted in bytes.
 *
 *   items: [ taken | taken | a | b | c ]
 *                            ^head      items.length
 *
 * `take` advances `head` instead of shifting; the taken prefix is dropped once it is
 * more than half the array, so both push and take are amortised O(1).
 */
export class OutboundQueue<TItem extends { readonly size: number }> {
  #items: TItem[] = [];
  #head = 0;
  #bytes = 0;

  get bytes(): number {
    return this.#bytes;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  // [GUARANTEE: order] FIFO: items leave in the order they were queued.
  push(item: TItem): void {
    this.#items.push(item);
    this.#bytes += item.size;
  }

  /** Removes and returns items in order until `maxBytes` is reached (at least one item if any). */
  take(maxBytes: number): TItem[] {
    const out: TItem[] = [];
    let taken = 0;
    const items = this.#items;
    while (this.#head < items.length) {
      const item = items[this.#head] as TItem;
      if (out.length > 0 && taken + item.size > maxBytes) break;
      out.push(item);
      taken += item.size;
      items[this.#head] = undefined as unknown as TItem; // let the GC have it
      this.#head++;
    }
    this.#bytes -= taken;
    if (this.#head === items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
