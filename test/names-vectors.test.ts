import { readFileSync } from 'node:fs';
import { assertRequestableName, groupNameProblem, signalNameProblem } from '@chorus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { RawClient } from './harness/raw-client.js';

// The name grammars of the wire spec (packages/protocol/README.md §3) as the language-neutral
// vectors state them, checked against the daemon's own rules: the engine's checks for group,
// member and well-known names, and the real daemon for unique names (a filter's `from`).

const names = JSON.parse(
  readFileSync(new URL('../packages/protocol/vectors/names.json', import.meta.url), 'utf8'),
) as Record<'group' | 'member' | 'wellKnown' | 'unique', { valid: string[]; invalid: string[] }>;

const wellKnownProblem = (name: string) => {
  try {
    assertRequestableName(name);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
};

describe('names.json', () => {
  for (const [kind, problem] of [
    ['group', groupNameProblem],
    ['member', signalNameProblem],
    ['wellKnown', wellKnownProblem],
  ] as const) {
    it(`${kind} names`, () => {
      for (const name of names[kind].valid) expect(problem(name), name).toBeUndefined();
      for (const name of names[kind].invalid) expect(problem(name), name).toBeDefined();
    });
  }

  let daemon: RunningDaemon & { cleanup(): Promise<void> };
  beforeAll(async () => {
    daemon = await withDaemon({ args: ['--no-ws'] });
  });
  afterAll(async () => {
    await daemon?.cleanup();
  });

  it('unique names, as the daemon reads a filter from', async () => {
    const owner = await RawClient.open(daemon.socketPath);
    await owner.request({ t: 'create', g: 'test.names.G', o: { emitters: 'anyone' } });
    const peer = await RawClient.open(daemon.socketPath);
    for (const name of names.unique.valid) {
      const joined = await peer.request({ t: 'join', g: 'test.names.G', f: [{ from: name }] });
      expect(joined.message.t, name).toBe('ok');
      await peer.request({ t: 'leave', g: 'test.names.G' });
    }
    for (const name of names.unique.invalid.filter((n) => n !== '')) {
      const refused = await peer.request({ t: 'join', g: 'test.names.G', f: [{ from: name }] });
      expect(refused.message, name).toMatchObject({ t: 'err', code: 'INVALID_NAME' });
    }
    peer.close();
    owner.close();
  });
});
