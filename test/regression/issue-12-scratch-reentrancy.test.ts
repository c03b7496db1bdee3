import { type BusAddress, connect, connectUnix, defineGroup, type Transport, z } from '@chorus/client';
import { expect, it } from 'vitest';
import { withDaemon } from '../harness/daemon.js';

// Found while writing down the re-entrancy rule of each scratch buffer (issue 12, item 4): an
// emit's payload is encoded into a buffer shared by every emit of the process (the hand-written
// encoder's scratch, or the shared @msgpack/msgpack Encoder's), and then copied into the frame
// the transport's `allocate` gives. `allocate` is the application's code (a Transport is public),
// so it can emit too, on this bus or another one: that emit was encoded into the same shared
// buffer, over the payload not yet copied, and the first signal went out with the bytes of the
// second. The shared buffers are now lent until the copy is done; an emit made meanwhile encodes
// elsewhere.

const App = defineGroup('test.regression.LentScratch', {
  signals: {
    // Plain values: the hand-written encoder writes them.
    Plain: z.object({ text: z.string(), n: z.number() }),
    // A Date: the hand-written encoder declines it and the shared @msgpack/msgpack Encoder writes it.
    Dated: z.object({ text: z.string(), at: z.date() }),
  },
});

const Metrics = defineGroup('test.regression.LentScratchMetrics', {
  signals: {
    Plain: z.object({ size: z.number(), note: z.string() }),
    Dated: z.object({ size: z.number(), at: z.date() }),
  },
});

/** A unix transport whose `allocate` runs `during` first, as an instrumented transport might. */
async function instrumented(
  address: BusAddress,
  signal: AbortSignal,
  during: (size: number) => void,
): Promise<Transport> {
  if (address.kind !== 'unix') throw new Error('unix addresses only');
  const inner = await connectUnix(address.path, { signal });
  return {
    [Symbol.asyncIterator]: () => inner[Symbol.asyncIterator](),
    write: (bytes) => inner.write(bytes),
    allocate: (size) => {
      during(size);
      return inner.allocate?.(size) ?? new Uint8Array(size);
    },
    pause: () => inner.pause(),
    resume: () => inner.resume(),
    close: () => inner.close(),
  };
}

it("a payload reaches its subscribers intact when the transport's allocate emits too", async () => {
  const daemon = await withDaemon();
  try {
    const metricsBus = await connect({ address: daemon.address });
    // A Date has no JSON Schema form, so a typed createGroup refuses these contracts (issue 14):
    // the groups are created untyped (emits encode the same way), and the listener's typed join
    // still validates every payload it receives.
    const metrics = await metricsBus.createGroup(Metrics.name, { emitters: 'owner' });
    const sideEmits: Promise<unknown>[] = [];
    const app = await connect({
      address: daemon.address,
      transport: (address, signal) =>
        instrumented(address, signal, (size) => {
          // The same length as the app's payloads would be a worse case; any emit is enough.
          sideEmits.push(metrics.emit('Plain', { size, note: 'allocate' }));
          sideEmits.push(metrics.emit('Dated', { size, at: new Date(size) }));
        }),
    });
    const group = await app.createGroup(App.name, { emitters: 'owner' });

    const listener = await connect({ address: daemon.address });
    const received: unknown[] = [];
    const subscription = await listener.join(App);
    subscription.on('Plain', (value) => received.push(value));
    subscription.on('Dated', (value) => received.push(value));
    // A payload overwritten in flight fails validation (or decoding): it arrives, as an error.
    subscription.on('invalid', (error) => received.push({ invalid: error.issues }));

    const sent: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      const plain = { text: `plain payload number ${i}`, n: i };
      const dated = { text: `dated payload number ${i}`, at: new Date(1_700_000_000_000 + i) };
      sent.push(plain, dated);
      await group.emit('Plain', plain);
      await group.emit('Dated', dated);
    }
    await Promise.all(sideEmits);
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(sent.length);
    expect(received).toEqual(sent);
    await Promise.all([app.close(), metricsBus.close(), listener.close()]);
  } finally {
    await daemon.cleanup();
  }
});
