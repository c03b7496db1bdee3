import { NotPermittedError } from '@chorus/core';
import type { CallRequest } from '@chorus/protocol';
import { describe, expect, it } from 'vitest';
import { type CallAccess, checkCall } from './call-access.js';
import { Policy } from './policy.js';

// The README's example rules, as seen by `ws` over the WebSocket: everything but org.example.Secrets.
const policy = new Policy({
  groupsRequireName: true,
  rules: [
    { effect: 'allow', actions: '*', identity: ['owner', 'ws'] },
    { effect: 'deny', actions: '*', transport: 'ws', name: 'org.example.Secrets' },
  ],
});

/** Connection 2 owns `names`; `:1.2` and each of its names reach it. */
function access(names: readonly string[]): CallAccess & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    require(name) {
      asked.push(name);
      if (!policy.decide('ws', 'ws', 'call', name).allowed) throw new NotPermittedError(name, 'denied');
    },
    callee: (dest) => (dest === ':1.2' || names.includes(dest) ? { id: 2, name: ':1.2' } : undefined),
    names: () => names,
  };
}

const call = (dest: string, g?: string): CallRequest => ({
  t: 'call',
  s: 1,
  dest,
  m: 'M',
  ...(g ? { g } : {}),
});

describe('checkCall', () => {
  it('checks the destination, the interface and the names the callee owns above it; forwards the interface', () => {
    const a = access(['org.example.Battery']);
    expect(checkCall(call('org.example.Battery'), a)).toMatchObject({ g: 'org.example.Battery' });
    expect(a.asked).toEqual(['org.example.Battery', 'org.example.Battery']);
    expect(() =>
      checkCall(call('org.example.Battery', 'org.example.Secrets'), access(['org.example.Battery'])),
    ).toThrow(NotPermittedError);
  });

  it('checks a unique name against what its connection owns', () => {
    expect(() => checkCall(call(':1.2', 'org.example.Secrets'), access(['org.example.Secrets']))).toThrow(
      NotPermittedError,
    );
    // An interface under a denied name the callee owns: the name's rule holds.
    expect(() => checkCall(call(':1.2', 'org.example.Secrets.Sub'), access(['org.example.Secrets']))).toThrow(
      NotPermittedError,
    );
    // No interface: the one name it owns.
    expect(() => checkCall(call(':1.2'), access(['org.example.Secrets']))).toThrow(NotPermittedError);
    expect(checkCall(call(':1.2'), access(['org.example.Battery']))).toMatchObject({
      g: 'org.example.Battery',
    });
  });

  it('refuses a unique name without interface when its connection owns no name or several', () => {
    for (const names of [[], ['org.example.A', 'org.example.B']]) {
      expect(() => checkCall(call(':1.2'), access(names))).toThrow(
        expect.objectContaining({ code: 'BAD_FIELD', data: { path: ['g'] } }),
      );
    }
  });

  it('answers SERVICE_UNKNOWN when nothing is reached, after the name itself was checked', () => {
    expect(() => checkCall(call('org.example.Nobody'), access([]))).toThrow(
      expect.objectContaining({ code: 'SERVICE_UNKNOWN' }),
    );
    expect(() => checkCall(call('org.example.Secrets'), access([]))).toThrow(NotPermittedError);
  });
});
