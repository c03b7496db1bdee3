import { describe, expect, it } from 'vitest';
import { Listeners } from './listeners.js';

describe('Listeners', () => {
  it('calls handlers in order; each remover removes its own registration', () => {
    const listeners = new Listeners<[number]>();
    const calls: string[] = [];
    const handler = (n: number) => calls.push(`h${n}`);
    const removeFirst = listeners.add(handler);
    listeners.add(handler);
    listeners.add((n) => calls.push(`other${n}`));
    listeners.emit(1);
    removeFirst();
    listeners.emit(2);
    expect(calls).toEqual(['h1', 'h1', 'other1', 'h2', 'other2']);
  });

  it('goes on after a throwing handler and rethrows its error asynchronously', async () => {
    const listeners = new Listeners<[]>();
    const calls: string[] = [];
    listeners.add(() => {
      throw new Error('handler bug');
    });
    listeners.add(() => calls.push('second'));
    const rethrown = new Promise<unknown>((resolve) => {
      const original = globalThis.queueMicrotask;
      globalThis.queueMicrotask = (callback) => {
        globalThis.queueMicrotask = original;
        try {
          callback();
        } catch (error) {
          resolve(error);
        }
      };
    });
    listeners.emit();
    expect(calls).toEqual(['second']);
    expect(await rethrown).toMatchObject({ message: 'handler bug' });
  });
});
