import { describe, expect, it } from 'vitest';
import { ChunkQueue } from './chunk-queue.js';

const bytes = (...values: number[]) => new Uint8Array(values);

async function drain(queue: ChunkQueue): Promise<number[]> {
  const seen: number[] = [];
  for await (const chunk of queue) seen.push(...chunk);
  return seen;
}

describe('ChunkQueue', () => {
  it('yields chunks in order, then finishes at EOF', async () => {
    const queue = new ChunkQueue();
    queue.push(bytes(1));
    queue.push(bytes(2, 3));
    queue.end();
    queue.push(bytes(4)); // after EOF: ignored
    expect(await drain(queue)).toEqual([1, 2, 3]);
  });

  it('holds chunks back while paused', async () => {
    const queue = new ChunkQueue();
    queue.pause();
    queue.push(bytes(1));
    const iterator = queue[Symbol.asyncIterator]();
    let got: IteratorResult<Uint8Array> | undefined;
    const next = iterator.next().then((r) => (got = r));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(got).toBeUndefined();
    expect(queue.bufferedBytes).toBe(1);
    queue.resume();
    await next;
    expect(got?.value).toEqual(bytes(1));
  });

  it('lets the end and what came before through while paused, then throws a failure once', async () => {
    const queue = new ChunkQueue();
    queue.pause();
    queue.push(bytes(1));
    queue.fail(new Error('reset'));
    const iterator = queue[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual(bytes(1));
    await expect(iterator.next()).rejects.toThrow('reset');
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('finishes at once on a local close, dropping what is queued', async () => {
    const queue = new ChunkQueue();
    queue.push(bytes(1));
    queue.close();
    expect(await drain(queue)).toEqual([]);
  });

  it('has a single reader', () => {
    const queue = new ChunkQueue();
    queue[Symbol.asyncIterator]();
    expect(() => queue[Symbol.asyncIterator]()).toThrow();
  });
});
