import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Bus,
  ClientErrorCode,
  connect,
  defineGroup,
  type EmitResult,
  ErrorCode,
  isChorusError,
  type SignalMeta,
  type SubscriptionEndReason,
  z,
} from '@chorus/client';
import { decodePayload } from '@chorus/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { RawClient } from './harness/raw-client.js';
import { expectConsecutive, expectSameSequence } from './harness/records.js';
import { untilStalled } from './harness/wait.js';

// Each `onFull` policy against a deliberately slow consumer: a raw socket that stops reading, or an
// SDK client that never consumes its subscription (it holds a few messages, then stops reading).
// The daemon's buffers are made small, so a stream of COUNT messages of ~1 KiB overflows them (and
// the kernel's socket buffers) several times over. [GUARANTEE: backpressure]

const COUNT = 2000;
const PAD = 'x'.repeat(1000);
// The emitter keeps few emits in flight: the daemon moves queued messages to sockets once per
// event-loop turn, so a burst larger than maxQueueBytes would fill even a consumer that keeps up.
const limits = { maxQueueBytes: 64 * 1024, maxSocketBufferBytes: 4 * 1024 };
const emitterOptions = { maxInFlight: 8 };

let groups = 0;
function stream() {
  return defineGroup(`test.flow.Stream${++groups}`, {
    signals: { Tick: z.object({ i: z.number().int().nonnegative(), pad: z.string() }) },
  });
}
type Stream = ReturnType<typeof stream>;

const buses: Bus[] = [];
const raws: RawClient[] = [];
afterAll(async () => {
  for (const raw of raws) raw.close();
  await Promise.all(buses.map((bus) => bus.close()));
});

async function open(daemon: RunningDaemon, options: Parameters<typeof connect>[0] = {}): Promise<Bus> {
  const bus = await connect({ address: daemon.address, ...options });
  buses.push(bus);
  return bus;
}

type Tick = { i: number; seq: number; groupSeq: number };

/** A consumer that keeps up: records every tick as it arrives. */
async function fastConsumer(daemon: RunningDaemon, contract: Stream) {
  const bus = await open(daemon);
  const ticks: Tick[] = [];
  (await bus.join(contract)).on('Tick', ({ i }, meta: SignalMeta) =>
    ticks.push({ i, seq: meta.seq, groupSeq: meta.groupSeq }),
  );
  return { bus, ticks };
}

/** A raw connection that joins, then stops reading its socket. */
async function stalledSocket(daemon: RunningDaemon, group: string): Promise<RawClient> {
  const raw = await RawClient.open(daemon.socketPath);
  raws.push(raw);
  expect((await raw.request({ t: 'join', s: 1, g: group })).message).toMatchObject({ t: 'ok' });
  raw.socket.pause();
  return raw;
}

/** An SDK client whose subscription nobody consumes: it holds 8 messages, then stops reading. */
async function unconsumed(daemon: RunningDaemon, contract: Stream) {
  // Evicted, it must end rather than reconnect (the default): how it ended is the subject.
  const bus = await open(daemon, { maxHeldMessages: 8, reconnect: false });
  const sub = await bus.join(contract);
  return {
    bus,
    sub,
    /** Consumes it now: what it gets, and how it ended. */
    async drain(): Promise<{ ticks: number[]; error: unknown }> {
      const ticks: number[] = [];
      try {
        for await (const { payload } of sub) ticks.push(payload.i);
        return { ticks, error: undefined };
      } catch (error) {
        return { ticks, error };
      }
    },
  };
}

type Outcome = { ok: EmitResult } | { error: unknown };

/** Emits COUNT ticks at once (the SDK pipelines them) and tracks how they settle. */
function emitAll(emit: (i: number) => Promise<EmitResult>) {
  let settled = 0;
  const outcomes = Array.from({ length: COUNT }, (_, i) =>
    emit(i).then(
      (ok): Outcome => ({ ok }),
      (error: unknown): Outcome => ({ error }),
    ),
  );
  for (const outcome of outcomes) void outcome.finally(() => settled++);
  return { outcomes: Promise.all(outcomes), settled: () => settled };
}

/**
 * emitAll, each emit made only once the consumer `ticks` records has all but `lead` of the earlier
 * ones. Under `evict` a consumer that falls maxQueueBytes behind is rightly a slow consumer, and on
 * a loaded machine a starved "fast" consumer does: paced, it is never more than `lead` behind.
 */
async function emitPaced(
  emit: (i: number) => Promise<EmitResult>,
  ticks: readonly Tick[],
  lead: number,
): Promise<Outcome[]> {
  const outcomes: Promise<Outcome>[] = [];
  for (let i = 0; i < COUNT; i++) {
    while (ticks.length < i - lead) await sleep(1);
    outcomes.push(
      emit(i).then(
        (ok): Outcome => ({ ok }),
        (error: unknown): Outcome => ({ error }),
      ),
    );
  }
  return Promise.all(outcomes);
}

function sigTicks(raw: RawClient): Tick[] {
  return raw.received.flatMap((r) =>
    r.message.t === 'sig'
      ? [{ i: (decodePayload(r.payload) as { i: number }).i, seq: r.message.seq, groupSeq: r.message.gseq }]
      : [],
  );
}

const byI = (ticks: readonly Tick[]) => ticks.map((t) => t.i);
const all = Array.from({ length: COUNT }, (_, i) => i);

describe('with stallTimeoutMs long', () => {
  let daemon: RunningDaemon & { cleanup(): Promise<void> };
  beforeAll(async () => {
    daemon = await withDaemon({ config: { limits: { ...limits, stallTimeoutMs: 30_000 } } });
  });
  afterAll(async () => {
    await daemon?.cleanup();
  });

  it("block: the emitter's emits wait while a consumer does not read, then everyone gets everything in order", async () => {
    const Stream = stream();
    const owner = await open(daemon, emitterOptions);
    const group = await owner.createGroup(Stream, { onFull: 'block' });
    const fast = await fastConsumer(daemon, Stream);
    const slow = await stalledSocket(daemon, Stream.name);

    const emits = emitAll((i) => group.emit('Tick', { i, pad: PAD }));
    const stalledAt = await untilStalled(emits.settled);
    // Stalled with emits pending: the fast consumer has exactly the accepted ones, no more.
    expect(stalledAt).toBeGreaterThan(0);
    expect(stalledAt).toBeLessThan(COUNT);
    await fast.bus.ping();
    expect(byI(fast.ticks)).toEqual(all.slice(0, stalledAt));

    slow.socket.resume();
    const outcomes = await emits.outcomes;
    expect(outcomes.filter((o) => 'error' in o)).toEqual([]);
    await slow.waitFor((r) => r.message.t === 'sig' && r.message.gseq === COUNT, 20_000);
    await fast.bus.ping();
    expect(byI(fast.ticks)).toEqual(all);
    expectSameSequence(sigTicks(slow), fast.ticks, 'the slow consumer, once it read');
    expectConsecutive(
      fast.ticks.map((t) => t.groupSeq),
      1,
      'groupSeq',
    );
  });

  it('reject: emits fail with QUEUE_FULL while a consumer is full, and nobody gets those messages', async () => {
    const Stream = stream();
    const owner = await open(daemon, emitterOptions);
    const group = await owner.createGroup(Stream, { onFull: 'reject' });
    const fast = await fastConsumer(daemon, Stream);
    const slow = await stalledSocket(daemon, Stream.name);

    const outcomes = await emitAll((i) => group.emit('Tick', { i, pad: PAD })).outcomes;
    const accepted = all.filter((i) => 'ok' in (outcomes[i] as Outcome));
    const rejected = outcomes.flatMap((o) => ('error' in o ? [o.error] : []));
    expect(rejected.length).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(0);
    for (const error of rejected) expect(error).toMatchObject({ code: ErrorCode.QUEUE_FULL });
    // Accepted ones are numbered without gaps: a rejected emit took no sequence number.
    expectConsecutive(
      accepted.map((i) => (outcomes[i] as { ok: EmitResult }).ok.groupSeq),
      1,
      'groupSeq of accepted emits',
    );

    await fast.bus.ping();
    expect(byI(fast.ticks)).toEqual(accepted);
    slow.socket.resume();
    await slow.waitFor((r) => r.message.t === 'sig' && r.message.gseq === accepted.length, 20_000);
    // Fence: the reply to a ping comes after anything queued before it.
    expect((await slow.request({ t: 'ping', s: 2 })).message).toMatchObject({ t: 'ok' });
    expect(byI(sigTicks(slow))).toEqual(accepted);
  });

  it('evict: a consumer that does not read is evicted (SLOW_CONSUMER), the others get everything', async () => {
    const Stream = stream();
    const owner = await open(daemon, emitterOptions);
    const group = await owner.createGroup(Stream, { onFull: 'evict' });
    const fast = await fastConsumer(daemon, Stream);
    const slow = await unconsumed(daemon, Stream);
    // The slow one owns a group too: its members learn why it went.
    const Owned = stream();
    await slow.bus.createGroup(Owned);
    const member = await (await open(daemon)).join(Owned);
    const memberEnded = new Promise<SubscriptionEndReason>((resolve) => member.on('closed', resolve));

    // 16 messages of ~1 KiB: far below maxQueueBytes (64 KiB), which the slow one overflows.
    const outcomes = await emitPaced((i) => group.emit('Tick', { i, pad: PAD }), fast.ticks, 16);
    expect(outcomes.filter((o) => 'error' in o)).toEqual([]);
    const recipients = outcomes.map((o) => (o as { ok: EmitResult }).ok.recipients);
    const evictedAt = recipients.indexOf(1);
    expect(evictedAt).toBeGreaterThan(0);
    expect(new Set(recipients.slice(0, evictedAt))).toEqual(new Set([2]));
    expect(new Set(recipients.slice(evictedAt))).toEqual(new Set([1]));
    await fast.bus.ping();
    expect(byI(fast.ticks)).toEqual(all);
    expect(await memberEnded).toBe('owner-evicted');

    const { ticks, error } = await slow.drain();
    expect(ticks).toEqual(all.slice(0, ticks.length));
    expect(ticks.length).toBeLessThanOrEqual(evictedAt);
    expectEvicted(error);
    expectEvicted(await slow.bus.closed);
  });
});

describe('with stallTimeoutMs short', () => {
  let daemon: RunningDaemon & { cleanup(): Promise<void> };
  beforeAll(async () => {
    daemon = await withDaemon({ config: { limits: { ...limits, stallTimeoutMs: 300 } } });
  });
  afterAll(async () => {
    await daemon?.cleanup();
  });

  it('block: a consumer that stays full past stallTimeoutMs is evicted, then the emits go on', async () => {
    const Stream = stream();
    const owner = await open(daemon, emitterOptions);
    const group = await owner.createGroup(Stream, { onFull: 'block' });
    const fast = await fastConsumer(daemon, Stream);
    const slow = await unconsumed(daemon, Stream);
    const ended = new Promise<[SubscriptionEndReason, unknown]>((resolve) =>
      slow.sub.on('closed', (reason, error) => resolve([reason, error])),
    );

    // 16 messages of ~1 KiB: far below maxQueueBytes (64 KiB), which the slow one overflows.
    const outcomes = await emitPaced((i) => group.emit('Tick', { i, pad: PAD }), fast.ticks, 16);
    expect(outcomes.filter((o) => 'error' in o)).toEqual([]);
    const recipients = outcomes.map((o) => (o as { ok: EmitResult }).ok.recipients);
    const evictedAt = recipients.indexOf(1);
    // It was a recipient, held the stream up, and was evicted mid-stream.
    expect(evictedAt).toBeGreaterThan(0);
    expect(new Set(recipients.slice(evictedAt))).toEqual(new Set([1]));
    await fast.bus.ping();
    expect(byI(fast.ticks)).toEqual(all);

    const { ticks, error } = await slow.drain();
    expect(ticks).toEqual(all.slice(0, ticks.length));
    expectEvicted(error);
    const [reason, endError] = await ended;
    expect(reason).toBe('disconnected');
    expectEvicted(endError);
  });
});

/** Evicted: told SLOW_CONSUMER, or (if that last frame could not be written) just cut off. */
function expectEvicted(error: unknown): void {
  expect(
    isChorusError(error, ErrorCode.SLOW_CONSUMER) || isChorusError(error, ClientErrorCode.CONNECTION_CLOSED),
    `evicted, got ${String(error)}`,
  ).toBe(true);
}
