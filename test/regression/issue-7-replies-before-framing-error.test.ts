import { encodeFrame, encodePayload } from '@chorus/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from '../harness/daemon.js';
import { RawClient } from '../harness/raw-client.js';

// Issue 7: on a framing error the daemon wrote its fatal `err` straight to the socket and dropped
// the connection's queue, so requests the client had sent before the bad bytes lost their replies
// (a ping, or an emit that was accepted and delivered to everyone else) although each request is
// answered exactly once. Now what was queued goes first, then the fatal `err`, then the close.
// Found by test/fuzz.test.ts (framing errors after valid requests).

let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon({ args: ['--no-ws'] });
});
afterAll(async () => {
  await daemon?.cleanup();
});

it('answers the requests before a framing error, then sends the fatal error and closes', async () => {
  const service = await RawClient.open(daemon.socketPath);
  await service.ok({ t: 'create', g: 'test.framing.G' });
  const member = await RawClient.open(daemon.socketPath);
  await member.ok({ t: 'join', g: 'test.framing.G' });

  const zeroLength = new Uint8Array(8); // headerLength 0: BAD_LENGTH
  service.socket.write(
    Buffer.concat([
      encodeFrame({ t: 'ping', s: 1 }),
      encodeFrame({ t: 'emit', s: 2, g: 'test.framing.G', sig: 'Tick' }, encodePayload({ i: 0 })),
      zeroLength,
    ]),
  );
  await service.whenClosed;
  expect(service.unmatched.map((f) => f.message)).toEqual([
    expect.objectContaining({ t: 'ok', s: 1 }),
    expect.objectContaining({ t: 'ok', s: 2, r: expect.objectContaining({ gseq: 1, n: 1 }) }),
    expect.objectContaining({ t: 'err', code: 'BAD_LENGTH', fatal: true }),
  ]);
  await member.ping();
  expect(member.unmatched.map((f) => f.message.t)).toEqual(['sig', 'gclosed']);
  member.close();
});
