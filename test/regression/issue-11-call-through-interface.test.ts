import type { Bus } from '@chorus/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  Battery,
  type ExampleDaemon,
  PANEL_TOKEN,
  SECRET,
  Secrets,
  withExamplePolicyDaemon,
} from '../harness/example-policy.js';

// Issue 11, item 2: with the README's example policy, `panel` over the WebSocket called GetSecret
// with destination 'org.example.Battery' on a connection that serves both contracts, and got the
// secret: the daemon checked only the destination, treated the call's interface `g` as
// informative, and the SDK's service routed on `g` (or, without it, fell back to the only contract
// it served). Now the daemon checks `g` too and forwards exactly the interface it checked, and a
// service answers from that contract only.

let daemon: ExampleDaemon;
let both: Bus;
let aliased: Bus;
beforeAll(async () => {
  ({ daemon } = await withExamplePolicyDaemon());
  // One connection serving both contracts, owning the name panel may call.
  both = await daemon.unix();
  both.serve(Battery, { GetLevel: () => ({ percent: 42 }) });
  both.serve(Secrets, { GetSecret: () => ({ secret: SECRET }) });
  await both.requestName(Battery.name);
  // One serving only the secrets, under a name panel may call.
  aliased = await daemon.unix();
  aliased.serve(Secrets, { GetSecret: () => ({ secret: SECRET }) });
  await aliased.requestName('org.example.Alias');
});
afterAll(async () => {
  await Promise.all([both.close(), aliased.close()]);
  await daemon.cleanup();
});

it('panel over the WebSocket cannot reach GetSecret through an allowed destination', async () => {
  const panel = await daemon.ws(PANEL_TOKEN);
  try {
    expect(await panel.call(Battery, 'GetLevel', {}, { timeoutMs: 10_000 })).toEqual({ percent: 42 });
    // The interface names the secrets: checked, denied.
    await expect(
      panel.call(Secrets, 'GetSecret', {}, { destination: Battery.name, timeoutMs: 10_000 }),
    ).rejects.toMatchObject({ code: 'NOT_PERMITTED' });
    // No interface (untyped): the call is for the name addressed, and only that contract answers.
    await expect(panel.call(Battery.name, 'GetSecret', {}, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'UNKNOWN_METHOD',
    });
    await expect(
      panel.call('org.example.Alias', 'GetSecret', {}, { timeoutMs: 10_000 }),
    ).rejects.toMatchObject({
      code: 'UNKNOWN_METHOD',
    });
  } finally {
    await panel.close();
  }
});

it('over the Unix socket, where the deny rule does not apply, panel reaches the same contract', async () => {
  const panel = await daemon.unix(PANEL_TOKEN);
  try {
    expect(
      await panel.call(Secrets, 'GetSecret', {}, { destination: Battery.name, timeoutMs: 10_000 }),
    ).toEqual({ secret: SECRET });
    expect(
      await panel.call(Secrets, 'GetSecret', {}, { destination: 'org.example.Alias', timeoutMs: 10_000 }),
    ).toEqual({ secret: SECRET });
  } finally {
    await panel.close();
  }
});
