/*
 * Type tests: checked by `tsc -p tsconfig.test.json` (never run). A wrong signal name or payload
 * shape must be a compile error for group.emit, bus.emit and sub.on; `@ts-expect-error` fails the
 * typecheck if the line below it compiles.
 */

import { expectTypeOf } from 'vitest';
import {
  type Bus,
  BusContract,
  type BusGap,
  type BusStats,
  type CallContext,
  type ChorusError,
  type ConnectionInfo,
  connect,
  defineGroup,
  type EmitResult,
  type Group,
  type GroupInfo,
  type MethodInput,
  type MethodName,
  type MethodOutput,
  type Monitor,
  type NameInfo,
  type NameReleaseResult,
  type NameRequestResult,
  type PayloadValidationError,
  type PublishError,
  type Service,
  type SignalMeta,
  type Subscription,
  type SubscriptionEndReason,
  type SubscriptionGap,
  z,
} from './index.js';

const Battery = defineGroup('org.example.Battery', {
  signals: {
    LevelChanged: z.object({ percent: z.number().min(0).max(100) }),
    Renamed: z.object({ name: z.string().transform((s) => s.length) }),
    Unplugged: z.undefined(),
  },
});

export async function typed(): Promise<void> {
  const bus = await connect({ join: [Battery] });
  expectTypeOf(bus).toEqualTypeOf<Bus>();
  expectTypeOf(bus.name).toBeString();

  // createGroup / group.emit
  const group = await bus.createGroup(Battery, { emitters: 'owner', loopback: false, onFull: 'block' });
  expectTypeOf(group).toEqualTypeOf<Group<typeof Battery>>();
  expectTypeOf(group.emit('LevelChanged', { percent: 42 })).toEqualTypeOf<Promise<EmitResult>>();
  await group.emit('Unplugged'); // no payload needed when the schema accepts undefined
  await group.emit('Renamed', { name: 'input side: a string' });
  // @ts-expect-error unknown signal
  await group.emit('LevelChange', { percent: 42 });
  // @ts-expect-error wrong payload shape
  await group.emit('LevelChanged', { pct: 42 });
  // @ts-expect-error wrong payload type
  await group.emit('LevelChanged', { percent: '42' });
  // @ts-expect-error missing payload
  await group.emit('LevelChanged');
  // @ts-expect-error the input of Renamed is a string (the number is the output)
  await group.emit('Renamed', { name: 3 });
  // @ts-expect-error unknown group option
  await bus.createGroup(Battery, { emitters: 'everyone' });

  // group.publish / bus.publish / flush / publishError
  expectTypeOf(group.publish('LevelChanged', { percent: 42 })).toEqualTypeOf<Promise<void> | undefined>();
  group.publish('Unplugged');
  // @ts-expect-error wrong payload shape
  group.publish('LevelChanged', { pct: 42 });
  // @ts-expect-error unknown signal
  group.publish('LevelChange', { percent: 42 });
  expectTypeOf(bus.publish(Battery, 'LevelChanged', { percent: 1 })).toEqualTypeOf<
    Promise<void> | undefined
  >();
  bus.publish('org.example.Any', 'Whatever', { anything: true });
  expectTypeOf(bus.flush()).toEqualTypeOf<Promise<void>>();
  bus.on('publishError', (error) => {
    expectTypeOf(error).toEqualTypeOf<PublishError>();
    expectTypeOf(error.signal).toEqualTypeOf<string>();
    expectTypeOf(error.group).toEqualTypeOf<string>();
  });

  // bus.emit
  await bus.emit(Battery, 'LevelChanged', { percent: 41 });
  // @ts-expect-error unknown signal
  await bus.emit(Battery, 'Nope', { percent: 41 });
  // @ts-expect-error wrong payload shape
  await bus.emit(Battery, 'LevelChanged', { percent: 41, extra: true });
  // @ts-expect-error wrong payload type
  await bus.emit(Battery, 'LevelChanged', 41);

  // join / sub.on
  const sub = await bus.join(Battery, { filter: { signal: 'LevelChanged', fields: { percent: 3 } } });
  expectTypeOf(sub).toEqualTypeOf<Subscription<typeof Battery>>();
  expectTypeOf(sub.startSeq).toBeNumber();
  sub.on('LevelChanged', (payload, meta) => {
    expectTypeOf(payload).toEqualTypeOf<{ percent: number }>();
    expectTypeOf(meta).toEqualTypeOf<SignalMeta>();
  });
  sub.on('Renamed', (payload) => expectTypeOf(payload.name).toBeNumber()); // the output side
  sub.on('invalid', (error, meta) => {
    expectTypeOf(error).toEqualTypeOf<PayloadValidationError>();
    expectTypeOf(meta.seq).toBeNumber();
  });
  sub.on('closed', (reason, error) => {
    expectTypeOf(reason).toEqualTypeOf<SubscriptionEndReason>();
    expectTypeOf(error).toEqualTypeOf<ChorusError | undefined>();
  });
  // @ts-expect-error unknown signal
  sub.on('LevelChange', () => {});
  // @ts-expect-error wrong payload type in the handler
  sub.on('LevelChanged', (payload: { percent: string }) => payload);
  // @ts-expect-error a filter on a signal the contract does not have
  await bus.join(Battery, { filter: { signal: 'Nope' } });

  // async iteration narrows by signal
  for await (const message of sub) {
    if (message.signal === 'LevelChanged') expectTypeOf(message.payload).toEqualTypeOf<{ percent: number }>();
    if (message.signal === 'Unplugged') expectTypeOf(message.payload).toEqualTypeOf<undefined>();
    // @ts-expect-error not a signal of the contract
    if (message.signal === 'Nope') break;
  }
  const unsubscribe = sub.on('Unplugged', () => {});
  expectTypeOf(unsubscribe).toEqualTypeOf<() => void>();
  await sub.leave();
}

export async function untyped(): Promise<void> {
  const bus = await connect({ address: 'unix:path=/tmp/x.sock' });
  const sub = await bus.join('org.example.Battery');
  expectTypeOf(sub).toEqualTypeOf<Subscription>();
  sub.on('AnySignal', (payload) => expectTypeOf(payload).toBeUnknown());
  sub.on('invalid', (error) => expectTypeOf(error).toEqualTypeOf<PayloadValidationError>());
  for await (const message of sub) {
    expectTypeOf(message.signal).toBeString();
    expectTypeOf(message.payload).toBeUnknown();
  }
  const group = await bus.createGroup('org.example.Tool', { retain: true });
  await group.emit('Whatever', { any: ['thing'] });
  await group.emit('NoPayload');
  await bus.emit('org.example.Tool', 'Sig', 1);
}

export async function reconnection(): Promise<void> {
  const bus = await connect({ reconnect: { initialDelayMs: 50, maxDelayMs: 1000, maxAttempts: Infinity } });
  await connect({ reconnect: false });
  // @ts-expect-error delays are numbers
  await connect({ reconnect: { initialDelayMs: '50' } });
  bus.on('disconnected', (error) => expectTypeOf(error).toEqualTypeOf<ChorusError>());
  bus.on('reconnecting', (attempt, delayMs, error) => {
    expectTypeOf(attempt).toBeNumber();
    expectTypeOf(delayMs).toBeNumber();
    expectTypeOf(error).toEqualTypeOf<ChorusError>();
  });
  bus.on('reconnected', (name) => expectTypeOf(name).toBeString());
  bus.on('reconnectFailed', (error) => expectTypeOf(error).toEqualTypeOf<ChorusError>());
  bus.on('gap', (gap) => {
    expectTypeOf(gap).toEqualTypeOf<BusGap>();
    expectTypeOf(gap.groups).toEqualTypeOf<readonly SubscriptionGap[]>();
  });
  bus.on('nameRequest', (name, result, error) => {
    expectTypeOf(name).toBeString();
    expectTypeOf(result).toEqualTypeOf<NameRequestResult | undefined>();
    expectTypeOf(error).toEqualTypeOf<ChorusError | undefined>();
  });
  const sub = await bus.join(Battery);
  sub.on('gap', (gap) => {
    expectTypeOf(gap.lastSeq).toEqualTypeOf<number | undefined>();
    expectTypeOf(gap.startGroupSeq).toBeNumber();
  });
  const group = await bus.createGroup(Battery);
  group.on('error', (error) => expectTypeOf(error).toEqualTypeOf<ChorusError>());
  bus.monitor?.on('gap', (gap) => expectTypeOf(gap).toEqualTypeOf<SubscriptionGap>());
}

export function contracts(): void {
  // @ts-expect-error 'closed' is a subscription event, not a signal name
  defineGroup('x', { signals: { closed: z.object({}) } });
  // @ts-expect-error so is 'gap'
  defineGroup('x', { signals: { gap: z.object({}) } });
  // @ts-expect-error a signal needs a schema
  defineGroup('x', { signals: { A: 'string' } });
  expectTypeOf(Battery.name).toEqualTypeOf<'org.example.Battery'>();
}

const Meter = defineGroup('org.example.Meter', {
  signals: { LevelChanged: z.object({ percent: z.number() }) },
  methods: {
    GetLevel: { input: z.object({}), output: z.object({ percent: z.number() }) },
    Rename: {
      input: z.object({ name: z.string().transform((s) => s.length) }),
      output: z.object({ ok: z.boolean(), at: z.string().transform((s) => new Date(s)) }),
    },
  },
});

export async function calls(): Promise<void> {
  const bus = await connect();
  expectTypeOf<MethodName<typeof Meter>>().toEqualTypeOf<'GetLevel' | 'Rename'>();
  expectTypeOf<MethodInput<typeof Meter, 'Rename'>>().toEqualTypeOf<{ name: string }>();
  expectTypeOf<MethodOutput<typeof Meter, 'Rename'>>().toEqualTypeOf<{ ok: boolean; at: Date }>();

  // call: the method name, the input (input side) and the output (output side) are inferred
  expectTypeOf(bus.call(Meter, 'GetLevel', {})).toEqualTypeOf<Promise<{ percent: number }>>();
  const renamed = await bus.call(
    Meter,
    'Rename',
    { name: 'x' },
    { timeoutMs: 10, signal: AbortSignal.abort(), destination: ':1.4', waitForService: { timeoutMs: 5 } },
  );
  expectTypeOf(renamed).toEqualTypeOf<{ ok: boolean; at: Date }>();
  await bus.call(Meter, 'GetLevel', {}, { waitForService: true });
  // @ts-expect-error unknown method
  await bus.call(Meter, 'GetLevl', {});
  // @ts-expect-error a signal is not a method
  await bus.call(Meter, 'LevelChanged', { percent: 1 });
  // @ts-expect-error wrong input shape
  await bus.call(Meter, 'Rename', { nom: 'x' });
  // @ts-expect-error the input of Rename is a string (the number is what the handler sees)
  await bus.call(Meter, 'Rename', { name: 3 });
  // @ts-expect-error the input is required
  await bus.call(Meter, 'GetLevel');
  // @ts-expect-error the output is an object, not a string
  const wrong: string = await bus.call(Meter, 'GetLevel', {});
  void wrong;
  // @ts-expect-error unknown option
  await bus.call(Meter, 'GetLevel', {}, { timeout: 10 });
  // untyped, by name
  expectTypeOf(bus.call('org.example.Meter', 'Anything', 1)).toEqualTypeOf<Promise<unknown>>();
  expectTypeOf(bus.call('org.example.Meter', 'NoInput')).toEqualTypeOf<Promise<unknown>>();

  // serve: handlers get the input side's output and return the output side's input
  const service = bus.serve(Meter, {
    GetLevel: async (_input, ctx) => {
      expectTypeOf(ctx).toEqualTypeOf<CallContext>();
      expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
      expectTypeOf(ctx.sender).toBeString();
      return { percent: 1 };
    },
    Rename: (input) => {
      expectTypeOf(input).toEqualTypeOf<{ name: number }>();
      return { ok: true, at: '2024-01-01' };
    },
  });
  expectTypeOf(service).toEqualTypeOf<Service>();
  expectTypeOf(service.close()).toEqualTypeOf<Promise<void>>();
  bus.serve(Meter, {
    GetLevel: () => ({ percent: 1 }),
    // @ts-expect-error wrong output type
    Rename: () => ({ ok: 'yes', at: '' }),
  });
  bus.serve(Meter, {
    GetLevel: () => ({ percent: 1 }),
    // @ts-expect-error the output's input side is a string (the Date is what callers get)
    Rename: () => ({ ok: true, at: new Date() }),
  });
  // @ts-expect-error a handler is missing
  bus.serve(Meter, { GetLevel: () => ({ percent: 1 }) });
  bus.serve(Meter, {
    GetLevel: () => ({ percent: 1 }),
    Rename: () => ({ ok: true, at: '' }),
    // @ts-expect-error not a method of the contract
    Explode: () => null,
  });
  bus.serve('org.example.Tool', { Echo: (input, ctx) => [input, ctx.method] });

  // names and the bus interface
  expectTypeOf(bus.requestName('a.b', { doNotQueue: true })).toEqualTypeOf<Promise<NameRequestResult>>();
  // @ts-expect-error unknown flag
  await bus.requestName('a.b', { queue: false });
  expectTypeOf(await bus.releaseName('a.b')).toEqualTypeOf<NameReleaseResult>();
  expectTypeOf(await bus.getNameOwner('a.b')).toEqualTypeOf<string | null>();
  expectTypeOf(await bus.waitForName('a.b', { timeoutMs: 1, signal: AbortSignal.abort() })).toBeString();
  expectTypeOf(await bus.listNames()).toEqualTypeOf<NameInfo[]>();
  expectTypeOf(await bus.listGroups()).toEqualTypeOf<GroupInfo[]>();
  expectTypeOf(await bus.listConnections()).toEqualTypeOf<ConnectionInfo[]>();
  expectTypeOf(await bus.getGroupSchema('a.b')).toBeUnknown();
  expectTypeOf(await bus.getStats()).toEqualTypeOf<BusStats>();
  expectTypeOf((await bus.call(BusContract, 'GetNameOwner', { name: 'a.b' })).owner).toEqualTypeOf<
    string | null
  >();
  const changes = await bus.join(BusContract, {
    filter: { signal: 'NameOwnerChanged', fields: { name: 'a.b' } },
  });
  changes.on('NameOwnerChanged', ({ oldOwner }) => expectTypeOf(oldOwner).toEqualTypeOf<string | null>());
  bus.on('nameAcquired', (name, meta) => {
    expectTypeOf(name).toBeString();
    expectTypeOf(meta).toEqualTypeOf<SignalMeta>();
  });
  // @ts-expect-error not a bus event
  bus.on('nameChanged', () => {});

  // monitor
  expectTypeOf(bus.monitor).toEqualTypeOf<Monitor | undefined>();
  const monitor = await bus.becomeMonitor(['a.b']);
  for await (const message of monitor) {
    expectTypeOf(message.payload).toBeUnknown();
    expectTypeOf(message.group).toBeString();
    expectTypeOf(message.meta).toEqualTypeOf<SignalMeta>();
  }
  await connect({ monitor: true });
  await connect({ monitor: { groups: ['a.b'] } });
  // @ts-expect-error groups are names
  await connect({ monitor: { groups: [1] } });
}

export function methodContracts(): void {
  const OnlyMethods = defineGroup('org.example.OnlyMethods', {
    methods: { Ping: { input: z.undefined(), output: z.literal('pong') } },
  });
  expectTypeOf<MethodName<typeof OnlyMethods>>().toEqualTypeOf<'Ping'>();
  expectTypeOf(OnlyMethods.signals).toEqualTypeOf<{}>();
  const OnlySignals = defineGroup('org.example.OnlySignals', { signals: { A: z.null() } });
  expectTypeOf<MethodName<typeof OnlySignals>>().toBeNever();
  // @ts-expect-error a method needs an output schema
  defineGroup('x', { methods: { M: { input: z.null() } } });
  // @ts-expect-error schemas, not type names
  defineGroup('x', { methods: { M: { input: 'string', output: z.null() } } });
}
