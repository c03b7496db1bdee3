// Flow control: what happens when a recipient's outbound queue is full, for each onFull policy.
// "Whatever the policy, a message is never delivered to a subset of the recipients that remain."
import { describe, expect, it } from 'vitest';
import { expectCode, RecordingHooks, signalsOf } from './engine.fixture.js';
import { type EmitInput, Engine } from './engine.js';
import type { GroupOptions } from './options.js';

const G = 'org.example.Battery';
const H = 'org.example.Network';
const QUEUE = 100;
const STALL = 1000;

/**
 * An owner, a `slow` member whose queue is full, and `fast` members with room.
 * Every message is 10 bytes; the slow member holds exactly QUEUE bytes.
 */
function withFullMember(onFull: GroupOptions['onFull'], fastCount = 2, extra: Partial<GroupOptions> = {}) {
  const hooks = new RecordingHooks();
  const engine = new Engine<string>({ hooks, limits: { maxQueueBytes: QUEUE, stallTimeoutMs: STALL } });
  const owner = engine.connect().id;
  engine.createGroup(owner, G, { onFull, ...extra });
  const slow = engine.connect().id;
  engine.join(slow, G);
  const fast = Array.from({ length: fastCount }, () => {
    const id = engine.connect().id;
    engine.join(id, G);
    return id;
  });
  engine.post(slow, 'backlog', QUEUE);
  return { engine, hooks, owner, slow, fast };
}

function input(sender: number, payload = 'm', group = G): EmitInput<string> {
  return { sender, group, signal: 'S', payload, size: 10 };
}

function payloads(engine: Engine<string>, id: number): string[] {
  return signalsOf(engine.take(id)).map((m) => m.payload);
}

describe('room', () => {
  it('lets a message in while the queue stays within maxQueueBytes', () => {
    const { engine, owner, slow } = withFullMember('reject');
    engine.take(slow);
    for (let i = 0; i < 10; i++) engine.emit(input(owner, `${i}`));
    expect(engine.queuedBytes(slow)).toBe(QUEUE);
    expectCode(() => engine.emit(input(owner)), 'QUEUE_FULL');
  });

  it('always lets one message into an empty queue, even one larger than the limit', () => {
    const { engine, owner, slow } = withFullMember('reject');
    engine.take(slow);
    expect(engine.emit({ ...input(owner), size: QUEUE * 5 })).toMatchObject({
      status: 'accepted',
      recipients: 3,
    });
  });
});

describe("onFull: 'reject'", () => {
  it('throws QUEUE_FULL and nobody gets the message', () => {
    const { engine, owner, slow, fast } = withFullMember('reject');
    const error = expectCode(() => engine.emit(input(owner)), 'QUEUE_FULL');
    expect(error).toMatchObject({ full: [slow], group: G });
    for (const id of fast) expect(engine.take(id)).toEqual([]);
    expect(engine.seq).toBe(0);
    expect(engine.stats()).toMatchObject({ messages: 0, pending: 0 });
    // Once there is room the same emit goes through.
    engine.take(slow);
    expect(engine.emit(input(owner))).toMatchObject({ status: 'accepted', recipients: 3 });
  });
});

describe("onFull: 'evict'", () => {
  it('evicts the full recipients and delivers to the rest', () => {
    const { engine, hooks, owner, slow, fast } = withFullMember('evict');
    const outcome = engine.emit(input(owner, 'hello'));
    expect(outcome).toEqual({ status: 'accepted', seq: 1, groupSeq: 1, recipients: 2, evicted: [slow] });
    expect(hooks.evictedIds).toEqual([slow]);
    expect(engine.has(slow)).toBe(false);
    expect(engine.members(G)).toEqual(fast);
    for (const id of fast) expect(payloads(engine, id)).toEqual(['hello']);
    expect(engine.stats()).toMatchObject({ evictions: 1, connections: 3 });
  });

  it("closes the evicted connection's groups with 'owner-evicted'", () => {
    const { engine, owner, slow, fast } = withFullMember('evict');
    engine.createGroup(slow, H);
    engine.join(fast[0] as number, H);
    engine.emit(input(owner));
    expect(engine.group(H)).toBeUndefined();
    // The eviction happened first, so its notice comes before the message it made room for.
    expect(
      engine.take(fast[0] as number).map((i) => (i.kind === 'group-closed' ? i.reason : i.kind)),
    ).toEqual(['owner-evicted', 'signal']);
  });

  it('fails with UNKNOWN_GROUP, delivering nothing, when evicting closes the group itself', () => {
    // The owner is the full recipient (sendToPeer), so evicting it closes the group.
    const hooks = new RecordingHooks();
    const engine = new Engine<string>({ hooks, limits: { maxQueueBytes: QUEUE } });
    const owner = engine.connect().id;
    engine.createGroup(owner, G, { onFull: 'evict', emitters: 'members', sendToPeer: true });
    const [a, b] = [engine.connect().id, engine.connect().id];
    engine.join(a, G);
    engine.join(b, G);
    engine.post(owner, 'backlog', QUEUE);
    expectCode(() => engine.emit(input(a)), 'UNKNOWN_GROUP');
    expect(hooks.evictedIds).toEqual([owner]);
    expect(signalsOf(engine.take(b))).toEqual([]);
    expect(engine.seq).toBe(0);
  });
});

describe("onFull: 'block'", () => {
  it('blocks: nothing is delivered to anyone until the full recipient takes', () => {
    const { engine, hooks, owner, slow, fast } = withFullMember('block');
    expect(engine.emit(input(owner, 'hello'))).toEqual({ status: 'blocked' });
    expect(engine.connection(owner)?.blocked).toBe(true);
    expect(engine.stats()).toMatchObject({ pending: 1, messages: 0 });
    for (const id of fast) expect(engine.take(id)).toEqual([]);
    expect(engine.seq).toBe(0);

    const taken = engine.take(slow);
    expect(taken.map((i) => i.kind)).toEqual(['direct']);
    expect(hooks.settledCalls).toEqual([
      { sender: owner, outcome: { status: 'accepted', seq: 1, groupSeq: 1, recipients: 3, evicted: [] } },
    ]);
    for (const id of [slow, ...fast]) expect(payloads(engine, id)).toEqual(['hello']);
    expect(engine.connection(owner)?.blocked).toBe(false);
    expect(engine.stats()).toMatchObject({ pending: 0, messages: 1 });
  });

  it('stays blocked while there is still not enough room', () => {
    const { engine, hooks, owner, slow } = withFullMember('block', 0);
    engine.take(slow);
    for (let i = 0; i < 10; i++) engine.post(slow, 'filler', 10);
    expect(engine.emit({ ...input(owner), size: 30 })).toEqual({ status: 'blocked' });
    engine.take(slow, 1);
    engine.take(slow, 1);
    expect(hooks.settledCalls).toEqual([]);
    engine.take(slow, 1); // 70 + 30 bytes: exactly enough
    expect(hooks.settledCalls).toHaveLength(1);
    expect(engine.queuedBytes(slow)).toBe(QUEUE);
  });

  it('refuses a second emit from the blocked sender with SENDER_BLOCKED', () => {
    const { engine, owner } = withFullMember('block');
    engine.createGroup(owner, H);
    engine.emit(input(owner));
    expectCode(() => engine.emit(input(owner, 'x', H)), 'SENDER_BLOCKED');
  });

  it('does not hold up other senders whose recipients have room', () => {
    const { engine, owner, fast } = withFullMember('block');
    engine.emit(input(owner));
    const other = engine.connect().id;
    engine.createGroup(other, H);
    engine.join(fast[0] as number, H);
    expect(engine.emit(input(other, 'other', H))).toMatchObject({ status: 'accepted', seq: 1 });
  });

  it('evicts a recipient stalled for stallTimeoutMs on tick, and the message proceeds', () => {
    const { engine, hooks, owner, slow, fast } = withFullMember('block');
    engine.emit(input(owner, 'hello'), 0);
    expect(engine.tick(STALL - 1)).toEqual([]);
    expect(engine.has(slow)).toBe(true);
    expect(engine.tick(STALL)).toEqual([slow]);
    expect(hooks.evictedIds).toEqual([slow]);
    expect(engine.has(slow)).toBe(false);
    expect(hooks.settledCalls).toEqual([
      { sender: owner, outcome: expect.objectContaining({ status: 'accepted', recipients: 2 }) },
    ]);
    for (const id of fast) expect(payloads(engine, id)).toEqual(['hello']);
    expect(engine.stats()).toMatchObject({ evictions: 1, pending: 0 });
  });

  it('restarts the stall clock when the recipient takes something, at the last time the engine saw', () => {
    const { engine, owner, slow } = withFullMember('block', 0);
    engine.take(slow);
    for (let i = 0; i < 10; i++) engine.post(slow, 'filler', 10);
    engine.emit({ ...input(owner), size: 30 }, 0);
    expect(engine.tick(STALL - 1)).toEqual([]);
    engine.take(slow, 1); // progress, but still no room: the clock restarts at 999
    expect(engine.connection(owner)?.blocked).toBe(true);
    expect(engine.tick(STALL + 500)).toEqual([]);
    expect(engine.tick(STALL - 1 + STALL)).toEqual([slow]);
  });

  it('settles with UNKNOWN_GROUP when the group closes while the emit waits', () => {
    const { engine, hooks, slow, fast } = withFullMember('block', 1, { emitters: 'members' });
    const sender = fast[0] as number;
    expect(engine.emit(input(sender))).toEqual({ status: 'blocked' });
    engine.closeGroup(engine.group(G)?.owner as number, G);
    const [call] = hooks.settledCalls;
    expect(call?.sender).toBe(sender);
    expect(call?.outcome).toMatchObject({ code: 'UNKNOWN_GROUP' });
    expect(engine.connection(sender)?.blocked).toBe(false);
    expect(engine.stats().pending).toBe(0);
    expect(engine.take(slow).map((i) => i.kind)).toEqual(['direct', 'group-closed']);
  });

  it('serves blocked emits oldest first', () => {
    const { engine, hooks, owner, slow } = withFullMember('block', 0, { emitters: 'anyone' });
    engine.take(slow);
    for (let i = 0; i < 10; i++) engine.post(slow, 'filler', 10);
    const senders = [engine.connect().id, owner, engine.connect().id];
    for (const [i, id] of senders.entries())
      expect(engine.emit(input(id, `m${i}`))).toEqual({ status: 'blocked' });
    // Each take frees room for exactly one message: the oldest waiting one gets it.
    for (let i = 1; i <= 3; i++) {
      engine.take(slow, 1);
      expect(hooks.settledCalls.map((c) => c.sender)).toEqual(senders.slice(0, i));
    }
    expect(payloads(engine, slow)).toEqual(['m0', 'm1', 'm2']);
  });

  it('drops the blocked emit of a sender that disconnects, without settling it', () => {
    const { engine, hooks, owner, slow, fast } = withFullMember('block');
    engine.emit(input(owner));
    engine.disconnect(owner);
    engine.take(slow);
    expect(hooks.settledCalls).toEqual([]);
    expect(engine.stats().pending).toBe(0);
    for (const id of fast) expect(signalsOf(engine.take(id))).toEqual([]);
  });

  it('proceeds when the full recipient disconnects', () => {
    const { engine, hooks, owner, slow, fast } = withFullMember('block');
    engine.emit(input(owner));
    engine.disconnect(slow);
    expect(hooks.settledCalls).toEqual([
      { sender: owner, outcome: expect.objectContaining({ recipients: 2 }) },
    ]);
    for (const id of fast) expect(payloads(engine, id)).toEqual(['m']);
  });

  it('proceeds when the full recipient leaves the group', () => {
    const { engine, hooks, owner, slow, fast } = withFullMember('block');
    engine.emit(input(owner));
    engine.leave(slow, G);
    expect(hooks.settledCalls).toEqual([
      { sender: owner, outcome: expect.objectContaining({ recipients: 2 }) },
    ]);
    for (const id of fast) expect(payloads(engine, id)).toEqual(['m']);
    // ...and it is not evicted later for a message it is no longer a recipient of.
    expect(engine.tick(STALL * 10)).toEqual([]);
    expect(engine.has(slow)).toBe(true);
  });

  it('includes a member that joins while the emit waits, from its startSeq', () => {
    const { engine, owner, slow } = withFullMember('block');
    engine.emit(input(owner, 'late'));
    const joiner = engine.connect().id;
    const { startSeq } = engine.join(joiner, G);
    engine.take(slow);
    const [message] = signalsOf(engine.take(joiner));
    expect(message?.seq).toBe(startSeq);
  });

  it('starts the stall clock when a recipient starts holding up an emit, not earlier', () => {
    // The slow member held up an emit at t=0 that went away (its sender left). It holds up
    // another from t=900: at t=1000 it has stalled that one for 100 ms only.
    const { engine, hooks, owner, slow } = withFullMember('block', 1, { emitters: 'anyone' });
    engine.emit(input(owner), 0);
    engine.disconnect(owner);
    const owner2 = engine.connect().id;
    engine.createGroup(owner2, H, { emitters: 'anyone' });
    engine.join(slow, H);
    engine.emit(input(owner2, 'x', H), 900);
    expect(engine.tick(STALL)).toEqual([]);
    expect(engine.has(slow)).toBe(true);
    expect(engine.tick(900 + STALL)).toEqual([slow]);
    expect(hooks.settledCalls.map((c) => c.sender)).toEqual([owner2]);
  });

  it('reads the payload fields at most once, however often the blocked emit is retried', () => {
    const { engine, owner, slow } = withFullMember('block', 0);
    const filtered = engine.connect().id;
    engine.join(filtered, G, [{ fields: { n: 1 } }]);
    engine.take(slow);
    for (let i = 0; i < 10; i++) engine.post(slow, 'filler', 10);
    let calls = 0;
    const fields = () => {
      calls++;
      return { n: 1 };
    };
    engine.emit({ ...input(owner), size: 30, fields });
    engine.take(slow, 1); // retried, still blocked
    engine.take(slow, 1); // retried, still blocked
    engine.take(slow, 1); // retried, accepted
    expect(engine.connection(owner)?.blocked).toBe(false);
    expect(payloads(engine, filtered)).toEqual(['m']);
    expect(calls).toBe(1);
  });
});
