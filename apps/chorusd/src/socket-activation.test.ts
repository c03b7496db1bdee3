import { describe, expect, it } from 'vitest';
import { inheritedSocket } from './socket-activation.js';

describe('inheritedSocket', () => {
  it('takes fd 3 when LISTEN_PID is this process and LISTEN_FDS is 1, and clears the variables', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_PID: '42', LISTEN_FDS: '1', LISTEN_FDNAMES: 'bus', OTHER: 'x' };
    expect(inheritedSocket(env, 42)).toEqual({ fd: 3, name: 'bus' });
    expect(env).toEqual({ OTHER: 'x' });
  });

  it('ignores variables meant for another process (and still clears them)', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_PID: '41', LISTEN_FDS: '1' };
    expect(inheritedSocket(env, 42)).toBeUndefined();
    expect(env).toEqual({});
  });

  it('ignores missing or malformed variables', () => {
    expect(inheritedSocket({}, 42)).toBeUndefined();
    expect(inheritedSocket({ LISTEN_PID: '42' }, 42)).toBeUndefined();
    expect(inheritedSocket({ LISTEN_PID: '42', LISTEN_FDS: '0' }, 42)).toBeUndefined();
    expect(inheritedSocket({ LISTEN_PID: '042', LISTEN_FDS: '1' }, 42)).toBeUndefined();
    expect(inheritedSocket({ LISTEN_PID: '42', LISTEN_FDS: 'x' }, 42)).toBeUndefined();
  });

  it('refuses more than one socket, saying what to change', () => {
    expect(() => inheritedSocket({ LISTEN_PID: '42', LISTEN_FDS: '2' }, 42)).toThrow(/one ListenStream=/);
  });
});
