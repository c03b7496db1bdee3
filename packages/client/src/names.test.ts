/*
 * Well-known names against a scripted peer: only answers a real daemon never gives (a reply of the
 * wrong shape, a GetNameOwner older than a signal already sent). Everything else about names runs
 * against the real daemon: test/sdk-names.test.ts.
 */

import { describe, expect, it } from 'vitest';
import { BUS_NAME } from './bus-contract.js';
import { InvalidReplyError } from './errors.js';
import { connectToFake } from './testing/fake-daemon.js';
import { rejection } from './testing/rejection.js';

const NAME = 'org.example.Battery';
const OWNER = ':1.99';

describe('waitForName', () => {
  it('resolves from the signal even when GetNameOwner answers from a view older than it', async () => {
    const { bus } = await connectToFake({}, (d) => {
      d.respond('join', (received, daemon) => {
        const answer = daemon.answer(received);
        queueMicrotask(() =>
          daemon.signal(
            BUS_NAME,
            'NameOwnerChanged',
            { name: NAME, oldOwner: null, newOwner: OWNER },
            { from: BUS_NAME },
          ),
        );
        return answer;
      });
      d.answerBus('GetNameOwner', () => ({ owner: null }));
    });
    expect(await bus.waitForName(NAME, { timeoutMs: 2000 })).toBe(OWNER);
    await bus.close();
  });
});

describe("the bus's own methods", () => {
  it('validate what the daemon answers (INVALID_REPLY for a shape the contract does not know)', async () => {
    const { bus } = await connectToFake({}, (d) => d.answerBus('GetNameOwner', () => ({ owner: 5 })));
    const error = await rejection(bus.getNameOwner(NAME));
    expect(error).toBeInstanceOf(InvalidReplyError);
    await bus.close();
  });
});
