import { type Bus, connect, defineGroup, PublishError, type SignalMeta, z } from '@chorus/client';
import { decodePayload } from '@chorus/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { RawClient } from './harness/raw-client.js';
import { until, untilStalled } from './harness/wait.js';

// Publishes against the real daemon: the daemon answers an accepted publish with nothing, a
// refused one with an err naming its group and signal, which the SDK reports as a PublishError
// on bus.on('publishError'), in order with the other publishes; flush() waits until the daemon
// handled everything before it; and a publisher to a group with a recipient that does not read
// stops at the SDK's window instead of buffering. [GUARANTEE: publish]

let groups = 0;
function stream() {
  return defineGroup(`test.publish.Stream${++groups}`, {
    signals: { Tick: z.object({ i: z.number().int().nonnegative(), pad: z.string() }) },
  });
}

let daemon: RunningDaemon & { cleanup(): Promise<void> };
const buses: Bus[] = [];
const raws: RawClient[] = [];
beforeAll(async () => {
  // Small queues, so that a recipient that does not read blocks the publisher quickly; a long
  // stall timeout, so that it is not evicted meanwhile.
  daemon = await withDaemon({
    config: { limits: { maxQueueBytes: 64 * 1024, maxSocketBufferBytes: 4 * 1024, stallTimeoutMs: 30_000 } },
  });
});
afterAll(async () => {
  for (const raw of raws) raw.close();
  await Promise.all(buses.map((bus) => bus.close()));
  await daemon?.cleanup();
});

async function open(options: Omit<Parameters<typeof connect>[0], 'address'> = {}): Promise<Bus> {
  const bus = await connect({ address: daemon.address, ...options });
  buses.push(bus);
  return bus;
}

async function member(contract: ReturnType<typeof stream>) {
  const bus = await open();
  const ticks: { i: number; groupSeq: number }[] = [];
  (await bus.join(contract)).on('Tick', ({ i }, meta: SignalMeta) =>
    ticks.push({ i, groupSeq: meta.groupSeq }),
  );
  return { bus, ticks };
}

describe('publish', () => {
  it('delivers accepted publishes in order, and flush resolves once the daemon handled them', async () => {
    const Stream = stream();
    const owner = await open();
    const group = await owner.createGroup(Stream, { onFull: 'block' });
    const { bus, ticks } = await member(Stream);
    const errors: unknown[] = [];
    owner.on('publishError', (error) => errors.push(error));
    owner.on('error', (error) => errors.push(error));
    for (let i = 0; i < 3000; i++) {
      const wait = group.publish('Tick', { i, pad: 'x' });
      if (wait !== undefined) await wait;
    }
    await owner.flush();
    // Handled by the daemon: queued for the member in order (its ping orders after them).
    await bus.ping();
    await until(() => ticks.length === 3000, 'every publish delivered');
    expect(ticks.map((t) => t.i)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(ticks.map((t) => t.groupSeq)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    expect(errors).toEqual([]);
  });

  it('reports a refused publish as a PublishError naming its signal, in order with the later ones', async () => {
    const Stream = stream();
    const owner = await open();
    await owner.createGroup(Stream, { emitters: 'owner' });
    const { ticks } = await member(Stream);
    const other = await open();
    const seen: string[] = [];
    other.on('publishError', (error) => {
      expect(error).toBeInstanceOf(PublishError);
      seen.push(`${error.code} ${error.group} ${error.signal}`);
    });
    // Untyped, so the SDK checks nothing: the daemon checks the group's published contract.
    other.publish(Stream.name, 'Tick', { i: 1, pad: 'x' }); // not permitted: emitters is owner
    other.publish('test.publish.Nowhere', 'Gone', 1); // no such group
    const group = await owner.createGroup(stream(), { emitters: 'anyone' });
    other.publish(group.name, 'Tick', { i: 'one' }); // does not fit the contract
    other.publish(group.name, 'Tick', { i: 2, pad: 'y' }); // fine: no error
    other.publish(group.name, 'Nope', {}); // no such signal in the contract
    await other.flush();
    expect(seen).toEqual([
      `NOT_PERMITTED ${Stream.name} Tick`,
      'UNKNOWN_GROUP test.publish.Nowhere Gone',
      `INVALID_PAYLOAD ${group.name} Tick`,
      `INVALID_PAYLOAD ${group.name} Nope`,
    ]);
    expect(ticks).toEqual([]);
  });

  it('a publisher to a group with a recipient that does not read stops at the window', async () => {
    const Stream = stream();
    const maxInFlight = 64;
    const owner = await open({ maxInFlight });
    const group = await owner.createGroup(Stream, { onFull: 'block' });
    const fast = await member(Stream);
    const { ticks } = fast;
    const stalled = await RawClient.open(daemon.socketPath);
    raws.push(stalled);
    expect((await stalled.request({ t: 'join', s: 1, g: Stream.name })).message).toMatchObject({ t: 'ok' });
    stalled.socket.pause();

    const COUNT = 5000;
    const pad = 'x'.repeat(1000);
    let sent = 0;
    const publisher = (async () => {
      for (let i = 0; i < COUNT; i++) {
        const wait = group.publish('Tick', { i, pad });
        if (wait !== undefined) await wait;
        sent++;
      }
    })();
    const stalledAt = await untilStalled(() => sent);
    // The member has every publish the daemon accepted (its ping's answer comes after them).
    await fast.bus.ping();
    // [GUARANTEE: memory] stopped with most of it unsent: what it wrote and the daemon has not
    // accepted is at most one window (maxInFlight publishes), whatever the daemon does.
    expect(stalledAt).toBeLessThan(COUNT);
    expect(stalledAt - ticks.length).toBeLessThanOrEqual(maxInFlight);

    stalled.socket.resume();
    await publisher;
    await owner.flush();
    await until(() => ticks.length === COUNT, 'every publish delivered');
    expect(ticks.map((t) => t.i)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    await stalled.waitFor(
      (r) => r.message.t === 'sig' && (decodePayload(r.payload) as { i: number }).i === COUNT - 1,
      20_000,
    );
  });
});
