import { decodePayload, encodePayload } from '@chorus/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { RawClient } from './harness/raw-client.js';

// [GUARANTEE: causal order] if B emits M2 after receiving M1, whoever receives both gets M1
// first — even though M1 and M2 travel on different groups from different senders.

let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon();
});
afterAll(async () => {
  await daemon.cleanup();
});

it('a reply to a signal never overtakes the signal at a third party', async () => {
  const a = await RawClient.open(daemon.socketPath);
  const b = await RawClient.open(daemon.socketPath);
  await a.request({ t: 'create', s: 1, g: 'org.causal.Questions' });
  await b.request({ t: 'create', s: 1, g: 'org.causal.Answers' });
  await b.request({ t: 'join', s: 2, g: 'org.causal.Questions' });
  const c = await RawClient.open(daemon.socketPath, {
    join: [{ g: 'org.causal.Answers' }, { g: 'org.causal.Questions' }],
  });
  // B answers every question as soon as it sees it.
  let read = 0;
  let serial = 10;
  b.socket.on('data', () => {
    for (; read < b.received.length; read++) {
      const r = b.received[read];
      if (r?.message.t !== 'sig' || r.message.g !== 'org.causal.Questions') continue;
      b.send({ t: 'emit', s: serial++, g: 'org.causal.Answers', sig: 'Answer' }, r.payload);
    }
  });
  const n = 1000;
  for (let i = 0; i < n; i++)
    a.send({ t: 'emit', s: 10 + i, g: 'org.causal.Questions', sig: 'Question' }, encodePayload(i));
  const sigs = () => c.received.filter((r) => r.message.t === 'sig');
  for (let i = 0; i < 600 && sigs().length < 2 * n; i++) await new Promise((r) => setTimeout(r, 50));
  expect(sigs().length).toBe(2 * n);
  const seen = new Set<number>();
  for (const r of sigs()) {
    const value = decodePayload(r.payload) as number;
    const group = (r.message as { g: string }).g;
    if (group === 'org.causal.Questions') seen.add(value);
    else expect(seen.has(value), `answer ${value} arrived before its question`).toBe(true);
  }
  const seqs = sigs().map((r) => (r.message as { seq: number }).seq);
  expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  for (const x of [a, b, c]) x.close();
});
