import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultAddress, parseAddress } from './address.js';

describe('parseAddress', () => {
  it('reads unix and WebSocket addresses', () => {
    expect(parseAddress('unix:path=/tmp/x.sock')).toEqual({ kind: 'unix', path: '/tmp/x.sock' });
    expect(parseAddress('unix:path=/tmp/a%2cb.sock,guid=1')).toEqual({ kind: 'unix', path: '/tmp/a,b.sock' });
    expect(parseAddress('ws://localhost:7070/bus')).toEqual({
      kind: 'websocket',
      url: 'ws://localhost:7070/bus',
    });
    expect(parseAddress('wss://example.org/')).toEqual({ kind: 'websocket', url: 'wss://example.org/' });
    // Issue 13: the plain path chorusd's --socket takes (it used to be refused).
    expect(parseAddress('/tmp/x.sock')).toEqual({ kind: 'unix', path: '/tmp/x.sock' });
  });

  it.each([
    '',
    'tcp:host=x',
    'unix:',
    'unix:path=',
    'unix:abstract=x',
    'unix:path',
    'unix:path=%zz',
    // A relative path may be a typo of anything: only absolute paths stand for a socket.
    'tmp/x.sock',
  ])('refuses %j with BAD_ADDRESS', (address) => {
    expect(() => parseAddress(address)).toThrowError(expect.objectContaining({ code: 'BAD_ADDRESS' }));
  });
});

describe('defaultAddress', () => {
  it('prefers CHORUS_BUS_ADDRESS, then XDG_RUNTIME_DIR, then /tmp/chorus-<uid>', () => {
    expect(defaultAddress({ CHORUS_BUS_ADDRESS: 'ws://x/', XDG_RUNTIME_DIR: '/run/user/1' }, 1)).toBe(
      'ws://x/',
    );
    expect(defaultAddress({ XDG_RUNTIME_DIR: '/run/user/1000/' }, 1000)).toBe(
      'unix:path=/run/user/1000/chorus/bus.sock',
    );
    expect(defaultAddress({ CHORUS_BUS_ADDRESS: '', XDG_RUNTIME_DIR: '' }, 1000)).toBe(
      'unix:path=/tmp/chorus-1000/bus.sock',
    );
  });

  it('escapes the runtime dir so that any path survives parseAddress', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => !s.endsWith('/')),
        (dir) => {
          const address = parseAddress(defaultAddress({ XDG_RUNTIME_DIR: dir }, 0));
          expect(address).toEqual({ kind: 'unix', path: `${dir}/chorus/bus.sock` });
        },
      ),
      { numRuns: 300 },
    );
  });
});
