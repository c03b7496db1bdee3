// Model-based property test: random interleavings of every operation from several connections,
// checked against an independent reference model of memberships, recipients and queues.
//
// The model predicts, for every connection, the exact stream of items it must be given:
// messages (by seq), retained replays, group-closed notices and direct items. A message's
// recipients are computed by the model from its own membership tables at the moment the engine
// accepts the message (the emit's return, or `hooks.settled` for a blocked one). Items that are
// not messages are placed in the stream by the bus seq at the time they are queued, since a
// message is sequenced at the moment it is queued to all of its recipients.
//
// After each run: survivors were given exactly their stream, removed connections a prefix of
// theirs (atomicity: every accepted message reached exactly its recipients, or none of them),
// every pair of connections saw common messages in one order, live seqs strictly increase,
// each payload's fields were read at most once, and once everyone disconnects nothing is left.
// After each operation: the membership tables agree both ways and with the model, and every
// blocked emit is blocked for a reason (one of its current recipients is full).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordingHooks } from './engine.fixture.js';
import { type Accepted, Engine, type OutboundItem } from './engine.js';
import type { EngineError } from './errors.js';
import type { Filter } from './filter.js';
import { BUS_NAME } from './name-registry.js';
import type { GroupOptions } from './options.js';

interface Payload {
  readonly id: number;
  readonly k: number;
}

const NAMES = ['org.test.G0', 'org.test.G1', 'org.test.G2'];
const SIGNALS = ['A', 'B'];
const MAX_QUEUE = 40;
const MAX_RETAINED = 30;
const STALL = 100;

// ---- the reference model ----------------------------------------------------------------------

interface Entry {
  /** Bus seq: a message's own, or the last one assigned when the item was queued. */
  readonly at: number;
  /** 0 for a message, 1 for anything queued after message `at` (and before `at + 1`). */
  readonly tier: 0 | 1;
  readonly n: number;
  readonly text: string;
}

interface MFilter {
  readonly signal?: string;
  readonly sender?: number;
  readonly k?: number;
}

interface MEmit {
  readonly group: MGroup;
  readonly signal: string;
  readonly payload: Payload;
}

interface MConn {
  readonly id: number;
  alive: boolean;
  readonly memberships: Map<string, readonly MFilter[]>;
  pending: MEmit | undefined;
  readonly expected: Entry[];
  readonly received: string[];
  readonly messages: { seq: number; id: number }[];
}

interface MRetained {
  readonly seq: number;
  readonly size: number;
  readonly sender: number;
  readonly k: number;
}

interface MGroup {
  readonly name: string;
  readonly owner: number;
  readonly options: GroupOptions;
  readonly members: Map<number, readonly MFilter[]>;
  readonly retained: Map<string, MRetained>;
  retainedBytes: number;
  seq: number;
}

interface MMessage {
  readonly group: string;
  readonly groupSeq: number;
  readonly signal: string;
  readonly sender: number;
  readonly id: number;
}

function matches(filters: readonly MFilter[], signal: string, sender: number, k: number): boolean {
  if (filters.length === 0) return true;
  return filters.some(
    (f) =>
      (f.signal === undefined || f.signal === signal) &&
      (f.sender === undefined || f.sender === sender) &&
      (f.k === undefined || f.k === k),
  );
}

function toFilters(filters: readonly MFilter[]): Filter[] {
  return filters.map((f) => ({
    ...(f.signal === undefined ? {} : { signal: f.signal }),
    ...(f.sender === undefined ? {} : { sender: f.sender }),
    ...(f.k === undefined ? {} : { fields: { k: f.k } }),
  }));
}

class Model {
  readonly conns = new Map<number, MConn>();
  readonly groups = new Map<string, MGroup>();
  readonly messages = new Map<number, MMessage>();
  #n = 0;

  constructor(readonly engine: Engine<Payload>) {}

  alive(): MConn[] {
    return [...this.conns.values()].filter((c) => c.alive);
  }

  conn(id: number): MConn {
    const c = this.conns.get(id);
    if (c === undefined) throw new Error(`model: no connection ${id}`);
    return c;
  }

  add(id: number): MConn {
    const c: MConn = {
      id,
      alive: true,
      memberships: new Map(),
      pending: undefined,
      expected: [],
      received: [],
      messages: [],
    };
    this.conns.set(id, c);
    return c;
  }

  queue(c: MConn, text: string): void {
    c.expected.push({ at: this.engine.seq, tier: 1, n: this.#n++, text });
  }

  join(c: MConn, group: MGroup, filters: readonly MFilter[]): void {
    group.members.set(c.id, filters);
    c.memberships.set(group.name, filters);
    for (const [signal, r] of group.retained) {
      if (matches(filters, signal, r.sender, r.k)) this.queue(c, `r:${r.seq}`);
    }
  }

  leave(c: MConn, group: MGroup): void {
    group.members.delete(c.id);
    c.memberships.delete(group.name);
  }

  close(group: MGroup, reason: string): void {
    this.groups.delete(group.name);
    for (const id of group.members.keys()) {
      const c = this.conn(id);
      c.memberships.delete(group.name);
      this.queue(c, `closed:${group.name}:${reason}`);
    }
  }

  remove(c: MConn, reason: string): void {
    c.alive = false;
    c.pending = undefined;
    for (const name of c.memberships.keys()) this.groups.get(name)?.members.delete(c.id);
    c.memberships.clear();
    for (const group of [...this.groups.values()]) if (group.owner === c.id) this.close(group, reason);
  }

  recipients(group: MGroup, sender: number, signal: string, k: number): number[] {
    const out = new Set<number>();
    for (const [id, filters] of group.members) {
      if (id === sender && !group.options.loopback) continue;
      if (matches(filters, signal, sender, k)) out.add(id);
    }
    if (group.options.sendToPeer && group.owner !== sender && group.members.has(sender)) out.add(group.owner);
    return [...out];
  }

  /** The engine accepted `emit` as `outcome`: queue it to the recipients the model computes now. */
  accept(sender: number, emit: MEmit, outcome: Accepted): void {
    const { group, signal, payload } = emit;
    expect(this.groups.get(group.name), 'accepted on a closed group').toBe(group);
    const recipients = this.recipients(group, sender, signal, payload.k);
    expect(outcome.recipients).toBe(recipients.length);
    expect(outcome.groupSeq).toBe(group.seq + 1);
    group.seq = outcome.groupSeq;
    expect(this.messages.has(outcome.seq)).toBe(false);
    this.messages.set(outcome.seq, {
      group: group.name,
      groupSeq: outcome.groupSeq,
      signal,
      sender,
      id: payload.id,
    });
    for (const id of recipients) {
      this.conn(id).expected.push({ at: outcome.seq, tier: 0, n: this.#n++, text: `m:${outcome.seq}` });
    }
    if (group.options.retain) {
      const previous = group.retained.get(signal);
      if (previous !== undefined) {
        group.retained.delete(signal);
        group.retainedBytes -= previous.size;
      }
      const size = sizeOf(payload);
      if (size <= MAX_RETAINED) {
        for (const [s, r] of group.retained) {
          if (group.retainedBytes + size <= MAX_RETAINED) break;
          group.retained.delete(s);
          group.retainedBytes -= r.size;
        }
        group.retained.set(signal, { seq: outcome.seq, size, sender, k: payload.k });
        group.retainedBytes += size;
      }
    }
  }

  /** `hooks.settled`: a blocked emit was accepted, or failed because its group closed. */
  settled(sender: number, outcome: Accepted | EngineError): void {
    const c = this.conn(sender);
    const pending = c.pending;
    expect(c.alive, 'settled for a removed sender').toBe(true);
    expect(pending, 'settled without a pending emit').toBeDefined();
    if (pending === undefined) return;
    c.pending = undefined;
    if ('code' in outcome) {
      expect(outcome.code).toBe('UNKNOWN_GROUP');
      expect(this.groups.get(pending.group.name)).not.toBe(pending.group);
    } else {
      this.accept(sender, pending, outcome);
    }
  }
}

/** Message sizes are part of the payload so that the model and the engine agree on them. */
function sizeOf(payload: Payload): number {
  return 5 + (payload.id % 4) * 8;
}

// ---- operations -------------------------------------------------------------------------------

const filterArb = fc.record(
  { signal: fc.constantFrom(...SIGNALS), sender: fc.nat(), k: fc.nat(1) },
  { requiredKeys: [] },
);
const filtersArb = fc.array(filterArb, { maxLength: 2 });
const optionsArb = fc.record({
  emitters: fc.constantFrom<GroupOptions['emitters']>('owner', 'members', 'anyone', 'anyone'),
  loopback: fc.boolean(),
  sendToPeer: fc.boolean(),
  onFull: fc.constantFrom<GroupOptions['onFull']>('block', 'reject', 'evict'),
  retain: fc.boolean(),
});

const opArb = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('connect' as const),
      join: fc.array(fc.record({ g: fc.nat(NAMES.length - 1), f: filtersArb }), { maxLength: 2 }),
      maxQueueBytes: fc.option(fc.integer({ min: 10, max: 60 }), { nil: undefined }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('create' as const),
      c: fc.nat(),
      g: fc.nat(NAMES.length - 1),
      o: optionsArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('join' as const),
      c: fc.nat(),
      g: fc.nat(NAMES.length - 1),
      f: filtersArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('leave' as const), c: fc.nat(), g: fc.nat(NAMES.length - 1) }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      t: fc.constant('emit' as const),
      c: fc.nat(),
      /** From the group's owner, if it is still there, rather than from connection `c`. */
      byOwner: fc.boolean(),
      g: fc.nat(NAMES.length - 1),
      signal: fc.constantFrom(...SIGNALS),
      k: fc.nat(1),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('take' as const),
      c: fc.nat(),
      max: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 1, max: 40 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('post' as const),
      c: fc.nat(),
      size: fc.integer({ min: 1, max: 30 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 150 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('close' as const), c: fc.nat(), g: fc.nat(NAMES.length - 1) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('disconnect' as const), c: fc.nat() }) },
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

/** Runs `fn` and checks it throws exactly the error code the model predicts (or nothing). */
function expectOutcome<T>(predicted: string | undefined, fn: () => T): T | undefined {
  let result: T | undefined;
  let code: string | undefined;
  try {
    result = fn();
  } catch (error) {
    code = (error as EngineError).code;
    if (code === undefined) throw error;
  }
  expect(code).toBe(predicted);
  return result;
}

function describeItem(item: OutboundItem<Payload>): string {
  switch (item.kind) {
    case 'signal':
      return `${item.retained ? 'r' : 'm'}:${item.seq}`;
    case 'group-closed':
      return `closed:${item.group}:${item.reason}`;
    case 'direct':
      return `d:${item.data as number}`;
  }
}

/** What the runs went through, so that a generator that became too tame fails the test. */
const seen = {
  accepted: 0,
  blocked: 0,
  rejected: 0,
  evicted: 0,
  settledAccepted: 0,
  settledClosed: 0,
  stalled: 0,
  retainedReplays: 0,
  removedWithUndrained: 0,
};

interface Setup {
  readonly groups: readonly {
    readonly owner: number;
    readonly o: GroupOptions;
    readonly members: readonly number[];
  }[];
}

const setupArb = fc.record({
  groups: fc.array(
    fc.record({ owner: fc.nat(2), o: optionsArb, members: fc.uniqueArray(fc.nat(2), { maxLength: 3 }) }),
    {
      maxLength: NAMES.length,
    },
  ),
});

function run(setup: Setup, ops: readonly Op[], order: readonly number[]): void {
  const hooks = new RecordingHooks();
  const engine = new Engine<Payload>({
    hooks,
    limits: { maxQueueBytes: MAX_QUEUE, maxRetainedBytesPerGroup: MAX_RETAINED, stallTimeoutMs: STALL },
  });
  const model = new Model(engine);
  let evictedNow: number[] = [];
  hooks.onEvicted = (id) => {
    evictedNow.push(id);
    model.remove(model.conn(id), 'owner-evicted');
  };
  hooks.onSettled = (sender, outcome) => {
    if ('code' in outcome) seen.settledClosed++;
    else seen.settledAccepted++;
    model.settled(sender, outcome);
  };

  let now = 0;
  let nextPayload = 1;
  let nextDirect = 1;
  const readerCalls = new Map<number, number>();

  const take = (c: MConn, max: number): void => {
    for (const item of engine.take(c.id, max)) {
      c.received.push(describeItem(item));
      if (item.kind !== 'signal') continue;
      // Retained copies carry the original's seq, group, signal, sender and payload.
      const known = model.messages.get(item.seq);
      const actual = `${item.group} ${item.signal} ${item.sender} ${item.payload.id}`;
      const wanted = known && `${known.group} ${known.signal} ${known.sender} ${known.id}`;
      if (actual !== wanted) expect(actual).toBe(wanted);
      if (item.groupSeq !== known?.groupSeq) expect(item.groupSeq).toBe(known?.groupSeq);
      if (!item.retained) c.messages.push({ seq: item.seq, id: item.payload.id });
    }
  };

  const pick = (index: number): MConn | undefined => {
    const alive = model.alive();
    return alive.length === 0 ? undefined : alive[index % alive.length];
  };
  const filtersFor = (filters: readonly { signal?: string; sender?: number; k?: number }[]): MFilter[] =>
    filters.map((f) => (f.sender === undefined ? f : { ...f, sender: pick(f.sender)?.id ?? 0 }));

  const first = [0, 1, 2].map(() => model.add(engine.connect().id));
  for (const [g, spec] of setup.groups.entries()) {
    const name = NAMES[g] as string;
    const owner = first[spec.owner] as MConn;
    engine.createGroup(owner.id, name, spec.o);
    const group: MGroup = {
      name,
      owner: owner.id,
      options: spec.o,
      members: new Map(),
      retained: new Map(),
      retainedBytes: 0,
      seq: 0,
    };
    model.groups.set(name, group);
    for (const m of spec.members) {
      const member = first[m] as MConn;
      engine.join(member.id, name);
      model.join(member, group, []);
    }
  }

  for (const op of ops) {
    evictedNow = [];
    const before = engine.seq;
    switch (op.t) {
      case 'connect': {
        const specs: { group: MGroup; filters: MFilter[] }[] = [];
        for (const { g, f } of op.join) {
          const group = model.groups.get(NAMES[g] as string);
          if (group !== undefined && !specs.some((s) => s.group === group))
            specs.push({ group, filters: filtersFor(f) });
        }
        const { id, joined } = engine.connect({
          ...(op.maxQueueBytes === undefined ? {} : { maxQueueBytes: op.maxQueueBytes }),
          join: specs.map((s) => ({ group: s.group.name, filters: toFilters(s.filters) })),
        });
        const c = model.add(id);
        for (const [j, spec] of specs.entries()) {
          expect(joined[j]).toMatchObject({
            group: spec.group.name,
            startSeq: before + 1,
            startGroupSeq: spec.group.seq + 1,
          });
          model.join(c, spec.group, spec.filters);
        }
        break;
      }
      case 'create': {
        const c = pick(op.c);
        if (c === undefined) break;
        const name = NAMES[op.g] as string;
        const created = expectOutcome(model.groups.has(name) ? 'GROUP_EXISTS' : undefined, () =>
          engine.createGroup(c.id, name, op.o),
        );
        if (created !== undefined) {
          model.groups.set(name, {
            name,
            owner: c.id,
            options: op.o,
            members: new Map(),
            retained: new Map(),
            retainedBytes: 0,
            seq: 0,
          });
        }
        break;
      }
      case 'join': {
        const c = pick(op.c);
        if (c === undefined) break;
        const name = NAMES[op.g] as string;
        const group = model.groups.get(name);
        const filters = filtersFor(op.f);
        const predicted =
          group === undefined ? 'UNKNOWN_GROUP' : c.memberships.has(name) ? 'ALREADY_MEMBER' : undefined;
        const result = expectOutcome(predicted, () => engine.join(c.id, name, toFilters(filters)));
        if (result !== undefined && group !== undefined) {
          expect(result).toMatchObject({ startSeq: before + 1, startGroupSeq: group.seq + 1 });
          model.join(c, group, filters);
        }
        break;
      }
      case 'leave': {
        const c = pick(op.c);
        if (c === undefined) break;
        const name = NAMES[op.g] as string;
        const group = model.groups.get(name);
        const predicted =
          group === undefined ? 'UNKNOWN_GROUP' : c.memberships.has(name) ? undefined : 'NOT_MEMBER';
        // Applied to the model first: blocked emits settled inside `leave` see the new membership.
        if (predicted === undefined && group !== undefined) model.leave(c, group);
        expectOutcome(predicted, () => engine.leave(c.id, name));
        break;
      }
      case 'close': {
        const c = pick(op.c);
        if (c === undefined) break;
        const name = NAMES[op.g] as string;
        const group = model.groups.get(name);
        const predicted =
          group === undefined ? 'UNKNOWN_GROUP' : group.owner === c.id ? undefined : 'NOT_OWNER';
        if (predicted === undefined && group !== undefined) model.close(group, 'closed');
        expectOutcome(predicted, () => engine.closeGroup(c.id, name));
        break;
      }
      case 'disconnect': {
        const c = pick(op.c);
        if (c === undefined) break;
        model.remove(c, 'owner-left');
        engine.disconnect(c.id);
        break;
      }
      case 'post': {
        const c = pick(op.c);
        if (c === undefined) break;
        const data = nextDirect++;
        model.queue(c, `d:${data}`);
        engine.post(c.id, data, op.size);
        break;
      }
      case 'take': {
        const c = pick(op.c);
        if (c !== undefined) take(c, op.max);
        break;
      }
      case 'tick': {
        now += op.dt;
        expect(engine.tick(now)).toEqual(evictedNow);
        seen.stalled += evictedNow.length;
        break;
      }
      case 'emit': {
        const name = NAMES[op.g] as string;
        const group = model.groups.get(name);
        const c = op.byOwner && group !== undefined ? model.conn(group.owner) : pick(op.c);
        if (c === undefined) break;
        const payload: Payload = { id: nextPayload++, k: op.k };
        const emitters = group?.options.emitters;
        const permitted =
          group !== undefined &&
          (emitters === 'anyone' ||
            group.owner === c.id ||
            (emitters === 'members' && c.memberships.has(name)));
        const predicted =
          c.pending !== undefined
            ? 'SENDER_BLOCKED'
            : group === undefined
              ? 'UNKNOWN_GROUP'
              : permitted
                ? undefined
                : 'NOT_PERMITTED';
        readerCalls.set(payload.id, 0);
        const input = {
          sender: c.id,
          group: name,
          signal: op.signal,
          payload,
          size: sizeOf(payload),
          fields: () => {
            readerCalls.set(payload.id, (readerCalls.get(payload.id) ?? 0) + 1);
            return { k: payload.k };
          },
        };
        let outcome: ReturnType<typeof engine.emit> | undefined;
        let code: string | undefined;
        try {
          outcome = engine.emit(input, now);
        } catch (error) {
          code = (error as EngineError).code;
          if (code === undefined) throw error;
        }
        if (predicted !== undefined || group === undefined) {
          expect(code).toBe(predicted);
          break;
        }
        const emit: MEmit = { group, signal: op.signal, payload };
        const policy = group.options.onFull;
        if (outcome?.status === 'accepted') {
          seen.accepted++;
          if (outcome.evicted.length > 0) seen.evicted++;
          expect(outcome.evicted).toEqual(evictedNow);
          if (policy !== 'evict') expect(outcome.evicted).toEqual([]);
          model.accept(c.id, emit, outcome);
        } else if (outcome?.status === 'blocked') {
          expect(policy).toBe('block');
          seen.blocked++;
          c.pending = emit;
        } else if (code === 'QUEUE_FULL') {
          expect(policy).toBe('reject');
          seen.rejected++;
        } else {
          // Evicting the full recipients removed the sender (loopback) or the group's owner.
          expect(policy).toBe('evict');
          expect(evictedNow.length).toBeGreaterThan(0);
          expect(code).toBe(model.groups.get(name) !== group ? 'UNKNOWN_GROUP' : 'UNKNOWN_CONNECTION');
          if (code === 'UNKNOWN_CONNECTION') expect(c.alive).toBe(false);
        }
        break;
      }
    }
    checkTables(engine, model);
    checkBlocked(engine, model);
  }

  // Drain everyone, then compare each connection's stream with the model's.
  // A take can let blocked emits through to others, so drain until every queue stays empty.
  while (model.alive().some((c) => engine.queuedBytes(c.id) > 0 || engine.connection(c.id)?.queuedItems)) {
    for (const c of model.alive()) take(c, Number.POSITIVE_INFINITY);
  }
  expect(engine.stats().pending).toBe(0);
  for (const c of model.conns.values()) {
    const expected = [...c.expected]
      .sort((a, b) => a.at - b.at || a.tier - b.tier || a.n - b.n)
      .map((e) => e.text);
    if (c.alive) expect(c.received, `stream of ${c.id}`).toEqual(expected);
    else expect(c.received, `stream of removed ${c.id}`).toEqual(expected.slice(0, c.received.length));
  }
  checkOrder(model);
  for (const c of model.conns.values()) {
    seen.retainedReplays += c.received.filter((t) => t.startsWith('r:')).length;
    if (!c.alive && c.received.length < c.expected.length) seen.removedWithUndrained++;
  }
  for (const [id, calls] of readerCalls)
    expect(calls, `fields reader of message ${id}`).toBeLessThanOrEqual(1);
  for (const group of model.groups.values()) expect(engine.group(group.name)?.seq).toBe(group.seq);

  // Everyone leaves, in a random order: nothing may be left behind.
  const alive = model.alive();
  for (const index of order) {
    const c = alive.splice(index % Math.max(alive.length, 1), 1)[0];
    if (c === undefined) break;
    model.remove(c, 'owner-left');
    engine.disconnect(c.id);
    checkTables(engine, model);
    checkBlocked(engine, model);
  }
  for (const c of alive) {
    model.remove(c, 'owner-left');
    engine.disconnect(c.id);
  }
  expect(engine.stats()).toMatchObject({ connections: 0, groups: 0, pending: 0 });
  expect([...engine.groups()].map((g) => g.name)).toEqual([BUS_NAME]); // only the bus's own group is left
  expect(engine.connectionIds()).toEqual([]);
}

/** Membership tables agree in both directions, and with the model. */
function checkTables(engine: Engine<Payload>, model: Model): void {
  // Plain comparisons first, one `expect` on a mismatch: this runs after every operation.
  const sorted = (xs: Iterable<number | string>) => [...xs].map(String).sort().join(',');
  const fromEngine: string[] = [];
  const fromModel: string[] = [];
  const alive = model.alive();
  fromEngine.push(`connections ${sorted(engine.connectionIds())}`);
  fromModel.push(`connections ${sorted(alive.map((c) => c.id))}`);
  fromEngine.push(`pending ${engine.stats().pending}`);
  fromModel.push(`pending ${alive.filter((c) => c.pending !== undefined).length}`);
  for (const c of alive) {
    const info = engine.connection(c.id);
    fromEngine.push(`${c.id} in ${sorted(info?.memberships ?? [])} blocked ${info?.blocked}`);
    fromModel.push(`${c.id} in ${sorted(c.memberships.keys())} blocked ${c.pending !== undefined}`);
    // Connection → group: each membership is listed by the group, each owned group names its owner.
    for (const name of info?.memberships ?? []) {
      if (!engine.members(name).includes(c.id)) fromEngine.push(`${c.id} not listed by ${name}`);
    }
    for (const name of info?.owned ?? []) {
      if (engine.group(name)?.owner !== c.id) fromEngine.push(`${name} owned by ${c.id} names another owner`);
    }
  }
  // The bus's own group (owned by no connection) is outside the model.
  const groups = [...engine.groups()].filter((g) => g.name !== BUS_NAME);
  for (const group of groups) {
    const m = model.groups.get(group.name);
    const members = engine.members(group.name);
    fromEngine.push(
      `${group.name} owner ${group.owner} members ${sorted(members)} retained ${group.retainedBytes}`,
    );
    fromModel.push(
      `${group.name} owner ${m?.owner} members ${sorted(m?.members.keys() ?? [])} retained ${m?.retainedBytes}`,
    );
    // Group → connection: each member lists the membership, the owner lists the group.
    for (const id of members) {
      if (!engine.connection(id)?.memberships.includes(group.name))
        fromEngine.push(`${id} does not list ${group.name}`);
    }
    if (!engine.connection(group.owner)?.owned.includes(group.name))
      fromEngine.push(`owner does not list ${group.name}`);
  }
  fromModel.push(`groups ${sorted(model.groups.keys())}`);
  fromEngine.push(`groups ${sorted(groups.map((g) => g.name))}`);
  const a = fromEngine.sort().join('\n');
  const b = fromModel.sort().join('\n');
  if (a !== b) expect(a).toBe(b);
}

/** Every blocked emit waits for a reason: its group is open and one of its recipients is full now. */
function checkBlocked(engine: Engine<Payload>, model: Model): void {
  for (const c of model.alive()) {
    const pending = c.pending;
    if (pending === undefined) continue;
    const { group, signal, payload } = pending;
    if (model.groups.get(group.name) !== group) expect.fail(`${c.id} still blocked on closed ${group.name}`);
    const size = sizeOf(payload);
    const full = model.recipients(group, c.id, signal, payload.k).filter((r) => {
      const bytes = engine.queuedBytes(r);
      return bytes > 0 && bytes + size > (engine.connection(r)?.maxQueueBytes ?? 0);
    });
    if (full.length === 0) expect.fail(`${c.id} is blocked on ${group.name} but no recipient is full`);
  }
}

/** Live seqs strictly increase per connection, and every pair sees common messages in one order. */
function checkOrder(model: Model): void {
  const lists = [...model.conns.values()].map((c) => c.messages);
  for (const list of lists) {
    for (let i = 1; i < list.length; i++)
      expect((list[i] as { seq: number }).seq).toBeGreaterThan((list[i - 1] as { seq: number }).seq);
  }
  for (const [i, a] of lists.entries()) {
    const inA = new Set(a.map((m) => m.id));
    for (const b of lists.slice(i + 1)) {
      const inB = new Set(b.map((m) => m.id));
      expect(a.filter((m) => inB.has(m.id)).map((m) => m.id)).toEqual(
        b.filter((m) => inA.has(m.id)).map((m) => m.id),
      );
    }
  }
}

describe('engine (model-based)', () => {
  it('delivers atomically and in one order, with consistent tables, under random interleavings', () => {
    fc.assert(
      fc.property(
        setupArb,
        fc.array(opArb, { minLength: 1, maxLength: 100, size: 'max' }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (setup, ops, order) => run(setup, ops, order),
      ),
      { numRuns: 600 },
    );
    for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThan(0);
  }, 60_000);
});
