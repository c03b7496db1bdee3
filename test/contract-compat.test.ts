import { join } from 'node:path';
import {
  type Bus,
  connect,
  defineGroup,
  type IncompatibleContractError,
  isChorusError,
  type SignalMeta,
  z,
} from '@chorus/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chorus } from './harness/cli.js';
import { type RunningDaemon, repoRoot, withDaemon } from './harness/daemon.js';

// [GUARANTEE: compatibility] Against the real daemon: a typed join (at connect or later) and a
// typed call are refused with INCOMPATIBLE_CONTRACT, naming each path, when the group's published
// contract may send what this app's contract refuses; compatible evolutions pass; untyped use and
// groups without a schema are not checked. `chorus check` applies the same rules to a module.

const required = 'required by the subscriber, but the publisher may leave it out';

// Version 1, as the service publishes it (test/fixtures/contracts/battery-v1.mjs is the same).
const BatteryV1 = defineGroup('test.compat.Battery', {
  signals: {
    LevelChanged: z.object({
      percent: z.number().min(0).max(100),
      source: z.enum(['ac', 'battery']).optional(),
    }),
    Unplugged: z.undefined(),
  },
  methods: { GetLevel: { input: z.object({}), output: z.object({ percent: z.number() }) } },
});

let daemon: RunningDaemon & { cleanup(): Promise<void> };
const buses: Bus[] = [];
let service: Bus;

async function open(options: Parameters<typeof connect>[0] = {}): Promise<Bus> {
  const bus = await connect({ address: daemon.address, ...options });
  buses.push(bus);
  return bus;
}

async function rejection(promise: Promise<unknown>): Promise<IncompatibleContractError> {
  try {
    await promise;
  } catch (error) {
    return error as IncompatibleContractError;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  daemon = await withDaemon();
  service = await open();
  service.serve(BatteryV1, { GetLevel: () => ({ percent: 42.5 }) });
  await service.requestName(BatteryV1.name);
  await service.createGroup(BatteryV1);
});

afterAll(async () => {
  await Promise.all(buses.map((bus) => bus.close()));
  await daemon?.cleanup();
});

describe('join', () => {
  it('refuses a subscriber that requires a field the publisher may leave out, naming it', async () => {
    const V2 = defineGroup('test.compat.Battery', {
      signals: { LevelChanged: z.object({ percent: z.number(), volts: z.number() }) },
    });
    const app = await open();
    const error = await rejection(app.join(V2));
    expect(isChorusError(error, 'INCOMPATIBLE_CONTRACT')).toBe(true);
    expect(error.issues).toEqual([{ path: 'signals.LevelChanged.volts', reason: required }]);
    // Nothing was joined.
    const me = (await app.listConnections()).find((connection) => connection.name === app.name);
    expect(me?.groups).toEqual([]);
  });

  it('refuses a narrower enum and a signal the publisher does not declare', async () => {
    const Narrow = defineGroup('test.compat.Battery', {
      signals: {
        LevelChanged: z.object({ percent: z.number(), source: z.enum(['ac']).optional() }),
        Exploded: z.object({}),
      },
    });
    const error = await rejection((await open()).join(Narrow));
    expect(error.issues).toEqual([
      {
        path: 'signals.LevelChanged.source',
        reason: 'the publisher may send "battery", which the subscriber refuses',
      },
      {
        path: 'signals.Exploded',
        reason: 'the subscriber handles this signal; the publisher does not declare it',
      },
    ]);
  });

  it('refuses an autojoin at connect', async () => {
    const V2 = defineGroup('test.compat.Battery', {
      signals: { LevelChanged: z.object({ percent: z.number().int() }) },
    });
    const error = await rejection(connect({ address: daemon.address, join: [V2] }));
    expect(error.code).toBe('INCOMPATIBLE_CONTRACT');
    expect(error.issues).toEqual([
      {
        path: 'signals.LevelChanged.percent',
        reason: 'the publisher may send non-integer numbers; the subscriber accepts integers only',
      },
    ]);
  });

  it('lets compatible evolutions join and receive: a wider type, an optional new field, a signal ignored', async () => {
    const Later = defineGroup('test.compat.Battery', {
      signals: {
        LevelChanged: z.object({
          percent: z.number().nullable(),
          source: z.string().optional(),
          volts: z.number().optional(),
        }),
      },
    });
    const app = await open({ join: [Later] });
    const sub = await app.join(Later);
    const seen: unknown[] = [];
    sub.on('LevelChanged', (payload: unknown, _meta: SignalMeta) => seen.push(payload));
    const untyped = await (await open()).join(BatteryV1.name); // untyped: never checked
    const raw: unknown[] = [];
    untyped.on('LevelChanged', (payload) => raw.push(payload));
    await service.emit(BatteryV1, 'LevelChanged', { percent: 12, source: 'ac' });
    await until(() => seen.length === 1 && raw.length === 1);
    expect(seen).toEqual([{ percent: 12, source: 'ac' }]);
  });

  it('does not check a group published without a schema', async () => {
    const owner = await open();
    await owner.createGroup('test.compat.Plain');
    const Typed = defineGroup('test.compat.Plain', { signals: { A: z.number() } });
    const sub = await (await open()).join(Typed);
    expect(sub.group).toBe('test.compat.Plain');
  });
});

describe('call', () => {
  it('refuses a caller whose output is narrower than the service publishes, and whose input is wider', async () => {
    const Strict = defineGroup('test.compat.Battery', {
      methods: { GetLevel: { input: z.object({}), output: z.object({ percent: z.number().int() }) } },
    });
    const app = await open();
    const error = await rejection(app.call(Strict, 'GetLevel', {}));
    expect(error).toMatchObject({ code: 'INCOMPATIBLE_CONTRACT', method: 'GetLevel' });
    expect(error.issues).toEqual([
      {
        path: 'methods.GetLevel.output.percent',
        reason: 'the publisher may send non-integer numbers; the subscriber accepts integers only',
      },
    ]);
    const Wide = defineGroup('test.compat.Battery', {
      methods: { GetLevel: { input: z.object({}).nullable(), output: z.object({ percent: z.number() }) } },
    });
    expect((await rejection(app.call(Wide, 'GetLevel', {}))).issues).toEqual([
      { path: 'methods.GetLevel.input', reason: 'the publisher may send null, which the subscriber refuses' },
    ]);
    // Untyped, the same call goes through.
    expect(await app.call(BatteryV1.name, 'GetLevel', {})).toEqual({ percent: 42.5 });
  });

  it('lets a compatible caller call (and a second call reuses the fetched schema)', async () => {
    const Caller = defineGroup('test.compat.Battery', {
      methods: { GetLevel: { input: z.object({}), output: z.object({ percent: z.number().optional() }) } },
    });
    const app = await open();
    expect(await app.call(Caller, 'GetLevel', {})).toEqual({ percent: 42.5 });
    expect(await app.call(Caller, 'GetLevel', {})).toEqual({ percent: 42.5 });
  });
});

describe('chorus check', () => {
  const fixture = (name: string) => join(repoRoot, 'test/fixtures/contracts', name);

  it('exits 0 when the module matches what the bus publishes', async () => {
    const result = await chorus(daemon, 'check', fixture('battery-v1.mjs'));
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toBe('test.compat.Battery  compatible\n');
  });

  it('exits 1 and prints each incompatibility, and a group not on the bus', async () => {
    const result = await chorus(daemon, 'check', fixture('battery-v2.mjs'));
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n')).toEqual([
      'test.compat.Battery  incompatible',
      `  signals.LevelChanged.volts: ${required}`,
      '  methods.GetLevel.output.percent: the publisher may send non-integer numbers; the subscriber accepts integers only',
      'test.compat.Missing  not on the bus (no such group: is its service running?)',
      '',
    ]);
    const only = await chorus(
      daemon,
      'check',
      fixture('battery-v2.mjs'),
      '--group',
      'test.compat.Missing',
      '--json',
    );
    expect(only.code).toBe(1);
    expect(JSON.parse(only.stdout)).toEqual({
      module: fixture('battery-v2.mjs'),
      groups: [{ group: 'test.compat.Missing', result: 'missing', issues: [] }],
    });
  });

  it('exits 2 for a module without contracts', async () => {
    const result = await chorus(daemon, 'check', fixture('none.mjs'));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^chorus: BAD_MODULE: /);
  });
});

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
