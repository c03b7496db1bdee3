import { encodeFrame } from '@chorus/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from '../harness/daemon.js';
import { RawClient } from '../harness/raw-client.js';

// Issue 7: the wire spec (packages/protocol/README.md, Errors) says a BAD_FIELD `err` carries
// `data: { path }`, the keys from the header root to the bad field; the daemon sent only code and
// message, so a client could not tell which field it got wrong. Found by test/fuzz.test.ts, whose
// oracle is the codec's own `toErrorReply()`.

let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon({ args: ['--no-ws'] });
});
afterAll(async () => {
  await daemon?.cleanup();
});

it('answers BAD_FIELD with the path of the bad field, and the serial', async () => {
  const peer = await RawClient.open(daemon.socketPath);
  peer.socket.write(
    encodeFrame({ t: 'join', s: 9, g: 'test.a.B', f: [{ sig: 'S', eq: { level: [1] } }] } as never),
  );
  peer.socket.write(encodeFrame({ s: 10 } as never));
  await peer.ping();
  expect(peer.unmatched.map((f) => f.message)).toEqual([
    expect.objectContaining({ t: 'err', s: 9, code: 'BAD_FIELD', data: { path: ['f', 0, 'eq', 'level'] } }),
    expect.objectContaining({ t: 'err', s: 10, code: 'BAD_FIELD', data: { path: ['t'] } }),
  ]);
  peer.close();
});
