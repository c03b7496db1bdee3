import { describe, expect, it } from 'vitest';
import { expectCode, RecordingHooks, signalsOf } from './engine.fixture.js';
import { type EmitInput, Engine, type EngineOptions, type Message } from './engine.js';
import type { Filter } from './filter.js';
import { BUS_NAME } from './name-registry.js';
import { defaultGroupOptions, type GroupOptions } from './options.js';

const G = 'org.example.Battery';
const H = 'org.example.Network';

type Payload = Record<string, unknown>;

function setup(options: EngineOptions<Payload> = {}) {
  const hooks = new RecordingHooks();
  const engine = new Engine<Payload>({ hooks, ...options });
  return { engine, hooks };
}

/** A group with its owner and `n` unfiltered members. */
function withGroup(
  n: number,
  groupOptions: Partial<GroupOptions> = {},
  options: EngineOptions<Payload> = {},
) {
  const { engine, hooks } = setup(options);
  const owner = engine.connect().id;
  engine.createGroup(owner, G, groupOptions);
  const members = Array.from({ length: n }, () => {
    const id = engine.connect().id;
    engine.join(id, G);
    return id;
  });
  return { engine, hooks, owner, members };
}

function emitInput(
  sender: number,
  signal = 'LevelChanged',
  payload: Payload = {},
  extra: Partial<EmitInput<Payload>> = {},
) {
  return { sender, group: G, signal, payload, size: 10, ...extra };
}

function accepted(engine: Engine<Payload>, input: EmitInput<Payload>) {
  const outcome = engine.emit(input);
  if (outcome.status !== 'accepted') throw new Error(`expected accepted, got ${outcome.status}`);
  return outcome;
}

/** Signals queued to `id`, taken out of its queue. */
function received(engine: Engine<Payload>, id: number): Message<Payload>[] {
  return signalsOf(engine.take(id));
}

/** A fields reader that counts its calls. */
function counting(fields: Payload) {
  const counter = {
    calls: 0,
    read: () => {
      counter.calls++;
      return fields;
    },
  };
  return counter;
}

describe('connect', () => {
  it('gives unique ids that are never reused', () => {
    const { engine } = setup();
    const a = engine.connect().id;
    const b = engine.connect().id;
    engine.disconnect(b);
    const c = engine.connect().id;
    expect(new Set([a, b, c]).size).toBe(3);
    expect(c).toBeGreaterThan(b);
    expect(engine.connectionIds()).toEqual([a, c]);
    expect(engine.has(b)).toBe(false);
  });

  it('uses maxQueueBytes from the options, else from the limits', () => {
    const { engine } = setup({ limits: { maxQueueBytes: 100 } });
    expect(engine.connection(engine.connect().id)?.maxQueueBytes).toBe(100);
    expect(engine.connection(engine.connect({ maxQueueBytes: 7 }).id)?.maxQueueBytes).toBe(7);
  });

  it('autojoins before returning: a message emitted right after connect cannot be missed', () => {
    const { engine } = setup();
    const owner = engine.connect().id;
    engine.createGroup(owner, G);
    engine.createGroup(owner, H);
    accepted(engine, emitInput(owner));
    const { id, joined } = engine.connect({
      join: [{ group: G }, { group: H, filters: [{ signal: 'Up' }] }],
    });
    expect(joined).toEqual([
      { group: G, startSeq: 2, startGroupSeq: 2, retained: 0 },
      { group: H, startSeq: 2, startGroupSeq: 1, retained: 0 },
    ]);
    expect(engine.connection(id)?.memberships).toEqual([G, H]);
    const first = accepted(engine, emitInput(owner));
    expect(received(engine, id).map((m) => m.seq)).toEqual([first.seq]);
  });

  it.each<[string, (groups: { g: string; h: string }) => { group: string; filters?: Filter[] }[], string]>([
    ['an unknown group', ({ g }) => [{ group: g }, { group: 'org.example.Missing' }], 'UNKNOWN_GROUP'],
    ['an invalid group name', ({ g }) => [{ group: g }, { group: 'missing' }], 'INVALID_NAME'],
    [
      'an invalid filter',
      ({ g, h }) => [{ group: g }, { group: h, filters: [{ signal: '-' }] }],
      'INVALID_NAME',
    ],
    ['a repeated group', ({ g, h }) => [{ group: g }, { group: h }, { group: g }], 'ALREADY_MEMBER'],
  ])('autojoin is all-or-nothing: %s leaves no connection and no membership', (_, specs, code) => {
    const { engine, hooks } = setup();
    const owner = engine.connect().id;
    engine.createGroup(owner, G, { retain: true });
    engine.createGroup(owner, H);
    accepted(engine, emitInput(owner)); // a retained value that a half-done join would queue
    const before = { stats: engine.stats(), calls: hooks.calls.length };
    expectCode(() => engine.connect({ join: specs({ g: G, h: H }) }), code as never);
    expect(engine.stats()).toEqual(before.stats);
    expect(engine.members(G)).toEqual([]);
    expect(engine.members(H)).toEqual([]);
    expect(hooks.calls.length).toBe(before.calls);
    // The next connection gets the next id: the failed one consumed nothing visible.
    expect(engine.connectionIds()).toEqual([owner]);
  });
});

describe('createGroup', () => {
  it('returns the group with default options, the owner not a member', () => {
    const { engine } = setup();
    const owner = engine.connect().id;
    const info = engine.createGroup(owner, G, {}, { schema: 'battery/1' });
    expect(info).toEqual({
      name: G,
      owner,
      options: defaultGroupOptions,
      meta: { schema: 'battery/1' },
      members: 0,
      seq: 0,
      retainedBytes: 0,
      stats: { messages: 0, deliveries: 0, bytes: 0 },
    });
    expect(defaultGroupOptions).toEqual({
      emitters: 'owner',
      loopback: false,
      sendToPeer: false,
      onFull: 'block',
      retain: false,
    });
    expect(engine.members(G)).toEqual([]);
    expect(engine.connection(owner)?.owned).toEqual([G]);
  });

  it('merges the given options over the defaults, ignoring undefined ones, and freezes them', () => {
    const { engine } = setup();
    const owner = engine.connect().id;
    const info = engine.createGroup(owner, G, { emitters: 'anyone', onFull: undefined, retain: true });
    expect(info.options).toEqual({ ...defaultGroupOptions, emitters: 'anyone', retain: true });
    expect(Object.isFrozen(info.options)).toBe(true);
  });
});

describe('join and leave', () => {
  it('links the membership both ways, and unlinks it on leave', () => {
    const { engine, owner, members } = withGroup(2);
    const [a, b] = members as [number, number];
    expect(engine.members(G)).toEqual([a, b]);
    expect(engine.connection(a)?.memberships).toEqual([G]);
    expect(engine.group(G)?.members).toBe(2);
    engine.leave(a, G);
    expect(engine.members(G)).toEqual([b]);
    expect(engine.connection(a)?.memberships).toEqual([]);
    accepted(engine, emitInput(owner));
    expect(received(engine, a)).toEqual([]);
    expect(received(engine, b)).toHaveLength(1);
  });

  it('is race-free: startSeq is the seq of the first live message the member gets', () => {
    const { engine, owner, members } = withGroup(1);
    accepted(engine, emitInput(owner));
    const other = engine.connect().id;
    engine.createGroup(other, H);
    accepted(engine, { ...emitInput(other), group: H });
    const joiner = engine.connect().id;
    const result = engine.join(joiner, G);
    expect(result).toEqual({ group: G, startSeq: 3, startGroupSeq: 2, retained: 0 });
    const next = accepted(engine, emitInput(owner));
    const [first] = received(engine, joiner);
    expect(first?.seq).toBe(result.startSeq);
    expect(first?.groupSeq).toBe(result.startGroupSeq);
    expect(next.seq).toBe(result.startSeq);
    expect(received(engine, members[0] as number)).toHaveLength(2);
  });

  it("queues the driver's reply ahead of the retained values, built from the join result", () => {
    const { engine, owner } = withGroup(0, { retain: true });
    accepted(engine, emitInput(owner, 'Level'));
    const joiner = engine.connect().id;
    const seen: unknown[] = [];
    const result = engine.join(joiner, G, [], (r) => {
      seen.push(r);
      return { data: `ok ${r.startSeq}`, size: 3 };
    });
    expect(seen).toEqual([result]);
    expect(engine.take(joiner).map((i) => (i.kind === 'direct' ? i.data : `${i.kind}`))).toEqual([
      'ok 2',
      'signal',
    ]);
  });

  it('may rejoin after leaving, with other filters', () => {
    const { engine, owner, members } = withGroup(1);
    const a = members[0] as number;
    engine.leave(a, G);
    engine.join(a, G, [{ signal: 'Other' }]);
    accepted(engine, emitInput(owner, 'LevelChanged'));
    accepted(engine, emitInput(owner, 'Other'));
    expect(received(engine, a).map((m) => m.signal)).toEqual(['Other']);
  });
});

describe('closeGroup', () => {
  it('tells every member, after the messages queued before, and frees the name', () => {
    const { engine, owner, members } = withGroup(2);
    const [a, b] = members as [number, number];
    accepted(engine, emitInput(owner));
    engine.closeGroup(owner, G);
    for (const id of [a, b]) {
      expect(engine.take(id).map((i) => i.kind)).toEqual(['signal', 'group-closed']);
      expect(engine.connection(id)?.memberships).toEqual([]);
    }
    expect(engine.group(G)).toBeUndefined();
    expect(engine.connection(owner)?.owned).toEqual([]);
    expect(engine.stats().groups).toBe(0);
    engine.createGroup(a, G);
    expect(engine.group(G)?.owner).toBe(a);
  });

  it('gives the notice its reason', () => {
    const { engine, owner, members } = withGroup(1);
    engine.closeGroup(owner, G);
    expect(engine.take(members[0] as number)).toEqual([
      { kind: 'group-closed', group: G, reason: 'closed', size: expect.any(Number) },
    ]);
  });
});

describe('disconnect', () => {
  it("closes the owner's groups with 'owner-left', delivered in order after earlier messages", () => {
    const { engine, owner, members } = withGroup(2);
    engine.createGroup(owner, H);
    engine.join(members[0] as number, H);
    const m1 = accepted(engine, emitInput(owner));
    const m2 = accepted(engine, { ...emitInput(owner), group: H });
    engine.disconnect(owner);
    const items = engine.take(members[0] as number);
    expect(
      items.map((i) =>
        i.kind === 'signal' ? i.seq : i.kind === 'group-closed' ? `${i.group}:${i.reason}` : i.kind,
      ),
    ).toEqual([m1.seq, m2.seq, `${G}:owner-left`, `${H}:owner-left`]);
    expect(engine.stats()).toMatchObject({ connections: 2, groups: 0 });
    expect(engine.connection(members[1] as number)?.memberships).toEqual([]);
  });

  it('leaves every group and drops what was queued', () => {
    const { engine, owner, members } = withGroup(2);
    const a = members[0] as number;
    accepted(engine, emitInput(owner));
    engine.disconnect(a);
    expect(engine.members(G)).toEqual([members[1]]);
    expect(engine.take(a)).toEqual([]);
    expect(engine.queuedBytes(a)).toBe(0);
    expect(accepted(engine, emitInput(owner)).recipients).toBe(1);
  });

  it('is idempotent', () => {
    const { engine, owner } = withGroup(0);
    engine.disconnect(owner);
    engine.disconnect(owner);
    expect(engine.stats()).toMatchObject({ connections: 0, groups: 0 });
  });
});

describe('emit', () => {
  it('queues one message object to every member but the sender, and reports it', () => {
    const { engine, owner, members } = withGroup(3);
    const outcome = engine.emit(emitInput(owner, 'LevelChanged', { level: 5 }));
    expect(outcome).toEqual({ status: 'accepted', seq: 1, groupSeq: 1, recipients: 3, evicted: [] });
    const got = members.map((id) => received(engine, id));
    for (const list of got) {
      expect(list).toEqual([
        {
          kind: 'signal',
          seq: 1,
          groupSeq: 1,
          group: G,
          signal: 'LevelChanged',
          sender: owner,
          payload: { level: 5 },
          size: 10,
          retained: false,
          wire: undefined,
        },
      ]);
    }
    // The same object goes to everyone, so the transport encodes it once.
    expect(got[0]?.[0]).toBe(got[1]?.[0]);
    expect(received(engine, owner)).toEqual([]);
  });

  it('sets the sender from the emitting connection, whatever the payload says', () => {
    const { engine, members } = withGroup(2, { emitters: 'members' });
    const [a, b] = members as [number, number];
    accepted(engine, emitInput(a, 'Said', { sender: b, from: b }));
    expect(received(engine, b)[0]?.sender).toBe(a);
  });

  it('delivers to the sender too with loopback', () => {
    const { engine, members } = withGroup(2, { emitters: 'members', loopback: true });
    const [a, b] = members as [number, number];
    expect(accepted(engine, emitInput(a)).recipients).toBe(2);
    expect(received(engine, a)).toHaveLength(1);
    expect(received(engine, b)).toHaveLength(1);
  });

  describe('emitters', () => {
    it.each<[GroupOptions['emitters'], { owner: boolean; member: boolean; stranger: boolean }]>([
      ['owner', { owner: true, member: false, stranger: false }],
      ['members', { owner: true, member: true, stranger: false }],
      ['anyone', { owner: true, member: true, stranger: true }],
    ])('%s', (emitters, allowed) => {
      const { engine, owner, members } = withGroup(1, { emitters });
      const stranger = engine.connect().id;
      for (const [who, id] of [
        ['owner', owner],
        ['member', members[0] as number],
        ['stranger', stranger],
      ] as const) {
        if (allowed[who]) accepted(engine, emitInput(id));
        else expectCode(() => engine.emit(emitInput(id)), 'NOT_PERMITTED');
      }
    });

    it("defaults to 'owner'", () => {
      const { engine, members } = withGroup(1);
      expectCode(() => engine.emit(emitInput(members[0] as number)), 'NOT_PERMITTED');
    });
  });

  describe('sendToPeer', () => {
    it("delivers a member's message to the owner once, without the owner being a member", () => {
      const { engine, owner, members } = withGroup(2, { emitters: 'members', sendToPeer: true });
      const [a, b] = members as [number, number];
      expect(accepted(engine, emitInput(a)).recipients).toBe(2);
      expect(received(engine, owner)).toHaveLength(1);
      expect(received(engine, b)).toHaveLength(1);
      expect(engine.members(G)).toEqual([a, b]);
    });

    it('delivers once to an owner that is also a member', () => {
      const { engine, owner, members } = withGroup(1, { emitters: 'members', sendToPeer: true });
      engine.join(owner, G);
      expect(accepted(engine, emitInput(members[0] as number)).recipients).toBe(1);
      expect(received(engine, owner)).toHaveLength(1);
    });

    it('does not deliver to the owner what a non-member or the owner itself sends', () => {
      const { engine, owner, members } = withGroup(1, { emitters: 'anyone', sendToPeer: true });
      const stranger = engine.connect().id;
      expect(accepted(engine, emitInput(stranger)).recipients).toBe(1);
      expect(accepted(engine, emitInput(owner)).recipients).toBe(1);
      expect(received(engine, owner)).toEqual([]);
      expect(received(engine, members[0] as number)).toHaveLength(2);
    });

    it('reaches the owner even when a filter would not', () => {
      const { engine, owner, members } = withGroup(1, { emitters: 'members', sendToPeer: true });
      engine.join(owner, G, [{ signal: 'Nothing' }]);
      accepted(engine, emitInput(members[0] as number));
      expect(received(engine, owner)).toHaveLength(1);
    });
  });

  it('numbers messages: seq strictly increasing on the bus, groupSeq contiguous per group', () => {
    const { engine, owner, members } = withGroup(1);
    engine.createGroup(owner, H);
    engine.join(members[0] as number, H);
    const signals = ['A', 'B', 'C'];
    for (let i = 0; i < 30; i++) {
      accepted(engine, { ...emitInput(owner, signals[i % 3]), group: i % 4 === 0 ? H : G });
    }
    const got = received(engine, members[0] as number);
    const seqs = got.map((m) => m.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(30);
    for (const group of [G, H]) {
      const groupSeqs = got.filter((m) => m.group === group).map((m) => m.groupSeq);
      expect(groupSeqs).toEqual(groupSeqs.map((_, i) => i + 1));
      expect(engine.group(group)?.seq).toBe(groupSeqs.length);
    }
    expect(engine.seq).toBe(30);
  });

  it('still numbers a message nobody receives', () => {
    const { engine, owner } = withGroup(0);
    expect(engine.emit(emitInput(owner))).toMatchObject({
      status: 'accepted',
      seq: 1,
      groupSeq: 1,
      recipients: 0,
    });
  });
});

describe('filters', () => {
  it.each<[string, Filter[], string[]]>([
    ['no filter: everything', [], ['A:1', 'A:2', 'B:1', 'B:2']],
    ['by signal', [{ signal: 'A' }], ['A:1', 'A:2']],
    ['by sender', [{ sender: -1 }], ['A:1', 'B:1']],
    ['by field', [{ fields: { n: 2 } }], ['A:2', 'B:2']],
    ['by signal and field', [{ signal: 'B', fields: { n: 2 } }], ['B:2']],
    [
      'several filters, OR-ed',
      [
        { signal: 'A', fields: { n: 1 } },
        { signal: 'B', fields: { n: 2 } },
      ],
      ['A:1', 'B:2'],
    ],
    [
      'overlapping filters deliver once',
      [{ signal: 'A' }, { fields: { n: 1 } }, {}],
      ['A:1', 'A:2', 'B:1', 'B:2'],
    ],
    ['a signal nobody emits', [{ signal: 'C' }], []],
  ])('%s', (_, filters, expected) => {
    const { engine, owner } = withGroup(0, { emitters: 'anyone' });
    const other = engine.connect().id;
    const member = engine.connect().id;
    const resolved = filters.map((f) => (f.sender === -1 ? { ...f, sender: owner } : f));
    engine.join(member, G, resolved);
    for (const [signal, n, sender] of [
      ['A', 1, owner],
      ['A', 2, other],
      ['B', 1, owner],
      ['B', 2, other],
    ] as const) {
      engine.emit({ ...emitInput(sender, signal, { n }), fields: () => ({ n }) });
    }
    expect(received(engine, member).map((m) => `${m.signal}:${(m.payload as { n: number }).n}`)).toEqual(
      expected,
    );
  });

  it('reads the payload fields at most once per emit, however many field filters there are', () => {
    const { engine, owner } = withGroup(0);
    for (let i = 0; i < 5; i++)
      engine.join(engine.connect().id, G, [{ fields: { n: i } }, { fields: { m: i } }]);
    const reader = counting({ n: 1 });
    expect(accepted(engine, { ...emitInput(owner), fields: reader.read }).recipients).toBe(1);
    expect(reader.calls).toBe(1);
  });

  it('never reads the payload fields when no field filter is involved', () => {
    const { engine, owner } = withGroup(2);
    engine.join(engine.connect().id, G, [{ signal: 'LevelChanged' }]);
    engine.join(engine.connect().id, G, [{ sender: owner }]);
    const reader = counting({ n: 1 });
    expect(accepted(engine, { ...emitInput(owner), fields: reader.read }).recipients).toBe(4);
    expect(reader.calls).toBe(0);
  });

  it('does not evaluate members whose filters name only other signals (by-signal index)', () => {
    const { engine, owner } = withGroup(0);
    const other = engine.connect().id;
    engine.join(other, G, [
      { signal: 'StateChanged', fields: { n: 1 } },
      { signal: 'Other', fields: { n: 1 } },
    ]);
    const interested = engine.connect().id;
    engine.join(interested, G, [{ signal: 'LevelChanged' }]);
    const reader = counting({ n: 1 });
    expect(accepted(engine, { ...emitInput(owner, 'LevelChanged'), fields: reader.read }).recipients).toBe(1);
    expect(reader.calls).toBe(0);
    // The same member on its own signal does read the fields (so the counter can count).
    const again = counting({ n: 1 });
    expect(accepted(engine, { ...emitInput(owner, 'StateChanged'), fields: again.read }).recipients).toBe(1);
    expect(again.calls).toBe(1);
    expect(received(engine, other).map((m) => m.signal)).toEqual(['StateChanged']);
  });

  it('matches no field filter when the payload cannot be read', () => {
    const { engine, owner } = withGroup(0);
    const member = engine.connect().id;
    engine.join(member, G, [{ fields: { n: 1 } }]);
    accepted(engine, {
      ...emitInput(owner),
      fields: () => {
        throw new Error('undecodable');
      },
    });
    accepted(engine, emitInput(owner)); // no reader at all
    expect(received(engine, member)).toEqual([]);
  });

  it('stops applying a membership filter after leave', () => {
    const { engine, owner } = withGroup(0);
    const member = engine.connect().id;
    engine.join(member, G, [{ signal: 'LevelChanged' }, { fields: { n: 1 } }]);
    engine.leave(member, G);
    const reader = counting({ n: 1 });
    expect(accepted(engine, { ...emitInput(owner), fields: reader.read }).recipients).toBe(0);
    expect(reader.calls).toBe(0);
  });
});

describe('retained values', () => {
  function retaining(maxRetainedBytesPerGroup?: number) {
    const limits = maxRetainedBytesPerGroup === undefined ? {} : { maxRetainedBytesPerGroup };
    return withGroup(0, { retain: true }, { limits });
  }

  it('keeps the last message of each signal and replays it, marked retained, before live messages', () => {
    const { engine, owner } = retaining();
    accepted(engine, emitInput(owner, 'Level', { v: 1 }));
    const state = accepted(engine, emitInput(owner, 'State', { v: 'charging' }));
    const level = accepted(engine, emitInput(owner, 'Level', { v: 2 }));
    const joiner = engine.connect().id;
    const result = engine.join(joiner, G);
    expect(result.retained).toBe(2);
    const live = accepted(engine, emitInput(owner, 'Level', { v: 3 }));
    const got = received(engine, joiner);
    expect(got.map((m) => [m.signal, m.payload, m.seq, m.retained])).toEqual([
      ['State', { v: 'charging' }, state.seq, true],
      ['Level', { v: 2 }, level.seq, true],
      ['Level', { v: 3 }, live.seq, false],
    ]);
    expect(got[0]?.seq).toBeLessThan(result.startSeq);
    expect(got[2]?.seq).toBe(result.startSeq);
    expect(engine.group(G)?.retainedBytes).toBe(20);
  });

  it('replays only what the filters let through', () => {
    const { engine, owner } = retaining();
    engine.emit({ ...emitInput(owner, 'Level', { v: 1 }), fields: () => ({ v: 1 }) });
    engine.emit({ ...emitInput(owner, 'State', { v: 2 }), fields: () => ({ v: 2 }) });
    engine.emit({ ...emitInput(owner, 'Other', { v: 3 }), fields: () => ({ v: 3 }) });
    const joiner = engine.connect().id;
    expect(engine.join(joiner, G, [{ signal: 'Level' }, { fields: { v: 2 } }]).retained).toBe(2);
    expect(received(engine, joiner).map((m) => m.signal)).toEqual(['Level', 'State']);
  });

  it('reads the payload fields of a retained value at most once, however many join', () => {
    const { engine, owner } = retaining();
    const reader = counting({ n: 1 });
    engine.join(engine.connect().id, G, [{ fields: { n: 1 } }]);
    accepted(engine, { ...emitInput(owner, 'Level'), fields: reader.read });
    for (let i = 0; i < 3; i++)
      expect(engine.join(engine.connect().id, G, [{ fields: { n: 1 } }]).retained).toBe(1);
    expect(reader.calls).toBe(1);
  });

  it('replays to an autojoin', () => {
    const { engine, owner } = retaining();
    accepted(engine, emitInput(owner, 'Level'));
    const { id, joined } = engine.connect({ join: [{ group: G }] });
    expect(joined[0]?.retained).toBe(1);
    expect(received(engine, id)[0]?.retained).toBe(true);
  });

  it('drops the least recently updated values past the byte limit', () => {
    const { engine, owner } = retaining(30);
    for (const signal of ['A', 'B', 'C']) accepted(engine, emitInput(owner, signal));
    accepted(engine, emitInput(owner, 'A')); // A is now the most recent; B the least
    accepted(engine, emitInput(owner, 'D'));
    expect(engine.group(G)?.retainedBytes).toBe(30);
    const joiner = engine.connect().id;
    engine.join(joiner, G);
    expect(received(engine, joiner).map((m) => m.signal)).toEqual(['C', 'A', 'D']);
  });

  it('keeps no value larger than the limit, and forgets the older one of that signal', () => {
    const { engine, owner } = retaining(30);
    accepted(engine, emitInput(owner, 'A'));
    accepted(engine, emitInput(owner, 'B'));
    accepted(engine, { ...emitInput(owner, 'A'), size: 31 });
    expect(engine.group(G)?.retainedBytes).toBe(10);
    const joiner = engine.connect().id;
    engine.join(joiner, G);
    expect(received(engine, joiner).map((m) => m.signal)).toEqual(['B']);
  });

  it('keeps nothing without the retain option', () => {
    const { engine, owner } = withGroup(0);
    accepted(engine, emitInput(owner));
    const joiner = engine.connect().id;
    expect(engine.join(joiner, G).retained).toBe(0);
    expect(engine.group(G)?.retainedBytes).toBe(0);
  });
});

describe('post and take', () => {
  it('queues direct items in order with messages', () => {
    const { engine, owner, members } = withGroup(1);
    const a = members[0] as number;
    engine.post(a, 'reply-1', 5);
    accepted(engine, emitInput(owner));
    engine.post(a, 'reply-2', 5);
    expect(engine.take(a).map((i) => (i.kind === 'direct' ? i.data : i.kind))).toEqual([
      'reply-1',
      'signal',
      'reply-2',
    ]);
  });

  it('takes at least one item, then up to maxBytes', () => {
    const { engine } = setup();
    const a = engine.connect().id;
    engine.post(a, 'big', 100);
    engine.post(a, 'x', 10);
    engine.post(a, 'y', 10);
    expect(engine.take(a, 1).map((i) => (i.kind === 'direct' ? i.data : ''))).toEqual(['big']);
    expect(engine.queuedBytes(a)).toBe(20);
    expect(engine.connection(a)).toMatchObject({ queuedBytes: 20, queuedItems: 2 });
    expect(engine.take(a, 15)).toHaveLength(1);
    expect(engine.take(a)).toHaveLength(1);
    expect(engine.take(a)).toEqual([]);
  });

  it('calls readable when a queue goes from empty to non-empty, and only then', () => {
    const { engine, hooks, owner, members } = withGroup(2);
    const [a, b] = members as [number, number];
    accepted(engine, emitInput(owner));
    accepted(engine, emitInput(owner));
    engine.post(a, 'x', 1);
    expect(hooks.calls).toEqual([
      { hook: 'readable', connection: a },
      { hook: 'readable', connection: b },
    ]);
    engine.take(a);
    engine.post(a, 'y', 1);
    expect(hooks.calls.at(-1)).toEqual({ hook: 'readable', connection: a });
    expect(hooks.calls).toHaveLength(3);
  });
});

describe('introspection', () => {
  it('reports groups, connections and counters', () => {
    const { engine, owner, members } = withGroup(2);
    const [a, b] = members as [number, number];
    engine.createGroup(a, H, { emitters: 'anyone' });
    engine.join(owner, H);
    accepted(engine, { ...emitInput(owner), size: 7 });
    accepted(engine, { ...emitInput(b), group: H, size: 3 });
    expect([...engine.groups()].map((g) => g.name)).toEqual([BUS_NAME, G, H]);
    expect(engine.group(G)).toMatchObject({
      owner,
      members: 2,
      seq: 1,
      stats: { messages: 1, deliveries: 2, bytes: 14 },
    });
    expect(engine.group(H)).toMatchObject({
      owner: a,
      members: 1,
      seq: 1,
      stats: { messages: 1, deliveries: 1, bytes: 3 },
    });
    expect(engine.group('org.example.Missing')).toBeUndefined();
    expect(engine.connection(a)).toEqual({
      id: a,
      queuedBytes: 7,
      queuedItems: 1,
      maxQueueBytes: engine.limits.maxQueueBytes,
      memberships: [G],
      owned: [H],
      names: [],
      blocked: false,
      monitor: false,
      monitoring: undefined,
    });
    expect(engine.stats()).toEqual({
      connections: 3,
      groups: 2,
      evictions: 0,
      pending: 0,
      names: 0,
      monitors: 0,
      seq: 2,
      messages: 2,
      deliveries: 3,
      bytes: 17,
    });
    expect(engine.connectionIds()).toEqual([owner, a, b]);
  });

  it('exposes frozen limits merged over the defaults', () => {
    const engine = new Engine({ limits: { maxGroups: 3 } });
    expect(engine.limits.maxGroups).toBe(3);
    expect(engine.limits.maxConnections).toBe(4096);
    expect(Object.isFrozen(engine.limits)).toBe(true);
  });
});

describe('the decodeFields option', () => {
  it('decodes a payload for field filters with one decoder, only when a field filter needs it', () => {
    const decoded: Payload[] = [];
    const engine = new Engine<Payload>({
      decodeFields: (payload) => {
        decoded.push(payload);
        return payload;
      },
    });
    const owner = engine.connect().id;
    engine.createGroup(owner, G);
    const plain = engine.connect({ join: [{ group: G }] }).id;
    const emit = (payload: Payload) =>
      engine.emit({ sender: owner, group: G, signal: 'S', payload, size: 1 });
    emit({ level: 'info' });
    expect(decoded).toEqual([]); // nobody filters on fields: nothing decoded
    const picky = engine.connect({ join: [{ group: G, filters: [{ fields: { level: 'error' } }] }] }).id;
    emit({ level: 'info' });
    emit({ level: 'error' });
    expect(decoded).toEqual([{ level: 'info' }, { level: 'error' }]); // once per message
    expect(engine.take(picky).map((m) => (m.kind === 'signal' ? m.payload : undefined))).toEqual([
      { level: 'error' },
    ]);
    expect(engine.take(plain)).toHaveLength(3);
  });
});

describe('emits on behalf of another connection (origin, tag)', () => {
  // chorusd applies a federated message its own client published: the daemon's connection sends
  // it (and is the one a block holds up), but the message is from the client.
  it('makes origin the sender: skipped without loopback, matched by sender filters; tag copied', () => {
    const engine = new Engine<Payload>();
    const driver = engine.connect().id;
    engine.createGroup(driver, G);
    const client = engine.connect({ join: [{ group: G }] }).id;
    const other = engine.connect({ join: [{ group: G, filters: [{ sender: client }] }] }).id;
    const outcome = engine.emit({
      sender: driver,
      origin: client,
      group: G,
      signal: 'S',
      payload: {},
      size: 1,
      tag: { fseq: 7 },
    });
    expect(outcome).toMatchObject({ status: 'accepted', recipients: 1 });
    expect(engine.take(client)).toEqual([]); // its own message, no loopback
    const [message] = engine.take(other) as Message<Payload>[];
    expect(message).toMatchObject({ sender: client, tag: { fseq: 7 } });
  });
});
