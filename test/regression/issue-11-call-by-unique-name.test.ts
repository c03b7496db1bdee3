import type { Bus } from '@chorus/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  Battery,
  type ExampleDaemon,
  READER_TOKEN,
  SECRET,
  Secrets,
  withExamplePolicyDaemon,
} from '../harness/example-policy.js';

// Issue 11, item 1: with the README's example policy (deny every action on org.example.Secrets over
// the WebSocket), `call(Secrets, 'GetSecret', {}, { destination: ':1.N' })` from `ws` or `reader`
// returned the secret: the daemon checked the policy against the destination only, and a rule on
// org.example.Secrets never matches a unique name. Now a call is checked against the interface it
// names and the well-known names of the connection it reaches.

let daemon: ExampleDaemon;
let service: Bus;
beforeAll(async () => {
  ({ daemon } = await withExamplePolicyDaemon());
  service = await daemon.unix();
  service.serve(Secrets, { GetSecret: () => ({ secret: SECRET }) });
  await service.requestName(Secrets.name);
});
afterAll(async () => {
  await service.close();
  await daemon.cleanup();
});

it.each([
  ['ws', () => daemon.defaultToken],
  ['reader', () => READER_TOKEN],
])(
  '%s over the WebSocket cannot reach org.example.Secrets by its owner’s unique name',
  async (_who, token) => {
    const caller = await daemon.ws(token());
    try {
      // Typed (the interface travels as `g`) and untyped (the daemon takes the one name the owner has).
      await expect(
        caller.call(Secrets, 'GetSecret', {}, { destination: service.name, timeoutMs: 10_000 }),
      ).rejects.toMatchObject({ code: 'NOT_PERMITTED' });
      await expect(caller.call(service.name, 'GetSecret', {}, { timeoutMs: 10_000 })).rejects.toMatchObject({
        code: 'NOT_PERMITTED',
      });
      // Naming an allowed interface reaches only that contract, which this connection does not serve.
      await expect(
        caller.call(Battery, 'GetLevel', {}, { destination: service.name, timeoutMs: 10_000 }),
      ).rejects.toMatchObject({ code: 'UNKNOWN_METHOD' });
      // As by its well-known name.
      await expect(caller.call(Secrets, 'GetSecret', {}, { timeoutMs: 10_000 })).rejects.toMatchObject({
        code: 'NOT_PERMITTED',
      });
    } finally {
      await caller.close();
    }
  },
);

it('a unique name is still callable where the policy allows what it reaches', async () => {
  const battery = await daemon.unix();
  try {
    battery.serve(Battery, { GetLevel: () => ({ percent: 42 }) });
    await battery.requestName(Battery.name);
    const reader = await daemon.ws(READER_TOKEN);
    expect(
      await reader.call(Battery, 'GetLevel', {}, { destination: battery.name, timeoutMs: 10_000 }),
    ).toEqual({ percent: 42 });
    expect(await reader.call(battery.name, 'GetLevel', {}, { timeoutMs: 10_000 })).toEqual({ percent: 42 });
    await reader.close();
    // Over the Unix socket the deny rule (transport ws) does not apply: reader may call the secret.
    const local = await daemon.unix(READER_TOKEN);
    expect(
      await local.call(Secrets, 'GetSecret', {}, { destination: service.name, timeoutMs: 10_000 }),
    ).toEqual({ secret: SECRET });
    await local.close();
  } finally {
    await battery.close();
  }
});
