import { ErrorCode, encodeFrame } from '@chorus/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Bystander } from './harness/bystander.js';
import { Fixtures } from './harness/child.js';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { Observer } from './harness/observer.js';
import { emitMany, type Frame, RawClient, tickOf } from './harness/raw-client.js';
import { expectConsecutive } from './harness/records.js';
import { untilStalled } from './harness/wait.js';

// Faults that are not about reconnecting (issue 7 §3; the SDK's reconnection is test/reconnect.test.ts):
// clients SIGKILLed mid-frame and mid-delivery, half-open connections on both transports, and a
// consumer that stops reading under each onFull policy. Each time a bystander stream (a service
// and its subscriber, on a group of their own) must flow on untouched, the others must get all
// they are owed, and afterwards GetStats/ListConnections must show that nothing leaked.
// [GUARANTEE: isolation] [GUARANTEE: backpressure] [GUARANTEE: atomicity]

const children = new Fixtures();
const PAD = 'x'.repeat(1000);

/** Connections a test opened: closed after it, passed or failed, so no failure cascades as a "leak". */
const opened: (() => void)[] = [];
function track<T extends RawClient | Member | WebSocket>(x: T): T {
  if (x instanceof WebSocket) opened.push(() => x.terminate());
  else if (x instanceof Member) opened.push(() => x.peer.close());
  else opened.push(() => x.close());
  return x;
}
afterEach(async () => {
  for (const close of opened.splice(0)) close();
  await children.killAll();
});

/** What a member records of a group's stream: [gseq, i] per signal, and anything else it got. */
class Member {
  readonly ticks: { gseq: number; i: number }[] = [];
  readonly other: Frame[] = [];
  constructor(readonly peer: RawClient) {
    peer.onFrame = (frame) => {
      if (frame.message.t === 'sig') this.ticks.push({ gseq: frame.message.gseq, i: tickOf(frame) });
      else this.other.push(frame);
    };
  }

  static async join(socketPath: string, group: string): Promise<Member> {
    const peer = await RawClient.open(socketPath, { client: 'member' }, { record: false });
    await peer.ok({ t: 'join', g: group });
    return new Member(peer);
  }
}

/** The daemon's record of one connection (its queue), by name. */
async function queuedBytes(observer: Observer, name: string): Promise<number | undefined> {
  return (await observer.connections()).find((c) => c.name === name)?.queuedBytes;
}

describe('clients killed with SIGKILL', () => {
  // Large queues and a stall timeout that never fires: only the kill can release anything.
  const limits = { maxQueueBytes: 2 * 1024 * 1024, stallTimeoutMs: 600_000 };
  let daemon: RunningDaemon & { cleanup(): Promise<void> };
  let observer: Observer;
  let bystander: Bystander;
  beforeAll(async () => {
    daemon = await withDaemon({ config: { limits }, args: ['--no-ws'] });
    observer = await Observer.open(daemon.socketPath);
    bystander = await Bystander.start(daemon.socketPath, 'test.faults.kill.Stream');
  });
  afterAll(async () => {
    bystander?.close();
    observer?.close();
    await daemon?.cleanup();
  });

  // Where the frame is cut: in the 8-byte prefix, in the header, in the payload, one byte short;
  // and a hello cut before the handshake ended.
  const cuts = [
    { where: 'in the prefix', cut: 3, hello: true },
    { where: 'in the header', cut: 12, hello: true },
    { where: 'in the payload', cut: 20_000, hello: true },
    { where: 'one byte short', cut: Number.MAX_SAFE_INTEGER, hello: true },
    { where: 'in the hello', cut: 10, hello: false },
  ];
  let victims = 0;
  it.each(cuts)(
    'mid-frame ($where): the half frame is dropped, its groups close, nothing leaks',
    async ({ cut, hello }) => {
      const group = `test.faults.kill.Half${++victims}`;
      const victim = children.spawn('victim.mjs', {
        socketPath: daemon.socketPath,
        mode: 'half-frame',
        hello,
        create: hello ? group : undefined,
        cut,
        payloadBytes: 40_000,
      });
      const wrote = await victim.waitFor((e) => e.event === 'wrote');
      expect(wrote['cut']).toBeLessThan(wrote['of'] as number);
      // A member of the victim's group: it must see the group close, and never the half emit.
      const member = hello ? track(await Member.join(daemon.socketPath, group)) : undefined;
      expect(await victim.kill('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });

      if (member !== undefined) {
        await expect.poll(() => member.other.length, { timeout: 10_000 }).toBe(1);
        expect(member.other[0]?.message).toMatchObject({ t: 'gclosed', g: group, reason: 'owner-left' });
        expect(member.ticks).toEqual([]);
      }
      await bystander.sync(`after a kill ${cut}`);
      await observer.expectOnly(
        [...bystander.names, ...(member === undefined ? [] : [member.peer.name])],
        'after the kill',
        [bystander.group],
      );
      member?.peer.close();
    },
  );

  it('mid-delivery: a subscriber killed with a large backlog queued to it; the others get everything', async () => {
    const group = 'test.faults.kill.Backlog';
    const feeder = track(await RawClient.open(daemon.socketPath, {}, { record: false }));
    await feeder.ok({ t: 'create', g: group });
    const survivors = [
      track(await Member.join(daemon.socketPath, group)),
      track(await Member.join(daemon.socketPath, group)),
    ];
    const victim = children.spawn('victim.mjs', {
      socketPath: daemon.socketPath,
      mode: 'stall',
      join: [group],
    });
    const { name } = await victim.waitFor((e) => e.event === 'stalled');

    // 1.5 MiB, under maxQueueBytes: nobody blocks, the backlog piles up in the victim's queue.
    const first = await emitMany(feeder, group, 1500, { pad: PAD });
    expect(first.map((r) => r.message.t === 'ok' && r.message.r?.['n'])).toEqual(first.map(() => 3));
    const backlog = (await queuedBytes(observer, name as string)) ?? 0;
    expect(backlog, 'queued to the victim').toBeGreaterThan(512 * 1024);

    await victim.kill('SIGKILL');
    await observer.expectOnly(
      [...bystander.names, feeder.name, ...survivors.map((s) => s.peer.name)],
      'after the kill',
      [bystander.group, group],
    );
    const after = await emitMany(feeder, group, 100, { pad: PAD, first: 1500 });
    expect(after.map((r) => r.message.t === 'ok' && r.message.r?.['n'])).toEqual(after.map(() => 2));
    for (const survivor of survivors) {
      await survivor.peer.ping();
      expectConsecutive(
        survivor.ticks.map((t) => t.gseq),
        1,
        'a survivor',
      );
      expect(survivor.ticks.map((t) => t.i)).toEqual(Array.from({ length: 1600 }, (_, i) => i));
    }
    // The victim's backlog is gone with it: nobody holds more than a few frames now.
    for (const c of await observer.connections()) expect(c.queuedBytes, c.name).toBeLessThan(64 * 1024);
    await bystander.sync('after the backlog kill');
    feeder.close();
    for (const s of survivors) s.peer.close();
  });

  it('mid-delivery, while its full queue holds up a blocked emitter: the emitter goes on at once', async () => {
    const group = 'test.faults.kill.Blocked';
    const feeder = track(await RawClient.open(daemon.socketPath, {}, { record: false }));
    await feeder.ok({ t: 'create', g: group }); // onFull: block (the default)
    const survivor = track(await Member.join(daemon.socketPath, group));
    const victim = children.spawn('victim.mjs', {
      socketPath: daemon.socketPath,
      mode: 'stall',
      join: [group],
    });
    const { name } = await victim.waitFor((e) => e.event === 'stalled');

    // 3 MiB into a 2 MiB queue: the emitter blocks, and the stall timeout (600 s) never frees it.
    const COUNT = 3000;
    let acked = 0;
    const emits = emitMany(feeder, group, COUNT, { pad: PAD }).then((replies) => replies);
    const counting = setInterval(() => {
      acked = survivor.ticks.length;
    }, 10);
    const stalledAt = await untilStalled(() => acked);
    expect(stalledAt, 'the emitter is blocked').toBeLessThan(COUNT);
    expect(await queuedBytes(observer, name as string)).toBeGreaterThan(limits.maxQueueBytes - 2048);

    await victim.kill('SIGKILL');
    const replies = await emits;
    clearInterval(counting);
    expect(replies.filter((r) => r.message.t !== 'ok')).toEqual([]);
    await survivor.peer.ping();
    expect(survivor.ticks.map((t) => t.i)).toEqual(Array.from({ length: COUNT }, (_, i) => i));
    await observer.expectOnly(
      [...bystander.names, feeder.name, survivor.peer.name],
      'after the blocked kill',
      [bystander.group, group],
    );
    await bystander.sync('after the blocked kill');
    feeder.close();
    survivor.peer.close();
  });

  it('afterwards: the bystander saw every message in order, and only it is left', async () => {
    await bystander.stop();
    await observer.expectOnly(bystander.names, 'at the end', [bystander.group]);
  });
});

describe('half-open connections and consumers that stop reading', () => {
  // Small queues and buffers so that a consumer that stops reading is full after ~100 messages.
  const limits = {
    maxQueueBytes: 64 * 1024,
    maxSocketBufferBytes: 4 * 1024,
    stallTimeoutMs: 3000,
    wsPingIntervalMs: 250,
  };
  let daemon: RunningDaemon & { cleanup(): Promise<void> };
  let observer: Observer;
  let bystander: Bystander;
  beforeAll(async () => {
    daemon = await withDaemon({ config: { limits } });
    observer = await Observer.open(daemon.socketPath);
    bystander = await Bystander.start(daemon.socketPath, 'test.faults.open.Stream');
  });
  afterAll(async () => {
    bystander?.close();
    observer?.close();
    await daemon?.cleanup();
  });

  const COUNT = 1500;
  const all = Array.from({ length: COUNT }, (_, i) => i);

  // The consumer that stops reading is a half-open connection: it never closes either.
  it.each(['block', 'reject', 'evict'] as const)(
    'onFull %s: a consumer stops reading and never closes; the others get all they are owed',
    async (onFull) => {
      const group = `test.faults.open.${onFull}`;
      const emitter = track(await RawClient.open(daemon.socketPath, {}, { record: false }));
      await emitter.ok({ t: 'create', g: group, o: { onFull } });
      const fast = track(await Member.join(daemon.socketPath, group));
      const stalled = track(await Member.join(daemon.socketPath, group));
      stalled.peer.socket.pause();
      const evictionsBefore = (await observer.stats()).total.evictions;
      const stalledAt = Date.now();

      // How long each emit waited for its reply: under block one waits out the stall timeout.
      const latencies: number[] = [];
      const flowing = bystander.received;
      const replies = await emitMany(emitter, group, COUNT, { pad: PAD, latencies });
      // The other stream flowed meanwhile, not only once the stall was over.
      expect(bystander.received, 'the bystander during the stall').toBeGreaterThan(flowing);
      const outcome = replies.map(({ message }) =>
        message.t === 'ok' ? (message.r?.['n'] as number) : message.t === 'err' ? message.code : message.t,
      );
      await fast.peer.ping();
      await bystander.sync(`while a consumer stalls (${onFull})`);

      if (onFull === 'reject') {
        // Rejected emits reach nobody; accepted ones reach both, numbered without a gap.
        const accepted = all.filter((i) => outcome[i] === 2);
        expect(outcome.filter((o) => o !== 2)).toEqual(outcome.filter((o) => o === ErrorCode.QUEUE_FULL));
        expect(accepted.length).toBeLessThan(COUNT);
        expect(fast.ticks.map((t) => t.i)).toEqual(accepted);
        expectConsecutive(
          fast.ticks.map((t) => t.gseq),
          1,
          'groupSeq of accepted emits',
        );
        // Never evicted under reject: once it reads again it gets the same messages.
        expect((await observer.stats()).total.evictions).toBe(evictionsBefore);
        stalled.peer.socket.resume();
        await stalled.peer.ping();
        expect(stalled.ticks.map((t) => t.i)).toEqual(accepted);
        stalled.peer.close();
      } else {
        // Every emit goes through, to both until the stalled one is evicted, then to the fast one only.
        const drop = outcome.indexOf(1);
        expect(drop, JSON.stringify(outcome.slice(0, 5))).toBeGreaterThan(0);
        expect(new Set(outcome.slice(0, drop))).toEqual(new Set([2]));
        expect(new Set(outcome.slice(drop))).toEqual(new Set([1]));
        expect(fast.ticks.map((t) => t.i)).toEqual(all);
        expect((await observer.stats()).total.evictions).toBe(evictionsBefore + 1);
        const longest = Math.max(...latencies);
        if (onFull === 'block') {
          // The emitter was held up for at least stallTimeoutMs before the daemon gave up on the
          // consumer: the stall clock starts at the exact time the consumer started holding up an
          // emit, and the check runs every tick (stallTimeoutMs / 4 here), so eviction is never
          // early and at most one tick late. (20 ms of slack: timers are not exact.)
          expect(longest).toBeGreaterThanOrEqual(limits.stallTimeoutMs - 20);
          expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(limits.stallTimeoutMs - 20);
        } else {
          // Evicted at once, by the emit that found its queue full: no emit waited for the stall
          // timeout (3 s, against replies that take milliseconds).
          expect(longest).toBeLessThan(limits.stallTimeoutMs);
        }
        // It reads again: what was already written to it, maybe SLOW_CONSUMER, then the end.
        stalled.peer.socket.resume();
        await stalled.peer.whenClosed;
        expect(stalled.ticks.map((t) => t.i)).toEqual(all.slice(0, stalled.ticks.length));
        expect(stalled.ticks.length).toBeLessThanOrEqual(drop);
        expect(stalled.peer.fatal?.code ?? ErrorCode.SLOW_CONSUMER).toBe(ErrorCode.SLOW_CONSUMER);
      }
      await observer.expectOnly(
        [...bystander.names, emitter.name, fast.peer.name],
        `after the stalled consumer (${onFull})`,
        [bystander.group, group],
      );
      emitter.close();
      fast.peer.close();
    },
  );

  it('a WebSocket that stops answering pings is cut, and forgotten', async () => {
    const token = await daemon.wsToken();
    const ws = track(new WebSocket(`${daemon.wsUrl}/?token=${token}`, { autoPong: false }));
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('open', resolve));
    const welcome = new Promise((resolve) => ws.once('message', resolve));
    ws.send(encodeFrame({ t: 'hello', v: 1 }));
    await welcome;
    const code = await new Promise<number>((resolve) => ws.once('close', resolve));
    expect(code).toBe(1006); // terminated: no close handshake with a peer that does not answer
    await observer.expectOnly(bystander.names, 'after the silent WebSocket', [bystander.group]);
  });

  it('a WebSocket member that stops reading its socket is cut, and the group flows on', async () => {
    const group = 'test.faults.open.WsMember';
    const emitter = track(await RawClient.open(daemon.socketPath, {}, { record: false }));
    await emitter.ok({ t: 'create', g: group, o: { onFull: 'block' } });
    const fast = track(await Member.join(daemon.socketPath, group));
    const token = await daemon.wsToken();
    const ws = track(new WebSocket(`${daemon.wsUrl}/?token=${token}`));
    ws.on('error', () => {});
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    await new Promise((resolve) => ws.once('open', resolve));
    const welcome = new Promise((resolve) => ws.once('message', resolve));
    ws.send(encodeFrame({ t: 'hello', v: 1, join: [{ g: group }] }));
    await welcome; // a member from now on (autojoin)
    ws.pause(); // stops reading: no more pongs, no more frames taken

    const replies = await emitMany(emitter, group, COUNT, { pad: PAD });
    // Cut within two ping intervals of silence (or evicted, had its queue filled first).
    await expect
      .poll(async () => (await observer.connections()).some((c) => c.transport === 'ws'), { timeout: 10_000 })
      .toBe(false);
    expect(replies.filter((r) => r.message.t !== 'ok')).toEqual([]);
    await fast.peer.ping();
    expect(fast.ticks.map((t) => t.i)).toEqual(all);
    ws.resume();
    expect([1006, 1000]).toContain(await closed);
    await observer.expectOnly(
      [...bystander.names, emitter.name, fast.peer.name],
      'after the stalled WebSocket',
      [bystander.group, group],
    );
    await bystander.sync('after the stalled WebSocket');
    emitter.close();
    fast.peer.close();
  });

  it('afterwards: the bystander saw every message in order, and only it is left', async () => {
    await bystander.stop();
    await observer.expectOnly(bystander.names, 'at the end', [bystander.group]);
  });
});
