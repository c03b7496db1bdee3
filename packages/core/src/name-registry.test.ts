import { describe, expect, it } from 'vitest';
import { expectCode } from './engine.fixture.js';
import { assertRequestableName, NameRegistry } from './name-registry.js';

describe('NameRegistry (D-Bus name semantics)', () => {
  it('gives a free name to the first requester and queues the others in order', () => {
    const names = new NameRegistry(10);
    expect(names.request(1, 'org.a.B')).toEqual({
      result: 'primary-owner',
      changes: [{ name: 'org.a.B', oldOwner: undefined, newOwner: 1 }],
    });
    expect(names.request(1, 'org.a.B').result).toBe('already-owner');
    expect(names.request(2, 'org.a.B')).toEqual({ result: 'in-queue', changes: [] });
    expect(names.request(3, 'org.a.B').result).toBe('in-queue');
    expect([...names.list()]).toEqual([{ name: 'org.a.B', owner: 1, queue: [2, 3] }]);
    expect(names.release(1, 'org.a.B')).toEqual({
      result: 'released',
      changes: [{ name: 'org.a.B', oldOwner: 1, newOwner: 2 }],
    });
    expect(names.removeConnection(2)).toEqual([{ name: 'org.a.B', oldOwner: 2, newOwner: 3 }]);
    expect(names.release(3, 'org.a.B').changes).toEqual([
      { name: 'org.a.B', oldOwner: 3, newOwner: undefined },
    ]);
    expect(names.size).toBe(0);
  });

  it('answers release of unknown and not-owned names', () => {
    const names = new NameRegistry(10);
    expect(names.release(1, 'org.a.B').result).toBe('non-existent');
    names.request(1, 'org.a.B');
    expect(names.release(2, 'org.a.B').result).toBe('not-owner');
    names.request(2, 'org.a.B');
    expect(names.release(2, 'org.a.B')).toEqual({ result: 'released', changes: [] }); // left the queue
    expect(names.owner('org.a.B')).toBe(1);
  });

  it('replaces an owner that allows it; the old owner waits at the head of the queue', () => {
    const names = new NameRegistry(10);
    names.request(1, 'org.a.B', { allowReplacement: true });
    names.request(3, 'org.a.B');
    expect(names.request(2, 'org.a.B', { replaceExisting: true })).toEqual({
      result: 'primary-owner',
      changes: [{ name: 'org.a.B', oldOwner: 1, newOwner: 2 }],
    });
    expect([...names.list()]).toEqual([{ name: 'org.a.B', owner: 2, queue: [1, 3] }]);
  });

  it('drops a replaced owner that asked never to queue, and refuses replacement when not allowed', () => {
    const names = new NameRegistry(10);
    names.request(1, 'org.a.B', { allowReplacement: true, doNotQueue: true });
    names.request(2, 'org.a.B', { replaceExisting: true });
    expect([...names.list()]).toEqual([{ name: 'org.a.B', owner: 2, queue: [] }]);
    expect(names.ownedBy(1)).toEqual([]);
    expect(names.request(3, 'org.a.B', { replaceExisting: true, doNotQueue: true }).result).toBe('exists');
    expect(names.request(3, 'org.a.B', { replaceExisting: true }).result).toBe('in-queue');
  });

  it('bounds the names one connection may hold or wait for (LIMIT_EXCEEDED)', () => {
    const names = new NameRegistry(2);
    names.request(1, 'org.a.One');
    names.request(1, 'org.a.Two');
    expectCode(() => names.request(1, 'org.a.Three'), 'LIMIT_EXCEEDED');
    names.request(2, 'org.a.Four');
    names.request(2, 'org.a.Five');
    expectCode(() => names.request(2, 'org.a.One'), 'LIMIT_EXCEEDED'); // queueing counts too
  });

  it('never lets a unique name, the bus name or a malformed name be requested (INVALID_NAME)', () => {
    for (const name of [':1.4', 'org.chorus.Bus', 'single', 'a..b', '1a.b', '']) {
      expectCode(() => assertRequestableName(name), 'INVALID_NAME');
    }
    expect(() => assertRequestableName('org.example.Battery')).not.toThrow();
  });
});
