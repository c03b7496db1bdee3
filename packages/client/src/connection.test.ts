// The emit path of a connection: frames built at the call (payload encoded straight into them),
// emits beyond maxInFlight waiting in line with their own frame, answers read by the fast path or
// the generic parser alike, and the typed errors of an emit that cannot be sent.

import { decodePayload, encodeEmitReplyFrame, FRAME_PREFIX_BYTES } from '@chorus/protocol';
import { describe, expect, it } from 'vitest';
import { connect, defineGroup, isChorusError, z } from './index.js';
import { connectToFake, FakeDaemon, settle } from './testing/fake-daemon.js';
import { createMemoryTransportPair } from './transports/memory.js';
import type { Transport } from './transports/transport.js';

const Battery = defineGroup('org.example.Battery', {
  signals: { LevelChanged: z.object({ percent: z.number().min(0).max(100) }) },
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isChorusError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** Answers nothing to emits: the test answers them, by serial. */
function silentEmits(daemon: FakeDaemon): void {
  daemon.respond('emit', () => undefined);
}

function percents(daemon: FakeDaemon): unknown[] {
  return daemon.all('emit').map((r) => (decodePayload(r.payload) as { percent: number }).percent);
}

function serialOf(daemon: FakeDaemon, index: number): number {
  const received = daemon.all('emit')[index];
  if (received === undefined) throw new Error(`no emit #${index} yet`);
  return (received.message as { s: number }).s;
}

describe('emit answers', () => {
  it('resolves with what the daemon answered, however the ok is laid out', async () => {
    const { bus, daemon } = await connectToFake({}, silentEmits);
    const group = await bus.createGroup(Battery);
    const fast = group.emit('LevelChanged', { percent: 1 });
    const generic = group.emit('LevelChanged', { percent: 2 });
    const empty = group.emit('LevelChanged', { percent: 3 });
    await settle();
    // encodeEmitReplyFrame's layout (the fast path), then other key orders and no result at all
    // (the generic parser): the same answers either way.
    const reply = encodeEmitReplyFrame(serialOf(daemon, 0), 2 ** 40, 7, 3);
    daemon.transport.write(reply);
    daemon.send({ t: 'ok', s: serialOf(daemon, 1), r: { n: 4, gseq: 8, seq: 2 ** 40 + 1 } });
    daemon.send({ t: 'ok', s: serialOf(daemon, 2) });
    expect(await fast).toEqual({ seq: 2 ** 40, groupSeq: 7, recipients: 3 });
    expect(await generic).toEqual({ seq: 2 ** 40 + 1, groupSeq: 8, recipients: 4 });
    expect(await empty).toEqual({ seq: 0, groupSeq: 0, recipients: 0 });
    expect(reply.length).toBeGreaterThan(FRAME_PREFIX_BYTES);
    await bus.close();
  });

  it('settles an emit answered before it was sent (a daemon bug) and never sends it', async () => {
    const { bus, daemon } = await connectToFake({ maxInFlight: 1 }, silentEmits);
    const first = bus.emit('g', 's', 1);
    const second = bus.emit('g', 's', 2); // no room: waits, its serial reserved
    await settle();
    const serial = serialOf(daemon, 0);
    daemon.send({ t: 'ok', s: serial + 1, r: { seq: 9, gseq: 9, n: 0 } });
    expect(await second).toEqual({ seq: 9, groupSeq: 9, recipients: 0 });
    daemon.send({ t: 'ok', s: serial, r: { seq: 1, gseq: 1, n: 0 } });
    await first;
    // The slot went on (not to the settled emit): the next emit leaves at once.
    const third = bus.emit('g', 's', 3);
    await settle();
    expect(daemon.all('emit').map((r) => decodePayload(r.payload))).toEqual([1, 3]);
    daemon.send({ t: 'ok', s: serialOf(daemon, 1), r: { seq: 2, gseq: 2, n: 0 } });
    await third;
    await bus.close();
  });
});

describe('emits beyond maxInFlight', () => {
  it('send the value as it was at the call, not as it is when their turn comes', async () => {
    const { bus, daemon } = await connectToFake({ maxInFlight: 1 }, silentEmits);
    const group = await bus.createGroup(Battery);
    const value = { percent: 1 };
    const first = group.emit('LevelChanged', value);
    value.percent = 2;
    const second = group.emit('LevelChanged', value);
    value.percent = 3;
    await settle();
    daemon.send({ t: 'ok', s: serialOf(daemon, 0), r: { seq: 1, gseq: 1, n: 0 } });
    await first;
    await settle();
    expect(percents(daemon)).toEqual([1, 2]);
    daemon.send({ t: 'ok', s: serialOf(daemon, 1), r: { seq: 2, gseq: 2, n: 0 } });
    await second;
    await bus.close();
  });

  it('reject a frame too large at once, send nothing of it, and keep the order of the rest', async () => {
    const { bus, daemon } = await connectToFake({ maxInFlight: 1 }, (d) => {
      silentEmits(d);
      d.limits = { maxFrameBytes: 100, maxQueueBytes: 1000 };
    });
    const first = bus.emit('g', 's', 'a');
    const large = bus.emit('g', 's', 'x'.repeat(200));
    const third = bus.emit('g', 's', 'c');
    expect(await codeOf(large)).toBe('MESSAGE_TOO_LARGE');
    daemon.send({ t: 'ok', s: serialOf(daemon, 0), r: { seq: 1, gseq: 1, n: 0 } });
    await first;
    await settle();
    daemon.send({ t: 'ok', s: serialOf(daemon, 1), r: { seq: 2, gseq: 2, n: 0 } });
    await third;
    expect(daemon.all('emit').map((r) => decodePayload(r.payload))).toEqual(['a', 'c']);
    await bus.close();
  });

  it('reject a value MessagePack cannot encode as invalid, sending nothing, with room or without', async () => {
    const { bus, daemon } = await connectToFake({ maxInFlight: 1 }, silentEmits);
    expect(await codeOf(bus.emit('g', 's', { f: () => 1 }))).toBe('INVALID_PAYLOAD');
    const first = bus.emit('g', 's', 1);
    expect(await codeOf(bus.emit('g', 's', 10n))).toBe('INVALID_PAYLOAD');
    await settle();
    daemon.send({ t: 'ok', s: serialOf(daemon, 0), r: { seq: 1, gseq: 1, n: 0 } });
    await first;
    expect(daemon.all('emit').map((r) => decodePayload(r.payload))).toEqual([1]);
    await bus.close();
  });

  it('reject with CONNECTION_CLOSED when the bus closes before their turn', async () => {
    const { bus, daemon } = await connectToFake({ maxInFlight: 1 }, silentEmits);
    const first = bus.emit('g', 's', 1);
    const waiting = bus.emit('g', 's', 2);
    await settle();
    const closed = bus.close();
    expect(await codeOf(waiting)).toBe('CONNECTION_CLOSED');
    // The emit already sent still gets its answer: close() waits for it.
    daemon.send({ t: 'ok', s: serialOf(daemon, 0), r: { seq: 1, gseq: 1, n: 0 } });
    expect(await first).toEqual({ seq: 1, groupSeq: 1, recipients: 0 });
    await closed;
    expect(daemon.all('emit')).toHaveLength(1);
  });
});

describe('frame buffers', () => {
  it("are the transport's own when it offers an allocator, and every byte of them is written", async () => {
    // Reason: the unix transport hands out Buffer.allocUnsafe memory; a byte left unwritten would
    // send old process memory to the daemon.
    const [client, server] = createMemoryTransportPair();
    const sizes: number[] = [];
    const transport: Transport = {
      write: (bytes) => client.write(bytes),
      allocate: (size) => {
        sizes.push(size);
        return new Uint8Array(size).fill(0xee);
      },
      pause: () => client.pause(),
      resume: () => client.resume(),
      close: () => client.close(),
      [Symbol.asyncIterator]: () => client[Symbol.asyncIterator](),
    };
    const daemon = new FakeDaemon(server);
    const bus = await connect({ transport });
    const group = await bus.createGroup(Battery);
    const results = await Promise.all([1, 2, 3].map((percent) => group.emit('LevelChanged', { percent })));
    expect(results.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(percents(daemon)).toEqual([1, 2, 3]);
    expect(daemon.all('emit').map((r) => r.message)).toEqual(
      [1, 2, 3].map((_, i) => ({
        t: 'emit',
        s: serialOf(daemon, i),
        g: Battery.name,
        sig: 'LevelChanged',
      })),
    );
    expect(sizes).toHaveLength(3);
    await bus.close();
  });
});

describe('a transport whose write throws', () => {
  it('rejects the emit with what it threw, and gives its slot back', async () => {
    const [client, server] = createMemoryTransportPair();
    const failure = new Error('write failed');
    let failing = false;
    const transport: Transport = {
      write: (bytes) => {
        if (failing) throw failure;
        client.write(bytes);
      },
      pause: () => client.pause(),
      resume: () => client.resume(),
      close: () => client.close(),
      [Symbol.asyncIterator]: () => client[Symbol.asyncIterator](),
    };
    const daemon = new FakeDaemon(server);
    const bus = await connect({ transport, maxInFlight: 1 });
    const group = await bus.createGroup(Battery);
    failing = true;
    await expect(group.emit('LevelChanged', { percent: 1 })).rejects.toBe(failure);
    failing = false;
    // With maxInFlight 1, a slot kept by the failed emit would hold this one back forever.
    expect((await group.emit('LevelChanged', { percent: 2 })).seq).toBe(1);
    expect(percents(daemon)).toEqual([2]);
    await bus.close();
  });
});
