import {
  type Bus,
  type ConnectOptions,
  type CreateGroupOptions,
  connect,
  defineGroup,
  type Group,
  isChorusError,
  type Subscription,
  z,
} from '@chorus/client';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureEvent, type FixtureProcess, Fixtures } from './harness/child.js';
import { Calc } from './harness/contracts.js';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { until } from './harness/wait.js';

// The bus's own interface through the SDK (issue 5 §3): after any churn of connections, groups,
// memberships and names, listGroups / listConnections / listNames / getStats / getGroupSchema say
// what is really left. A model of the bus runs beside the real one (fast-check picks the churn),
// and a scenario with processes killed mid-way checks the same after crashes.

const children = new Fixtures();
const buses: Bus[] = [];
let daemon: RunningDaemon & { cleanup(): Promise<void> };
let observer: Bus;
beforeAll(async () => {
  daemon = await withDaemon();
  observer = await connect({ address: daemon.address });
});
afterEach(async () => {
  await children.killAll();
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});
afterAll(async () => {
  await observer?.close();
  await daemon?.cleanup();
});

async function open(options: ConnectOptions = {}): Promise<Bus> {
  const bus = await connect({ address: daemon.address, ...options });
  buses.push(bus);
  return bus;
}

/** Resolves once the daemon no longer lists `name` (a closed socket is noticed asynchronously). */
function gone(name: string): Promise<void> {
  return until(
    async () => !(await observer.listConnections()).some((c) => c.name === name),
    `${name} to be gone`,
  );
}

/** Every emit this file made: the daemon's totals count exactly these. */
const totals = { messages: 0, deliveries: 0 };

const CLIENTS = 5;
const GROUPS = 3;
const NAMES = 3;

type Op =
  | { t: 'connect'; c: number }
  | { t: 'disconnect'; c: number }
  | { t: 'create'; c: number; g: number }
  | { t: 'close'; c: number; g: number } // by the group's owner (c unused)
  | { t: 'join'; c: number; g: number }
  | { t: 'leave'; c: number; g: number }
  | { t: 'request'; c: number; n: number }
  | { t: 'release'; c: number; n: number }
  | { t: 'emit'; c: number; g: number }; // by the group's owner (c unused)

const client = fc.integer({ min: 0, max: CLIENTS - 1 });
const groupIndex = fc.integer({ min: 0, max: GROUPS - 1 });
const nameIndex = fc.integer({ min: 0, max: NAMES - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('connect' as const), c: client }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('disconnect' as const), c: client }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('create' as const), c: client, g: groupIndex }), weight: 4 },
  { arbitrary: fc.record({ t: fc.constant('close' as const), c: client, g: groupIndex }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('join' as const), c: client, g: groupIndex }), weight: 6 },
  { arbitrary: fc.record({ t: fc.constant('leave' as const), c: client, g: groupIndex }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('request' as const), c: client, n: nameIndex }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('release' as const), c: client, n: nameIndex }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('emit' as const), c: client, g: groupIndex }), weight: 4 },
);

/** The contract of every group of the model runs: a signal and a method whose schemas vary by group. */
function testContract(name: string, g: number) {
  return defineGroup(name, {
    signals: { Tick: z.object({ i: z.number().int(), g: z.number().int().min(g) }) },
    methods: { Get: { input: z.object({ k: z.string().max(g + 1) }), output: z.array(z.number()) } },
  });
}
type TestContract = ReturnType<typeof testContract>;

/** What the bus should hold, as the test drove it. */
class Model {
  readonly prefix: string;
  readonly clients: (Bus | undefined)[] = Array.from({ length: CLIENTS }, () => undefined);
  readonly subs = new Map<string, Subscription<TestContract>>(); // `${c}/${g}` → membership
  readonly groups = new Map<
    number,
    { owner: number; handle: Group<TestContract>; messages: number; deliveries: number }
  >();
  /** Claims per name: the primary owner first, then the queue. */
  readonly names = new Map<number, number[]>();

  constructor(run: number) {
    this.prefix = `test.intro.r${run}`;
  }

  groupName(g: number): string {
    return `${this.prefix}.G${g}`;
  }

  wellKnown(n: number): string {
    return `${this.prefix}.N${n}`;
  }

  contract(g: number): TestContract {
    return testContract(this.groupName(g), g);
  }

  options(g: number): CreateGroupOptions {
    return [{}, { retain: true }, { emitters: 'members', loopback: true } as const][g] ?? {};
  }

  members(g: number): number[] {
    return [...this.subs.keys()].flatMap((key) => {
      const [c, group] = key.split('/').map(Number);
      return group === g ? [c as number] : [];
    });
  }

  dropGroup(g: number): void {
    this.groups.delete(g);
    for (const key of [...this.subs.keys()]) if (key.endsWith(`/${g}`)) this.subs.delete(key);
  }

  dropClaim(c: number, n: number): void {
    const claims = (this.names.get(n) ?? []).filter((x) => x !== c);
    if (claims.length === 0) this.names.delete(n);
    else this.names.set(n, claims);
  }
}

/** Runs one op against the bus and the model; an op that does not apply is skipped. */
async function apply(model: Model, step: Op): Promise<void> {
  // Emits and closes come from the group's owner, whoever that is now.
  const owner = step.t === 'emit' || step.t === 'close' ? model.groups.get(step.g)?.owner : undefined;
  const c = owner ?? step.c;
  const bus = model.clients[c];
  if (step.t === 'connect') {
    if (bus === undefined) model.clients[c] = await open();
    return;
  }
  if (bus === undefined) return;
  switch (step.t) {
    case 'disconnect': {
      await bus.close();
      await gone(bus.name);
      model.clients[c] = undefined;
      for (const [g, group] of model.groups) if (group.owner === c) model.dropGroup(g);
      for (const key of [...model.subs.keys()]) if (key.startsWith(`${c}/`)) model.subs.delete(key);
      for (const n of [...model.names.keys()]) model.dropClaim(c, n);
      return;
    }
    case 'create': {
      const creating = bus.createGroup(model.contract(step.g), model.options(step.g));
      if (model.groups.has(step.g)) {
        await expect(creating).rejects.toMatchObject({ code: 'GROUP_EXISTS' });
        return;
      }
      model.groups.set(step.g, { owner: c, handle: await creating, messages: 0, deliveries: 0 });
      return;
    }
    case 'close': {
      const group = model.groups.get(step.g);
      if (group === undefined) return;
      await group.handle.close();
      model.dropGroup(step.g);
      return;
    }
    case 'join': {
      const key = `${c}/${step.g}`;
      if (!model.groups.has(step.g) || model.subs.has(key)) return;
      model.subs.set(key, await bus.join(model.contract(step.g)));
      return;
    }
    case 'leave': {
      const key = `${c}/${step.g}`;
      const sub = model.subs.get(key);
      if (sub === undefined) return;
      await sub.leave();
      model.subs.delete(key);
      return;
    }
    case 'request': {
      const claims = model.names.get(step.n) ?? [];
      const expected = claims[0] === c ? 'already-owner' : claims.length === 0 ? 'primary-owner' : 'in-queue';
      expect(await bus.requestName(model.wellKnown(step.n))).toBe(expected);
      if (!claims.includes(c)) model.names.set(step.n, [...claims, c]);
      return;
    }
    case 'release': {
      const claims = model.names.get(step.n);
      const expected = claims === undefined ? 'non-existent' : claims.includes(c) ? 'released' : 'not-owner';
      expect(await bus.releaseName(model.wellKnown(step.n))).toBe(expected);
      model.dropClaim(c, step.n);
      return;
    }
    case 'emit': {
      const group = model.groups.get(step.g);
      if (group === undefined) return;
      const loopback = model.options(step.g).loopback === true;
      const recipients = model.members(step.g).filter((m) => loopback || m !== c).length;
      const ack = await group.handle.emit('Tick', { i: group.messages, g: step.g });
      expect(ack.recipients).toBe(recipients);
      expect(ack.groupSeq).toBe(group.messages + 1);
      group.messages++;
      group.deliveries += recipients;
      totals.messages++;
      totals.deliveries += recipients;
      return;
    }
  }
}

/** What the bus's own interface says, against the model. */
async function check(model: Model, others: number): Promise<void> {
  const [groups, connections, names, stats] = await Promise.all([
    observer.listGroups(),
    observer.listConnections(),
    observer.listNames(),
    observer.getStats(),
  ]);
  const nameOf = (c: number): string => model.clients[c]?.name as string;
  const mine = (name: string): boolean => name.startsWith(`${model.prefix}.`);
  const sorted = <T extends { name: string }>(list: T[]): T[] =>
    [...list].sort((a, b) => a.name.localeCompare(b.name));

  expect(
    sorted(groups.filter((g) => mine(g.name))).map(({ name, owner, members, seq }) => ({
      name,
      owner,
      members,
      seq,
    })),
  ).toEqual(
    sorted(
      [...model.groups].map(([g, group]) => ({
        name: model.groupName(g),
        owner: nameOf(group.owner),
        members: model.members(g).length,
        seq: group.messages,
      })),
    ),
  );
  for (const [g] of model.groups) {
    const listed = groups.find((x) => x.name === model.groupName(g));
    expect(listed?.options).toMatchObject(model.options(g));
    expect(listed?.schema).toEqual(model.contract(g).jsonSchema());
  }

  expect(sorted(names.filter((n) => mine(n.name)))).toEqual(
    sorted(
      [...model.names].map(([n, [owner, ...queue]]) => ({
        name: model.wellKnown(n),
        owner: nameOf(owner as number),
        queue: queue.map(nameOf),
      })),
    ),
  );

  const live = model.clients.flatMap((bus, c) => (bus === undefined ? [] : [c]));
  for (const c of live) {
    const listed = connections.find((x) => x.name === nameOf(c));
    expect(listed, `connection ${nameOf(c)}`).toBeDefined();
    expect(listed).toMatchObject({ transport: 'unix', monitor: false });
    expect([...(listed?.groups ?? [])].sort()).toEqual(
      [...model.subs.keys()]
        .filter((key) => key.startsWith(`${c}/`))
        .map((key) => model.groupName(Number(key.split('/')[1])))
        .sort(),
    );
    expect([...(listed?.owned ?? [])].sort()).toEqual(
      [...model.groups]
        .filter(([, group]) => group.owner === c)
        .map(([g]) => model.groupName(g))
        .sort(),
    );
    expect([...(listed?.names ?? [])].sort()).toEqual(
      [...model.names]
        .filter(([, claims]) => claims[0] === c)
        .map(([n]) => model.wellKnown(n))
        .sort(),
    );
  }
  expect(connections).toHaveLength(live.length + others);
  expect(stats.connections).toBe(live.length + others);

  for (const [g, group] of model.groups) {
    expect(stats.groups[model.groupName(g)]).toMatchObject({
      messages: group.messages,
      deliveries: group.deliveries,
    });
  }
  expect(Object.keys(stats.groups).filter(mine).sort()).toEqual(
    [...model.groups.keys()].map((g) => model.groupName(g)).sort(),
  );
  expect(stats.total).toMatchObject(totals);
}

describe('introspection matches reality after churn', () => {
  let runs = 0;
  it('any sequence of connects, groups, joins, names and disconnects (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 40 }), async (ops) => {
        const model = new Model(runs++);
        try {
          // Everyone starts connected; 'connect' brings back those that disconnected.
          for (let c = 0; c < CLIENTS; c++) await apply(model, { t: 'connect', c });
          for (const step of ops) {
            await apply(model, step);
            await check(model, 1);
          }
          // The schemas, one by one too; a group that is gone has none.
          for (const [g] of model.groups) {
            expect(await observer.getGroupSchema(model.groupName(g))).toEqual(model.contract(g).jsonSchema());
          }
          const missing = [...Array(GROUPS).keys()].find((g) => !model.groups.has(g));
          if (missing !== undefined) {
            await expect(observer.getGroupSchema(model.groupName(missing))).rejects.toMatchObject({
              code: 'UNKNOWN_GROUP',
            });
          }
        } finally {
          // The next run starts from an empty bus (but for the observer).
          for (const bus of model.clients) {
            if (bus === undefined) continue;
            await bus.close();
            await gone(bus.name);
          }
        }
      }),
      { numRuns: 15, endOnFailure: true },
    );
  });

  it('processes that create, join and own names, then crash or leave: what is left is listed', async () => {
    const peers = await Promise.all(
      ['a', 'b', 'c', 'd'].map(async (id) => {
        const peer = children.spawn('peer.mjs', { address: daemon.address, id });
        const ready = await peer.waitFor((e) => e.event === 'ready');
        return { id, peer, name: ready['name'] as string };
      }),
    );
    const [a, b, c, d] = peers as [
      (typeof peers)[0],
      (typeof peers)[0],
      (typeof peers)[0],
      (typeof peers)[0],
    ];
    const command = async (
      peer: FixtureProcess,
      cmd: { readonly cmd: string; readonly [key: string]: unknown },
      answer: string,
    ): Promise<FixtureEvent> => {
      const seen = peer.events.length;
      peer.send(cmd);
      return peer.waitFor((e) => e.event === answer && peer.events.indexOf(e) >= seen);
    };
    const group = (id: string): string => `test.intro.proc.${id}`;
    for (const p of peers) await command(p.peer, { cmd: 'create', group: group(p.id) }, 'created');
    // A typed group too: its schema is published from the other process.
    await command(a.peer, { cmd: 'create', group: 'test.calls.Calc', schema: 'calc' }, 'created');
    // Everyone joins everyone else's group; a, b and c queue for one name, d owns another.
    for (const p of peers) {
      for (const q of peers)
        if (p !== q) await command(p.peer, { cmd: 'join', group: group(q.id) }, 'joined');
    }
    for (const p of [a, b, c])
      await command(p.peer, { cmd: 'request', name: 'test.intro.proc.Shared' }, 'requested');
    await command(d.peer, { cmd: 'request', name: 'test.intro.proc.Own' }, 'requested');
    const local = await open();
    await local.join(group('b'));
    await local.join(group('c'));

    // a crashes (owner of the shared name and of two groups), b leaves cleanly, c and d stay.
    await a.peer.kill('SIGKILL');
    b.peer.send({ cmd: 'close' });
    expect(await b.peer.exited).toMatchObject({ code: 0 });
    await gone(a.name);
    await gone(b.name);

    const [groups, connections, names, stats] = await Promise.all([
      local.listGroups(),
      local.listConnections(),
      local.listNames(),
      local.getStats(),
    ]);
    const left = <T extends { name: string }>(list: T[]): T[] =>
      list.filter((x) => x.name.startsWith('test.intro.proc.') || x.name === 'test.calls.Calc');
    expect(left(groups).map(({ name, owner, members }) => ({ name, owner, members }))).toEqual(
      expect.arrayContaining([
        { name: group('c'), owner: c.name, members: 2 },
        { name: group('d'), owner: d.name, members: 1 },
      ]),
    );
    expect(left(groups)).toHaveLength(2);
    expect(left(names)).toEqual(
      expect.arrayContaining([
        { name: 'test.intro.proc.Shared', owner: c.name, queue: [] },
        { name: 'test.intro.proc.Own', owner: d.name, queue: [] },
      ]),
    );
    expect(left(names)).toHaveLength(2);
    expect(connections.map((x) => x.name).sort()).toEqual([observer.name, local.name, c.name, d.name].sort());
    expect(connections.find((x) => x.name === c.name)).toMatchObject({
      groups: [group('d')],
      owned: [group('c')],
      names: ['test.intro.proc.Shared'],
    });
    expect(connections.find((x) => x.name === d.name)).toMatchObject({
      groups: [group('c')],
      owned: [group('d')],
      names: ['test.intro.proc.Own'],
    });
    expect(connections.find((x) => x.name === local.name)?.groups).toEqual([group('c')]);
    expect(stats.connections).toBe(4);
    expect(Object.keys(stats.groups).filter((g) => g.startsWith('test.'))).toEqual(
      expect.arrayContaining([group('c'), group('d')]),
    );
    expect(Object.keys(stats.groups).filter((g) => g.startsWith('test.'))).toHaveLength(2);
    for (const gone of [group('a'), group('b'), 'test.calls.Calc']) {
      const error = await local.getGroupSchema(gone).catch((e: unknown) => e);
      expect(isChorusError(error, 'UNKNOWN_GROUP'), gone).toBe(true);
    }
    // An untyped group has no published schema.
    expect(await local.getGroupSchema(group('c'))).toBeNull();
  });

  it('a typed group created in another process publishes its contract for tools', async () => {
    const peer = children.spawn('peer.mjs', { address: daemon.address, id: 'typed' });
    await peer.waitFor((e) => e.event === 'ready');
    peer.send({ cmd: 'create', group: 'test.calls.Calc', schema: 'calc' });
    await peer.waitFor((e) => e.event === 'created');
    const bus = await open();
    const schema = (await bus.getGroupSchema(Calc.name)) as {
      properties: { signals: { properties: object }; methods: { properties: Record<string, object> } };
    };
    expect(schema).toEqual(Calc.jsonSchema());
    expect(Object.keys(schema.properties.methods.properties).sort()).toEqual([
      'Add',
      'BadReply',
      'Fail',
      'StepThenReply',
      'Wait',
    ]);
    expect((await bus.listGroups()).find((g) => g.name === Calc.name)?.schema).toEqual(schema);
  });
});
