/*
 * Type tests: checked by `tsc -p tsconfig.test.json` (never run). A wrong signal name or payload
 * shape must be a compile error for group.emit, bus.emit and sub.on; `@ts-expect-error` fails the
 * typecheck if the line below it compiles.
 */

import { expectTypeOf } from 'vitest';
import {
  type Bus,
  type ChorusError,
  connect,
  defineGroup,
  type EmitResult,
  type Group,
  type PayloadValidationError,
  type SignalMeta,
  type Subscription,
  type SubscriptionEndReason,
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

export function contracts(): void {
  // @ts-expect-error 'closed' is a subscription event, not a signal name
  defineGroup('x', { signals: { closed: z.object({}) } });
  // @ts-expect-error a signal needs a schema
  defineGroup('x', { signals: { A: 'string' } });
  expectTypeOf(Battery.name).toEqualTypeOf<'org.example.Battery'>();
}
