import { describe, expect, it } from 'vitest';
import { createMemoryTransportPair } from './memory.js';

describe('createMemoryTransportPair', () => {
  it('carries bytes both ways, copying them', async () => {
    const [a, b] = createMemoryTransportPair();
    const sent = new Uint8Array([1, 2]);
    a.write(sent);
    sent[0] = 9;
    b.write(new Uint8Array([3]));
    const fromA = b[Symbol.asyncIterator]();
    const fromB = a[Symbol.asyncIterator]();
    expect((await fromA.next()).value).toEqual(new Uint8Array([1, 2]));
    expect((await fromB.next()).value).toEqual(new Uint8Array([3]));
  });

  it('ends the peer on close and fails it on destroy', async () => {
    const [a, b] = createMemoryTransportPair();
    await a.close();
    expect(await b[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
    a.write(new Uint8Array([1])); // after close: dropped

    const [c, d] = createMemoryTransportPair();
    c.destroy(new Error('reset'));
    await expect(d[Symbol.asyncIterator]().next()).rejects.toThrow('reset');
  });

  it('shows pause and what the paused side holds', async () => {
    const [a, b] = createMemoryTransportPair();
    b.pause();
    a.write(new Uint8Array([1, 2, 3]));
    expect(b.paused).toBe(true);
    expect(b.bufferedBytes).toBe(3);
    b.resume();
    expect((await b[Symbol.asyncIterator]().next()).value).toEqual(new Uint8Array([1, 2, 3]));
    expect(b.bufferedBytes).toBe(0);
  });
});
