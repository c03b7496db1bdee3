import { describe, expect, it } from 'vitest';
import { Limiter, type LimiterWaiter } from './limiter.js';

/** A waiter that records what it was told, and takes the slot unless told not to. */
function waiter(log: string[], name: string, take = true, bytes = 0): LimiterWaiter {
  return {
    bytes,
    granted: () => {
      log.push(`${name} granted`);
      return take;
    },
    failed: (error) => log.push(`${name} failed: ${String(error)}`),
  };
}

describe('Limiter', () => {
  it('grants up to max at once, then queues in order', () => {
    const limiter = new Limiter(2);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(true);
    expect(limiter.tryAcquire()).toBe(false);
    const log: string[] = [];
    limiter.wait(waiter(log, 'a'));
    limiter.wait(waiter(log, 'b'));
    expect(limiter.waiting).toBe(2);
    limiter.release();
    // Granted synchronously, to the oldest waiter: a newcomer cannot jump the queue.
    expect(log).toEqual(['a granted']);
    expect(limiter.tryAcquire()).toBe(false);
    limiter.release();
    expect(log).toEqual(['a granted', 'b granted']);
    expect(limiter.active).toBe(2);
    expect(limiter.waiting).toBe(0);
    limiter.release();
    expect(limiter.active).toBe(1);
    expect(limiter.tryAcquire()).toBe(true);
  });

  it('hands the slot on when a waiter does not take it', () => {
    const limiter = new Limiter(1);
    limiter.tryAcquire();
    const log: string[] = [];
    limiter.wait(waiter(log, 'a', false));
    limiter.wait(waiter(log, 'b', false));
    limiter.wait(waiter(log, 'c'));
    limiter.wait(waiter(log, 'd'));
    limiter.release();
    expect(log).toEqual(['a granted', 'b granted', 'c granted']);
    expect(limiter.active).toBe(1);
    expect(limiter.waiting).toBe(1);
    limiter.release();
    limiter.release();
    expect(limiter.active).toBe(0);
  });

  it('keeps the order through a long line (the queue compacts as it goes)', () => {
    const limiter = new Limiter(1);
    limiter.tryAcquire();
    const log: string[] = [];
    for (let i = 0; i < 5000; i++) limiter.wait(waiter(log, String(i)));
    for (let i = 0; i < 2500; i++) limiter.release();
    for (let i = 5000; i < 6000; i++) limiter.wait(waiter(log, String(i)));
    for (let i = 0; i < 3500; i++) limiter.release();
    expect(log).toEqual(Array.from({ length: 6000 }, (_, i) => `${i} granted`));
    expect(limiter.waiting).toBe(0);
  });

  it('bounds the bytes held too, in order, and lets one holder alone exceed the bound', () => {
    const limiter = new Limiter(10, 100);
    expect(limiter.tryAcquire(60)).toBe(true);
    expect(limiter.tryAcquire(50)).toBe(false); // 110 > 100
    expect(limiter.tryAcquire(40)).toBe(true);
    expect(limiter.activeBytes).toBe(100);
    const log: string[] = [];
    limiter.wait(waiter(log, 'a', true, 30));
    limiter.wait(waiter(log, 'b', true, 10)); // would fit after a, but waits behind it
    expect(limiter.tryAcquire(0)).toBe(false); // nobody jumps the line
    limiter.release(40);
    expect(log).toEqual(['a granted', 'b granted']); // 60 + 30 + 10
    expect(limiter.activeBytes).toBe(100);
    limiter.wait(waiter(log, 'huge', true, 500));
    limiter.release(60);
    limiter.release(30);
    expect(log).toHaveLength(2); // 10 + 500 > 100: waits until it is alone
    limiter.release(10);
    expect(log).toEqual(['a granted', 'b granted', 'huge granted']);
    expect(limiter.active).toBe(1);
    expect(limiter.activeBytes).toBe(500);
    limiter.release(500);
    expect(limiter.activeBytes).toBe(0);
    expect(limiter.active).toBe(0);
  });

  it('does not count the bytes of a waiter that hands its slot on', () => {
    const limiter = new Limiter(2, 100);
    limiter.tryAcquire(90);
    const log: string[] = [];
    limiter.wait(waiter(log, 'answer', false, 0));
    limiter.wait(waiter(log, 'a', true, 10));
    limiter.release(90);
    expect(log).toEqual(['answer granted', 'a granted']);
    expect(limiter.active).toBe(1);
    expect(limiter.activeBytes).toBe(10);
  });

  it('tells every waiter and every later one once failed', () => {
    const limiter = new Limiter(1);
    limiter.tryAcquire();
    const log: string[] = [];
    limiter.wait(waiter(log, 'a'));
    limiter.fail('closed');
    limiter.fail('twice'); // the first failure stays
    limiter.wait(waiter(log, 'b'));
    expect(log).toEqual(['a failed: closed', 'b failed: closed']);
    expect(limiter.failure).toEqual({ error: 'closed' });
    expect(limiter.tryAcquire()).toBe(false);
  });
});
