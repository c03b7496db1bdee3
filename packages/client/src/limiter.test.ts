import { describe, expect, it } from 'vitest';
import { Limiter } from './limiter.js';

describe('Limiter', () => {
  it('grants up to max at once, then queues in order', async () => {
    const limiter = new Limiter(2);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false);
    const order: number[] = [];
    const a = limiter.acquire().then(() => order.push(1));
    const b = limiter.acquire().then(() => order.push(2));
    limiter.release();
    // The slot went to the oldest waiter: a newcomer cannot jump the queue.
    expect(limiter.tryAcquire()).toBe(false);
    limiter.release();
    await Promise.all([a, b]);
    expect(order).toEqual([1, 2]);
    expect(limiter.active).toBe(2);
  });

  it('rejects waiters and later acquires once failed', async () => {
    const limiter = new Limiter(1);
    limiter.tryAcquire();
    const waiting = limiter.acquire();
    const error = new Error('closed');
    limiter.fail(error);
    await expect(waiting).rejects.toBe(error);
    await expect(limiter.acquire()).rejects.toBe(error);
    expect(limiter.tryAcquire()).toBe(false);
  });
});
