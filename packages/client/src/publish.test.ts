// Publishes: emits the daemon answers only when they fail. The window they share with emits
// (a checkpoint ping gives their slots back), the promise only when it is full, flush, and the
// typed PublishError a refusal becomes, in wire order.

import { decodePayload, type EmitRequest } from '@chorus/protocol';
import { describe, expect, it } from 'vitest';
import { defineGroup, isChorusError, PublishError, z } from './index.js';
import { connectToFake, type FakeDaemon, settle } from './testing/fake-daemon.js';

const Battery = defineGroup('org.example.Battery', {
  signals: { LevelChanged: z.object({ percent: z.number().min(0).max(100) }) },
});

function percents(daemon: FakeDaemon): unknown[] {
  return daemon.all('emit').map((r) => (decodePayload(r.payload) as { percent: number }).percent);
}

/** Holds the answers to pings (checkpoints and flushes) until `release`; `resume` answers them again. */
function heldPings(daemon: FakeDaemon): { release(): void; resume(): void } {
  const held: number[] = [];
  daemon.respond('ping', (received) => {
    held.push((received.message as { s: number }).s);
    return undefined;
  });
  const release = () => {
    for (const s of held.splice(0)) daemon.send({ t: 'ok', s, r: {} });
  };
  return {
    release,
    resume() {
      daemon.respond('ping', (received) => [{ t: 'ok', s: (received.message as { s: number }).s, r: {} }]);
      release();
    },
  };
}

describe('publish', () => {
  it('sends an emit with q: true, in call order with emits, and returns undefined while there is room', async () => {
    const { bus, daemon } = await connectToFake();
    const group = await bus.createGroup(Battery);
    expect(group.publish('LevelChanged', { percent: 1 })).toBeUndefined();
    const emitted = group.emit('LevelChanged', { percent: 2 });
    expect(bus.publish(Battery, 'LevelChanged', { percent: 3 })).toBeUndefined();
    expect(bus.publish('org.example.Other', 'Any', 'untyped')).toBeUndefined();
    await emitted;
    await bus.flush();
    const emits = daemon.all('emit').map((r) => r.message as EmitRequest);
    expect(emits.map((m) => m.q === true)).toEqual([true, false, true, true]);
    expect(percents(daemon).slice(0, 3)).toEqual([1, 2, 3]);
    await bus.close();
  });

  it('throws what the SDK can tell at once, having sent nothing', async () => {
    const { bus, daemon } = await connectToFake();
    const group = await bus.createGroup(Battery);
    expect(() => group.publish('LevelChanged', { percent: 101 })).toThrow(/percent/);
    expect(() => bus.publish('a.b', 'S', () => 1)).toThrow(
      expect.objectContaining({ code: 'INVALID_PAYLOAD' }),
    );
    expect(() => bus.publish('a.b', 'S', new Uint8Array(2_000_000))).toThrow(
      expect.objectContaining({ code: 'MESSAGE_TOO_LARGE' }),
    );
    await bus.flush();
    expect(daemon.all('emit')).toHaveLength(0);
    await bus.close();
    expect(() => group.publish('LevelChanged', { percent: 1 })).toThrow(
      expect.objectContaining({ code: 'CONNECTION_CLOSED' }),
    );
  });

  it('reports a refusal as a PublishError naming group and signal, in order', async () => {
    const { bus, daemon } = await connectToFake({}, (d) => {
      d.respond('emit', (received) => {
        const m = received.message as EmitRequest;
        if (m.sig !== 'Bad') return [];
        return [{ t: 'err', s: m.s, code: 'NOT_PERMITTED', msg: 'no', g: m.g, sig: m.sig }];
      });
    });
    const seen: string[] = [];
    bus.on('publishError', (error) => {
      expect(error).toBeInstanceOf(PublishError);
      seen.push(`${error.group} ${error.signal} ${error.code}`);
    });
    bus.publish('a.b', 'Good', 1);
    bus.publish('a.b', 'Bad', 2);
    bus.publish('c.d', 'Bad', 3);
    await bus.flush();
    // Everything before the flush was handled, so its refusals were reported before it resolved.
    expect(seen).toEqual(['a.b Bad NOT_PERMITTED', 'c.d Bad NOT_PERMITTED']);
    expect(daemon.all('ping')).toHaveLength(1);
    await bus.close();
  });

  it("goes to on('error') when nobody listens for publishError", async () => {
    const { bus } = await connectToFake({}, (d) => {
      d.respond('emit', (r) => {
        const m = r.message as EmitRequest;
        return [{ t: 'err', s: m.s, code: 'UNKNOWN_GROUP', msg: 'none', g: m.g, sig: m.sig }];
      });
    });
    const errors: unknown[] = [];
    bus.on('error', (error) => errors.push(error));
    bus.publish('a.b', 'S', 1);
    await bus.flush();
    expect(errors).toHaveLength(1);
    expect(isChorusError(errors[0], 'UNKNOWN_GROUP') && errors[0] instanceof PublishError).toBe(true);
    await bus.close();
  });

  it('holds a slot of the window per publish until a checkpoint ping is answered', async () => {
    let pings = { release() {}, resume() {} };
    const { bus, daemon } = await connectToFake({ maxInFlight: 8 }, (d) => {
      pings = heldPings(d);
    });
    const group = await bus.createGroup(Battery);
    // A checkpoint every 2 (a quarter of 8); the window is full after 8.
    for (let i = 0; i < 8; i++) expect(group.publish('LevelChanged', { percent: i })).toBeUndefined();
    const waiting = group.publish('LevelChanged', { percent: 8 });
    expect(waiting).toBeInstanceOf(Promise);
    // An emit waits behind it: call order.
    const emitted = group.emit('LevelChanged', { percent: 9 });
    await settle();
    expect(percents(daemon)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(daemon.all('ping')).toHaveLength(4);
    let written = false;
    void waiting?.then(() => {
      written = true;
    });
    await settle();
    expect(written).toBe(false);
    pings.release();
    await waiting;
    await emitted;
    expect(percents(daemon)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await bus.close();
  });

  it('keeps what the SDK holds bounded when the daemon stops confirming', async () => {
    let pings = { release() {}, resume() {} };
    const { bus, daemon } = await connectToFake({ maxInFlight: 16, maxInFlightBytes: 1 << 20 }, (d) => {
      pings = heldPings(d);
    });
    const group = await bus.createGroup(Battery);
    let sent = 0;
    // A publisher that awaits the promise when it gets one: it stops, it does not buffer.
    const publisher = (async () => {
      for (let i = 0; i < 1000; i++) {
        const wait = group.publish('LevelChanged', { percent: i % 100 });
        if (wait !== undefined) await wait;
        sent++;
      }
    })();
    await settle();
    await settle();
    // The 17th waits for room: its frame is the only one held, and nothing more is written.
    expect(sent).toBe(16);
    expect(daemon.all('emit')).toHaveLength(16);
    // Confirmations come again: it goes on to the end, in order.
    pings.resume();
    await publisher;
    await bus.flush();
    expect(percents(daemon)).toEqual(Array.from({ length: 1000 }, (_, i) => i % 100));
    await bus.close();
  });

  it('flush waits for publishes still in line, and rejects when the bus closes first', async () => {
    let pings = { release() {}, resume() {} };
    const { bus, daemon } = await connectToFake({ maxInFlight: 4 }, (d) => {
      pings = heldPings(d);
    });
    for (let i = 0; i < 4; i++) bus.publish('a.b', 'S', i);
    const later = bus.publish('a.b', 'S', 4);
    const flushed = bus.flush();
    await settle();
    // The flush's ping is not written before the publish that waits for room.
    const pingsBefore = daemon.all('ping').length;
    pings.release();
    await later;
    await settle();
    expect(daemon.all('ping').length).toBeGreaterThan(pingsBefore);
    pings.release();
    await flushed;
    expect(daemon.all('emit')).toHaveLength(5);
    bus.publish('a.b', 'S', 5);
    const never = bus.flush();
    // The connection is lost before the daemon confirmed: the flush cannot say it was handled.
    await daemon.transport.close();
    await expect(never).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    await bus.close();
  });
});
