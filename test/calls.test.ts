import { join } from 'node:path';
import {
  AbortError,
  type Bus,
  type CallContext,
  type ConnectOptions,
  connect,
  defineGroup,
  InvalidArgsError,
  InvalidReplyError,
  NoReplyError,
  RemoteError,
  ServiceUnknownError,
  TimeoutError,
  UnknownMethodError,
  z,
} from '@chorus/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ask, type FixtureProcess, Fixtures, spawnReady } from './harness/child.js';
import { Calc } from './harness/contracts.js';
import { type RunningDaemon, repoRoot, withDaemon } from './harness/daemon.js';

// Typed method calls through the SDK, every error path of issue 5 §2, with the service in another
// process (test/fixtures/peer.mjs serves this same contract) so that it can be killed mid-call.
// The daemon's routing of the same messages is tested by hand in bus-interface.test.ts.

const children = new Fixtures();
const buses: Bus[] = [];
let daemon: RunningDaemon & { cleanup(): Promise<void> };
let service: FixtureProcess;
let serviceName: string;
let caller: Bus;

beforeAll(async () => {
  daemon = await withDaemon();
  ({ peer: service, name: serviceName } = await spawnPeer({ id: 'calc' }));
  await ask(service, { cmd: 'create', group: Calc.name, schema: 'calc' }, 'created');
  await ask(service, { cmd: 'serve' }, 'serving');
  expect(await ask(service, { cmd: 'request', name: Calc.name }, 'requested')).toMatchObject({
    result: 'primary-owner',
  });
  caller = await open();
});
afterAll(async () => {
  await children.killAll();
  await Promise.all(buses.map((bus) => bus.close()));
  await daemon?.cleanup();
});

async function open(options: ConnectOptions = {}): Promise<Bus> {
  const bus = await connect({ address: daemon.address, ...options });
  buses.push(bus);
  return bus;
}

const spawnPeer = (options: object) =>
  spawnReady(children, 'peer.mjs', { address: daemon.address, ...options });

/** How many times the service's handler for `method` ran, as far as it has reported (see syncAdd). */
function invocations(method: string): number {
  return service.events.filter((e) => e.event === 'invoked' && e['method'] === method).length;
}

/** A valid Add with a unique marker; resolves once the service reported running it. */
let marker = 1000;
async function syncAdd(): Promise<void> {
  const a = marker++;
  expect(await caller.call(Calc, 'Add', { a, b: 0 })).toEqual({ sum: a });
  await service.waitFor((e) => e.event === 'invoked' && (e['input'] as { a?: number }).a === a);
}

const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => expect.fail(`expected a rejection, got ${JSON.stringify(value)}`),
    (error: unknown) => error,
  );

describe('calls that succeed', () => {
  it('reach the primary owner (or a unique name) and bring the typed output back', async () => {
    expect(await caller.call(Calc, 'Add', { a: 2, b: 3 })).toEqual({ sum: 5 });
    expect(await caller.call(Calc, 'Add', { a: 4, b: 4 }, { destination: serviceName })).toEqual({ sum: 8 });
    expect(await caller.call(Calc.name, 'Add', { a: 1, b: 1 })).toEqual({ sum: 2 });
    const invoked = await service.waitFor((e) => e.event === 'invoked' && e['method'] === 'Add');
    expect(invoked).toMatchObject({ input: { a: 2, b: 3 }, sender: caller.name });
  });
});

describe('every error path', () => {
  it('SERVICE_UNKNOWN when nobody owns the destination', async () => {
    const error = await failure(
      caller.call(Calc, 'Add', { a: 1, b: 2 }, { destination: 'test.calls.Nobody' }),
    );
    expect(error).toBeInstanceOf(ServiceUnknownError);
    expect(error).toMatchObject({ code: 'SERVICE_UNKNOWN', destination: 'test.calls.Nobody', method: 'Add' });
    await expect(
      caller.call(Calc, 'Add', { a: 1, b: 2 }, { destination: ':1.999999' }),
    ).rejects.toMatchObject({
      code: 'SERVICE_UNKNOWN',
    });
    // waitForService with a bound: still nobody, so still SERVICE_UNKNOWN.
    await expect(
      caller.call(
        Calc,
        'Add',
        { a: 1, b: 2 },
        { destination: 'test.calls.Nobody', waitForService: { timeoutMs: 50 } },
      ),
    ).rejects.toMatchObject({ code: 'SERVICE_UNKNOWN' });
  });

  it('waitForService: the call waits for an owner to appear, then goes through', async () => {
    const NAME = 'test.calls.Late';
    const pending = caller.call(
      Calc,
      'Add',
      { a: 20, b: 22 },
      { destination: NAME, waitForService: true, timeoutMs: 20_000 },
    );
    const { peer: late, name: lateName } = await spawnPeer({ id: 'late' });
    await ask(late, { cmd: 'serve' }, 'serving');
    await ask(late, { cmd: 'request', name: NAME }, 'requested');
    expect(await pending).toEqual({ sum: 42 });
    expect(await late.waitFor((e) => e.event === 'invoked')).toMatchObject({ sender: caller.name });
    expect(await caller.getNameOwner(NAME)).toBe(lateName);
    await late.kill();
  });

  it('UNKNOWN_METHOD from the contract (nothing sent) and from the service', async () => {
    const local = await failure(caller.call(Calc, 'Divide' as never, {} as never));
    expect(local).toBeInstanceOf(UnknownMethodError);
    expect(local).toMatchObject({ code: 'UNKNOWN_METHOD', method: 'Divide' });
    // Untyped, and through a newer contract of the same name: the service says it has no such method.
    await expect(caller.call(Calc.name, 'Divide', { a: 1, b: 2 })).rejects.toMatchObject({
      code: 'UNKNOWN_METHOD',
    });
    const CalcV2 = defineGroup(Calc.name, {
      methods: {
        Multiply: {
          input: z.object({ a: z.number(), b: z.number() }),
          output: z.object({ product: z.number() }),
        },
      },
    });
    // Typed, the newer contract is compared with the one the service's group publishes first
    // (contract-compat.test.ts): nothing is sent.
    const remote = await failure(caller.call(CalcV2, 'Multiply', { a: 2, b: 3 }));
    expect(remote).toMatchObject({
      code: 'INCOMPATIBLE_CONTRACT',
      method: 'Multiply',
      issues: [
        { path: 'methods.Multiply', reason: 'the caller calls this method; the service does not declare it' },
      ],
    });
  });

  it('INVALID_ARGS on either side, and the handler never runs with invalid input', async () => {
    await syncAdd();
    const before = invocations('Add');
    // The caller's contract refuses it: nothing is sent.
    const local = await failure(caller.call(Calc, 'Add', { a: 1, b: 'two' } as never));
    expect(local).toBeInstanceOf(InvalidArgsError);
    expect((local as InvalidArgsError).issues).toEqual([expect.objectContaining({ path: ['b'] })]);
    // Untyped: the service's contract refuses it before its handler runs.
    const remote = await failure(caller.call(Calc.name, 'Add', { a: 1, b: 'two' }));
    expect(remote).toBeInstanceOf(InvalidArgsError);
    expect(remote).toMatchObject({ code: 'INVALID_ARGS', method: 'Add' });
    // A looser contract is refused before it sends anything (its input may fail the service's).
    const Loose = defineGroup(Calc.name, {
      methods: { Add: { input: z.object({ a: z.unknown(), b: z.unknown() }), output: z.unknown() } },
    });
    await expect(caller.call(Loose, 'Add', { a: [], b: null })).rejects.toMatchObject({
      code: 'INCOMPATIBLE_CONTRACT',
    });
    await expect(caller.call(Calc.name, 'Add', 'not an object')).rejects.toMatchObject({
      code: 'INVALID_ARGS',
    });
    await syncAdd();
    expect(invocations('Add')).toBe(before + 1);
  });

  it('INVALID_REPLY on either side', async () => {
    // The service's own contract refuses what its handler returned.
    const remote = await failure(caller.call(Calc, 'BadReply', {}));
    expect(remote).toBeInstanceOf(InvalidReplyError);
    expect(remote).toMatchObject({ code: 'INVALID_REPLY', method: 'BadReply' });
    // The caller's contract is stricter than the service's where no schema shows it (a
    // refinement: the contract check cannot see it): the answer is refused on arrival.
    const Strict = defineGroup(Calc.name, {
      methods: {
        Add: {
          input: z.object({ a: z.number(), b: z.number() }),
          output: z.object({ sum: z.number().refine((sum) => sum <= 3) }),
        },
      },
    });
    const local = await failure(caller.call(Strict, 'Add', { a: 2, b: 3 }));
    expect(local).toBeInstanceOf(InvalidReplyError);
    expect((local as InvalidReplyError).issues).toEqual([expect.objectContaining({ path: ['sum'] })]);
    await service.waitFor(
      (e) => e.event === 'invoked' && (e['input'] as { a?: number }).a === 2 && e['method'] === 'Add',
    );
  });

  it("TIMEOUT at the caller's deadline, and the service's signal is aborted", async () => {
    const seen = service.events.length;
    const error = await failure(caller.call(Calc, 'Wait', {}, { timeoutMs: 200 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    const aborted = await service.waitFor((e) => e.event === 'aborted' && service.events.indexOf(e) >= seen);
    // The daemon's timer ('timeout') or the SDK's own, which cancels ('cancelled'): whichever fires first.
    expect(aborted).toMatchObject({ method: 'Wait', reason: expect.stringMatching(/^(timeout|cancelled)$/) });
  });

  it('ABORTED through an AbortSignal, and the service is told', async () => {
    const seen = service.events.length;
    const controller = new AbortController();
    const pending = failure(caller.call(Calc, 'Wait', {}, { signal: controller.signal }));
    await service.waitFor(
      (e) => e.event === 'invoked' && e['method'] === 'Wait' && service.events.indexOf(e) >= seen,
    );
    controller.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(AbortError);
    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(
      await service.waitFor((e) => e.event === 'aborted' && service.events.indexOf(e) >= seen),
    ).toMatchObject({
      method: 'Wait',
      reason: 'cancelled',
    });
    // Already aborted: nothing is sent at all.
    const before = invocations('Wait');
    await expect(caller.call(Calc, 'Wait', {}, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    await syncAdd();
    expect(invocations('Wait')).toBe(before);
  });

  it('REMOTE_ERROR: the error name and message cross, the stack does not', async () => {
    for (const [name, message] of [
      ['RangeError', 'too low'],
      ['BatteryUnpluggedError', 'nothing to measure'],
    ] as const) {
      const error = await failure(caller.call(Calc, 'Fail', { name, message }));
      expect(error).toBeInstanceOf(RemoteError);
      expect(error).toMatchObject({ code: 'REMOTE_ERROR', remoteName: name, message, method: 'Fail' });
      // The service's stack names peer-secret.mjs; none of it may reach the caller.
      const everything = `${(error as Error).stack} ${JSON.stringify(error)} ${String((error as Error).cause)}`;
      expect(everything).not.toMatch(/secretFunction|peer-secret/);
    }
  });

  it('NO_REPLY when the service process is killed mid-call', async () => {
    const NAME = 'test.calls.Doomed';
    const { peer: doomed } = await spawnPeer({ id: 'doomed' });
    await ask(doomed, { cmd: 'serve' }, 'serving');
    await ask(doomed, { cmd: 'request', name: NAME }, 'requested');
    const pending = failure(caller.call(Calc, 'Wait', {}, { destination: NAME, timeoutMs: 20_000 }));
    await doomed.waitFor((e) => e.event === 'invoked');
    await doomed.kill('SIGKILL');
    const error = await pending;
    expect(error).toBeInstanceOf(NoReplyError);
    expect(error).toMatchObject({ code: 'NO_REPLY', destination: NAME, method: 'Wait' });
  });

  it('NO_REPLY when the service closes its connection mid-call; its handler is aborted', async () => {
    const NAME = 'test.calls.Closing';
    const host = await open();
    const aborted: unknown[] = [];
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    host.serve(Calc.name, {
      Wait: (_input: unknown, ctx: CallContext) => {
        ctx.signal.addEventListener('abort', () => aborted.push(ctx.signal.reason));
        started();
        return new Promise(() => {});
      },
    });
    await host.requestName(NAME);
    const pending = failure(caller.call(Calc, 'Wait', {}, { destination: NAME, timeoutMs: 20_000 }));
    await running;
    await host.close();
    expect(await pending).toMatchObject({ code: 'NO_REPLY' });
    expect(aborted).toEqual([expect.objectContaining({ code: 'ABORTED', reason: 'closed' })]);
  });

  it("a caller that dies mid-call aborts the service's handler ('caller-left')", async () => {
    const NAME = 'test.calls.Abandoned';
    const host = await open();
    const reasons: unknown[] = [];
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let aborted!: () => void;
    const abortedOnce = new Promise<void>((resolve) => {
      aborted = resolve;
    });
    host.serve(Calc.name, {
      Wait: (_input: unknown, ctx: CallContext) => {
        ctx.signal.addEventListener('abort', () => {
          reasons.push((ctx.signal.reason as { reason?: unknown }).reason);
          aborted();
        });
        started();
        return new Promise(() => {});
      },
    });
    await host.requestName(NAME);
    const { peer: doomedCaller } = await spawnPeer({ id: 'caller' });
    doomedCaller.send({ cmd: 'call', method: 'Wait', input: {}, destination: NAME, timeoutMs: 0 });
    await running;
    await doomedCaller.kill('SIGKILL');
    await abortedOnce;
    expect(reasons).toEqual(['caller-left']);
  });
});

describe('calls interleaved with signals', () => {
  type Seen = [kind: 'S' | 'R', i: number];

  /** Joins the service's group; returns the log of Step signals and answers as the caller saw them. */
  async function observer(): Promise<{ bus: Bus; log: Seen[]; answered: (i: number) => void }> {
    const bus = await open();
    const log: Seen[] = [];
    const steps = new Set<number>();
    (await bus.join(Calc)).on('Step', ({ i }) => {
      steps.add(i);
      log.push(['S', i]);
    });
    return {
      bus,
      log,
      answered: (i) => {
        // Checked on arrival too: a reply must never come before the step the service emitted first.
        if (!steps.has(i)) expect.fail(`the answer to call ${i} arrived before its Step signal`);
        log.push(['R', i]);
      },
    };
  }

  function expectStepsFirst(log: readonly Seen[], from: number, count: number): void {
    const at = new Map(log.map(([kind, i], k) => [`${kind}${i}`, k]));
    for (let i = from; i < from + count; i++) {
      const s = at.get(`S${i}`);
      const r = at.get(`R${i}`);
      if (s === undefined || r === undefined || s > r) {
        expect.fail(`call ${i}: Step at ${s}, answer at ${r}`);
      }
    }
  }

  it('one call at a time: the caller sees each Step before the answer that follows it', async () => {
    const { bus, log, answered } = await observer();
    const COUNT = 300;
    for (let i = 0; i < COUNT; i++) {
      const { i: back } = await bus.call(Calc, 'StepThenReply', { i });
      expect(back).toBe(i);
      answered(i);
    }
    expectStepsFirst(log, 0, COUNT);
  });

  it('many calls in flight at once: still every Step before its answer', async () => {
    const { bus, log, answered } = await observer();
    const COUNT = 1000;
    for (let round = 0; round < 3; round++) {
      const from = round * COUNT;
      await Promise.all(
        Array.from({ length: COUNT }, (_, k) =>
          bus.call(Calc, 'StepThenReply', { i: from + k }).then(() => answered(from + k)),
        ),
      );
      expectStepsFirst(log, from, COUNT);
    }
  });
});

describe('the README example', () => {
  it('the panel asks the battery service for its level once at start (GetLevel)', async () => {
    const env = { CHORUS_BUS_ADDRESS: daemon.address };
    const lines = (child: FixtureProcess, pattern: RegExp): RegExpExecArray[] =>
      child.events.flatMap((e) => {
        const match = e.event === 'line' ? pattern.exec(e['line'] as string) : null;
        return match === null ? [] : [match];
      });
    const emitted = /^LevelChanged (\d+)% \(seq \d+\)$/;
    const battery = children.spawnScript(join(repoRoot, 'examples/battery-service.mjs'), [], env);
    await battery.waitFor(() => lines(battery, emitted).length > 0);
    expect(await caller.getNameOwner('org.example.Battery')).toMatch(/^:1\.\d+$/);

    const panel = children.spawnScript(join(repoRoot, 'examples/panel.mjs'), [], env);
    const atStart = /^Level at start: (\d+)% \(GetLevel\)$/;
    const printed = /^Battery (\d+)% \(seq \d+, from :1\.\d+(, retained)?\)$/;
    // The answer, then the levels as they change (the retained one first).
    await panel.waitFor(() => lines(panel, printed).length >= 2);
    expect(lines(panel, atStart)).toHaveLength(1);
    const asked = Number(lines(panel, atStart)[0]?.[1]);
    // The service answers with the level it last set, which it emits (and prints) too.
    await battery.waitFor(() => lines(battery, emitted).some((m) => Number(m[1]) === asked));
    const order = panel.events.map((e) => (e.event === 'line' ? (e['line'] as string) : ''));
    expect(order.findIndex((l) => atStart.test(l))).toBeLessThan(order.findIndex((l) => printed.test(l)));
    for (const child of [panel, battery]) expect(await child.kill('SIGINT')).toMatchObject({ code: 0 });
  });
});
