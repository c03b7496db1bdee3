import { setTimeout as sleep } from 'node:timers/promises';
import { type Bus, bytes, connect, defineGroup, z } from '@chorus/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';

// The SDK reads every Unix socket into one buffer that the next read overwrites (issue 17:
// packages/protocol/src/read-buffer.ts). The attack: everything an application can keep from a
// read — bytes values handed to a handler, messages held by an iterator that reads slowly, held
// before anyone consumes them, a method call's bytes answer read after other awaits — must still
// hold what was sent long after many more reads went through the same buffer, over the real
// daemon. A view of the buffer kept anywhere shows up here as changed bytes.

const Blobs = defineGroup('test.readbuf.Blobs', {
  signals: { Blob: z.object({ i: z.number().int(), data: bytes() }) },
  methods: { Get: { input: z.object({ i: z.number().int() }), output: z.object({ data: bytes() }) } },
});

const COUNT = 3000;
/** Payload i: 700 bytes (a read of 64 KiB holds about 90) whose every byte depends on i. */
function blob(i: number): Uint8Array {
  return new Uint8Array(700).map((_, k) => (i * 31 + k * 7) & 0xff);
}
function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, k) => v === b[k]);
}

let daemon: RunningDaemon & { cleanup(): Promise<void> };
const buses: Bus[] = [];
async function bus(client: string): Promise<Bus> {
  const b = await connect({ address: daemon.address, client });
  buses.push(b);
  return b;
}
beforeAll(async () => {
  daemon = await withDaemon();
});
afterAll(async () => {
  for (const b of buses) await b.close();
  await daemon?.cleanup();
});

it('bytes kept by handlers, slow iterators and held subscriptions are what was sent', async () => {
  const owner = await bus('readbuf-owner');
  const group = await owner.createGroup(Blobs, { onFull: 'block' });
  // Three connections of one process: they read into the same buffer.
  const [a, b, c] = [await bus('readbuf-handler'), await bus('readbuf-iterator'), await bus('readbuf-held')];
  // A handler that keeps every value; an iterator that reads one message per timer tick (the
  // rest wait in its buffer, across many reads); a subscription nobody consumes until the end.
  const kept: Uint8Array[] = [];
  const viaHandler = await a.join(Blobs);
  viaHandler.on('Blob', ({ i, data }) => {
    kept[i] = data;
  });
  const viaIterator = await b.join(Blobs);
  const held = await c.join(Blobs);
  const iterated: Uint8Array[] = [];
  const reading = (async () => {
    for await (const { payload } of viaIterator) {
      iterated[payload.i] = payload.data;
      if (payload.i % 100 === 0) await sleep(1);
      if (payload.i === COUNT - 1) return;
    }
  })();
  for (let i = 0; i < COUNT; i++) {
    const waiting = group.publish('Blob', { i, data: blob(i) });
    if (waiting !== undefined) await waiting;
  }
  await owner.flush();
  await reading;
  const later: Uint8Array[] = [];
  for await (const { payload } of held) {
    later[payload.i] = payload.data;
    if (payload.i === COUNT - 1) break;
  }
  for (const [name, got] of [
    ['handler', kept],
    ['iterator', iterated],
    ['held', later],
  ] as const) {
    const wrong = Array.from({ length: COUNT }, (_, i) => i).filter((i) => {
      const data = got[i];
      return data === undefined || !same(data, blob(i));
    });
    expect(wrong.length, `${name}: messages whose bytes changed or are missing`).toBe(0);
  }
});

it("a call's bytes answer, read after other awaits, is what the service sent", async () => {
  const service = await bus('readbuf-service');
  await service.requestName(Blobs.name);
  service.serve(Blobs, { Get: ({ i }) => ({ data: blob(i) }) });
  const caller = await bus('readbuf-caller');
  await caller.waitForName(Blobs.name);
  // 64 calls in flight: their answers share reads; each is looked at only after a timer.
  const answers = await Promise.all(
    Array.from({ length: 256 }, async (_, i) => {
      const answer = await caller.call(Blobs, 'Get', { i });
      await sleep(5);
      return same(answer.data, blob(i));
    }),
  );
  expect(answers.filter((ok) => !ok).length, 'answers whose bytes changed').toBe(0);
});
