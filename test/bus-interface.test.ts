import { BusContract, type z } from '@chorus/client';
import {
  type BusMethodName,
  type BusMethodOutput,
  busMethods,
  busSignals,
  contractJsonSchema,
  decodePayload,
  encodePayload,
} from '@chorus/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { type Frame, RawClient } from './harness/raw-client.js';

// Names, method routing, the bus's own interface and monitors, at the protocol level: what the
// daemon does, independently of the SDK.

let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon();
});
afterAll(async () => {
  await daemon.cleanup();
});

let serial = 100;
async function busCall(client: RawClient, m: string, input: object = {}): Promise<unknown> {
  const s = serial++;
  const reply = (await client.request({ t: 'call', s, dest: 'org.chorus.Bus', m }, encodePayload(input)))
    .message;
  if (reply.t === 'err') throw Object.assign(new Error(reply.msg), { code: reply.code });
  const received = client.received.find((r) => r.message.t === 'ok' && r.message.s === s) as Frame;
  return decodePayload(received.payload);
}

function signals(client: RawClient, group: string): { sig: string; seq: number; payload: unknown }[] {
  return client.received.flatMap((r) =>
    r.message.t === 'sig' && r.message.g === group
      ? [{ sig: r.message.sig, seq: r.message.seq, payload: decodePayload(r.payload) }]
      : [],
  );
}

describe('well-known names', () => {
  it('queues owners, hands over in order, and announces every change as ordered signals', async () => {
    const watcher = await RawClient.open(daemon.socketPath, { join: [{ g: 'org.chorus.Bus' }] });
    const a = await RawClient.open(daemon.socketPath);
    const b = await RawClient.open(daemon.socketPath);
    expect(await busCall(a, 'RequestName', { name: 'org.test.Names' })).toEqual({ result: 'primary-owner' });
    expect(await busCall(a, 'RequestName', { name: 'org.test.Names' })).toEqual({ result: 'already-owner' });
    expect(await busCall(b, 'RequestName', { name: 'org.test.Names' })).toEqual({ result: 'in-queue' });
    expect(await busCall(b, 'RequestName', { name: 'org.test.Names', flags: { doNotQueue: true } })).toEqual({
      result: 'exists',
    });
    expect(await busCall(b, 'RequestName', { name: 'org.test.Names' })).toEqual({ result: 'in-queue' });
    expect(await busCall(b, 'GetNameOwner', { name: 'org.test.Names' })).toEqual({ owner: a.name });
    // The NameAcquired signal reaches `a` even though it never joined org.chorus.Bus, and before the reply.
    expect(signals(a, 'org.chorus.Bus').map((s) => s.sig)).toEqual(['NameAcquired']);
    a.close(); // the owner leaves: the queued connection takes over
    await b.waitFor((r) => r.message.t === 'sig' && r.message.sig === 'NameAcquired');
    expect(await busCall(b, 'GetNameOwner', { name: 'org.test.Names' })).toEqual({ owner: b.name });
    expect(await busCall(b, 'ReleaseName', { name: 'org.test.Names' })).toEqual({ result: 'released' });
    expect(await busCall(b, 'ReleaseName', { name: 'org.test.Names' })).toEqual({ result: 'non-existent' });
    await watcher.waitFor(
      (r) =>
        r.message.t === 'sig' &&
        r.message.sig === 'NameOwnerChanged' &&
        decodePayload(r.payload) !== null &&
        (decodePayload(r.payload) as { newOwner: unknown }).newOwner === null,
    );
    const changes = signals(watcher, 'org.chorus.Bus').map((s) => s.payload);
    expect(changes).toEqual([
      { name: 'org.test.Names', oldOwner: null, newOwner: a.name },
      { name: 'org.test.Names', oldOwner: a.name, newOwner: b.name },
      { name: 'org.test.Names', oldOwner: b.name, newOwner: null },
    ]);
    b.close();
    watcher.close();
  });

  it('refuses unique names, the bus name and bad grammar', async () => {
    const a = await RawClient.open(daemon.socketPath);
    for (const name of [':1.5', 'org.chorus.Bus', 'nodots', '']) {
      await expect(busCall(a, 'RequestName', { name })).rejects.toMatchObject({ code: 'INVALID_NAME' });
    }
    await expect(busCall(a, 'RequestName', { nom: 'x' })).rejects.toMatchObject({ code: 'INVALID_ARGS' });
    await expect(busCall(a, 'Frobnicate')).rejects.toMatchObject({ code: 'UNKNOWN_METHOD' });
    a.close();
  });
});

describe('method calls', () => {
  it('routes a call to the owner and the reply back, after the signals the service emitted first', async () => {
    const service = await RawClient.open(daemon.socketPath);
    await busCall(service, 'RequestName', { name: 'org.test.Calc' });
    expect((await service.request({ t: 'create', s: 1, g: 'org.test.Calc' })).message).toMatchObject({
      t: 'ok',
    });
    const caller = await RawClient.open(daemon.socketPath, { join: [{ g: 'org.test.Calc' }] });
    caller.send(
      { t: 'call', s: 7, dest: 'org.test.Calc', m: 'Add', g: 'org.test.Calc' },
      encodePayload({ a: 2, b: 3 }),
    );
    const invoke = await service.waitFor((r) => r.message.t === 'invoke');
    expect(invoke.message).toMatchObject({ t: 'invoke', from: caller.name, dest: 'org.test.Calc', m: 'Add' });
    expect(decodePayload(invoke.payload)).toEqual({ a: 2, b: 3 });
    const id = (invoke.message as { id: number }).id;
    service.send({ t: 'emit', s: 2, g: 'org.test.Calc', sig: 'Computed' }, encodePayload({ sum: 5 }));
    service.send({ t: 'ret', id }, encodePayload({ sum: 5 }));
    const reply = await caller.waitFor((r) => r.message.t === 'ok' && r.message.s === 7);
    expect(decodePayload(reply.payload)).toEqual({ sum: 5 });
    const signalIndex = caller.received.findIndex(
      (r) => r.message.t === 'sig' && r.message.sig === 'Computed',
    );
    expect(signalIndex).toBeGreaterThanOrEqual(0);
    expect(signalIndex).toBeLessThan(caller.received.indexOf(reply));
    service.close();
    caller.close();
  });

  it('answers SERVICE_UNKNOWN, passes service failures, times out and reports NO_REPLY', async () => {
    const service = await RawClient.open(daemon.socketPath);
    await busCall(service, 'RequestName', { name: 'org.test.Flaky' });
    const caller = await RawClient.open(daemon.socketPath);
    expect(
      (await caller.request({ t: 'call', s: 1, dest: 'org.test.Nobody', m: 'X' })).message,
    ).toMatchObject({
      code: 'SERVICE_UNKNOWN',
    });
    caller.send({ t: 'call', s: 2, dest: 'org.test.Flaky', m: 'Boom' });
    const first = await service.waitFor((r) => r.message.t === 'invoke' && r.message.m === 'Boom');
    service.send({
      t: 'fail',
      id: (first.message as { id: number }).id,
      code: 'REMOTE_ERROR',
      msg: 'bad',
      name: 'TypeError',
    });
    expect(
      await caller.waitFor((r) => r.message.t === 'err' && r.message.s === 2).then((r) => r.message),
    ).toMatchObject({
      code: 'REMOTE_ERROR',
      msg: 'bad',
      data: { name: 'TypeError' },
    });
    caller.send({ t: 'call', s: 3, dest: 'org.test.Flaky', m: 'Slow', to: 100 });
    const slow = await service.waitFor((r) => r.message.t === 'invoke' && r.message.m === 'Slow');
    expect((await caller.waitFor((r) => r.message.t === 'err' && r.message.s === 3)).message).toMatchObject({
      code: 'TIMEOUT',
    });
    const abort = await service.waitFor((r) => r.message.t === 'abort');
    expect(abort.message).toMatchObject({ id: (slow.message as { id: number }).id, reason: 'timeout' });
    caller.send({ t: 'call', s: 4, dest: 'org.test.Flaky', m: 'Never' });
    await service.waitFor((r) => r.message.t === 'invoke' && r.message.m === 'Never');
    service.close();
    expect((await caller.waitFor((r) => r.message.t === 'err' && r.message.s === 4)).message).toMatchObject({
      code: 'NO_REPLY',
    });
    caller.close();
  });
});

describe('introspection and monitors', () => {
  it('lists groups, connections and stats that match reality', async () => {
    const a = await RawClient.open(daemon.socketPath);
    await a.request({
      t: 'create',
      s: 1,
      g: 'org.test.Listed',
      schema: { signals: { X: { type: 'object' } } },
    });
    const b = await RawClient.open(daemon.socketPath, { join: [{ g: 'org.test.Listed' }] });
    const { groups } = (await busCall(b, 'ListGroups')) as BusMethodOutput<'ListGroups'>;
    expect(groups.find((g) => g.name === 'org.test.Listed')).toMatchObject({ owner: a.name, members: 1 });
    expect(groups.find((g) => g.name === 'org.chorus.Bus')).toMatchObject({ owner: 'org.chorus.Bus' });
    expect(await busCall(b, 'GetGroupSchema', { group: 'org.test.Listed' })).toEqual({
      schema: { signals: { X: { type: 'object' } } },
    });
    const { connections } = (await busCall(b, 'ListConnections')) as BusMethodOutput<'ListConnections'>;
    expect(connections.find((c) => c.name === b.name)).toMatchObject({
      groups: ['org.test.Listed'],
      transport: 'unix',
    });
    a.send({ t: 'emit', s: 2, g: 'org.test.Listed', sig: 'X' }, encodePayload({}));
    await b.waitFor((r) => r.message.t === 'sig');
    const stats = (await busCall(b, 'GetStats')) as BusMethodOutput<'GetStats'>;
    expect(stats.groups['org.test.Listed']?.messages).toBe(1);
    expect(stats.total.messages).toBeGreaterThanOrEqual(1);
    a.close();
    b.close();
  });

  it("a monitor sees every signal in the members' order and may send nothing else", async () => {
    const monitor = await RawClient.open(daemon.socketPath);
    expect((await monitor.request({ t: 'monitor', s: 1 })).message).toMatchObject({ t: 'ok' });
    const a = await RawClient.open(daemon.socketPath);
    const b = await RawClient.open(daemon.socketPath);
    await a.request({ t: 'create', s: 1, g: 'org.test.MonA', o: { emitters: 'anyone' } });
    await b.request({ t: 'create', s: 1, g: 'org.test.MonB', o: { emitters: 'anyone' } });
    const member = await RawClient.open(daemon.socketPath, {
      join: [{ g: 'org.test.MonA' }, { g: 'org.test.MonB' }],
    });
    for (let i = 0; i < 50; i++) {
      a.send(
        { t: 'emit', s: 10 + i, g: i % 2 ? 'org.test.MonA' : 'org.test.MonB', sig: 'Tick' },
        encodePayload(i),
      );
      b.send(
        { t: 'emit', s: 10 + i, g: i % 3 ? 'org.test.MonB' : 'org.test.MonA', sig: 'Tock' },
        encodePayload(i),
      );
    }
    const seqsOf = (c: RawClient) =>
      c.received.flatMap((r) =>
        r.message.t === 'sig' && r.message.g.startsWith('org.test.Mon') ? [r.message.seq] : [],
      );
    await member.waitFor(() => seqsOf(member).length === 100);
    await monitor.waitFor(() => seqsOf(monitor).length === 100);
    expect(seqsOf(monitor)).toEqual(seqsOf(member));
    expect(
      (await monitor.request({ t: 'emit', s: 2, g: 'org.test.MonA', sig: 'X' }, encodePayload(1))).message,
    ).toMatchObject({
      code: 'MONITOR_ONLY',
    });
    for (const c of [monitor, a, b, member]) c.close();
  });
});

/**
 * Where `value` and `schema` disagree on fields: paths of `value` the schema does not name (loose
 * objects let them through a parse) and fields the schema names that `value` lacks (optional ones
 * included). The contract is the wire spec: the daemon sends exactly the fields it names.
 */
function fieldMismatches(schema: z.ZodType, value: unknown, path = '$'): string[] {
  const def = schema._zod.def as {
    type: string;
    shape?: Record<string, z.ZodType>;
    element?: z.ZodType;
    innerType?: z.ZodType;
    valueType?: z.ZodType;
  };
  if ((def.type === 'nullable' || def.type === 'optional') && value !== null && value !== undefined)
    return fieldMismatches(def.innerType as z.ZodType, value, path);
  if (def.type === 'array' && Array.isArray(value))
    return value.flatMap((item, i) => fieldMismatches(def.element as z.ZodType, item, `${path}[${i}]`));
  if (def.type === 'record' && typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([k, v]) =>
      fieldMismatches(def.valueType as z.ZodType, v, `${path}.${k}`),
    );
  if (def.type === 'object' && typeof value === 'object' && value !== null) {
    const shape = def.shape as Record<string, z.ZodType>;
    const missing = Object.keys(shape).flatMap((k) =>
      Object.hasOwn(value, k) ? [] : [`${path}.${k} missing`],
    );
    return missing.concat(
      Object.entries(value).flatMap(([k, v]) =>
        shape[k] === undefined ? [`${path}.${k} unnamed`] : fieldMismatches(shape[k], v, `${path}.${k}`),
      ),
    );
  }
  return [];
}

describe('the contract of org.chorus.Bus (defined once, in @chorus/protocol)', () => {
  it('is what the daemon publishes as its schema, and what the SDK would publish for it', async () => {
    const a = await RawClient.open(daemon.socketPath);
    const { schema: expected, problems } = contractJsonSchema(busSignals, busMethods);
    expect(problems).toEqual([]);
    expect(expected).toBeDefined();
    expect(BusContract.jsonSchema()).toEqual(expected);
    expect(await busCall(a, 'GetGroupSchema', { group: 'org.chorus.Bus' })).toEqual({ schema: expected });
    const { groups } = (await busCall(a, 'ListGroups')) as BusMethodOutput<'ListGroups'>;
    expect(groups.find((g) => g.name === 'org.chorus.Bus')?.schema).toEqual(expected);
    a.close();
  });

  it('describes every reply of every method, and every signal, field by field', async () => {
    const watcher = await RawClient.open(daemon.socketPath, { join: [{ g: 'org.chorus.Bus' }] });
    const monitor = await RawClient.open(daemon.socketPath);
    await monitor.request({ t: 'monitor', s: 1 });
    const a = await RawClient.open(daemon.socketPath);
    const b = await RawClient.open(daemon.socketPath);
    await a.request({ t: 'create', s: 1, g: 'org.test.Contract', schema: { signals: {} } });
    await b.request({ t: 'join', s: 1, g: 'org.test.Contract' });
    a.send({ t: 'emit', s: 2, g: 'org.test.Contract', sig: 'X' }, encodePayload({}));
    await b.waitFor((r) => r.message.t === 'sig');
    // A call left pending, so that pendingCalls counts one. By unique name, it names its interface:
    // the daemon checks the call against it (a has no name yet that could stand for one).
    b.send({ t: 'call', s: 50, dest: a.name, m: 'Wait', g: 'org.test.Contract' });
    await a.waitFor((r) => r.message.t === 'invoke');
    const replies: Partial<Record<BusMethodName, unknown>> = {
      RequestName: await busCall(a, 'RequestName', {
        name: 'org.test.Contract',
        flags: { allowReplacement: true },
      }),
    };
    // b waits in the queue, then takes the name over: NameLost, NameAcquired and two changes.
    await busCall(b, 'RequestName', { name: 'org.test.Contract' });
    replies.GetNameOwner = await busCall(b, 'GetNameOwner', { name: 'org.test.Contract' });
    replies.ListNames = await busCall(b, 'ListNames');
    replies.ListGroups = await busCall(b, 'ListGroups');
    replies.ListConnections = await busCall(b, 'ListConnections');
    replies.GetGroupSchema = await busCall(b, 'GetGroupSchema', { group: 'org.test.Contract' });
    replies.GetStats = await busCall(b, 'GetStats');
    await busCall(b, 'RequestName', { name: 'org.test.Contract', flags: { replaceExisting: true } });
    replies.ReleaseName = await busCall(a, 'ReleaseName', { name: 'org.test.Contract' });
    expect(Object.keys(replies).sort()).toEqual(Object.keys(busMethods).sort());
    expect(replies.ListNames).toEqual({
      names: [{ name: 'org.test.Contract', owner: a.name, queue: [b.name] }],
    });
    expect((replies.GetStats as BusMethodOutput<'GetStats'>).pendingCalls).toBe(1);
    for (const [method, reply] of Object.entries(replies)) {
      const output = busMethods[method as BusMethodName].output;
      expect(output.safeParse(reply).error, method).toBeUndefined();
      expect(fieldMismatches(output, reply), `${method}: fields`).toEqual([]);
    }

    await watcher.waitFor(() => signals(watcher, 'org.chorus.Bus').length >= 2);
    const seen = [
      ...signals(watcher, 'org.chorus.Bus'),
      ...signals(a, 'org.chorus.Bus'),
      ...signals(b, 'org.chorus.Bus'),
    ];
    expect(new Set(seen.map((s) => s.sig))).toEqual(new Set(Object.keys(busSignals)));
    for (const { sig, payload } of seen) {
      const schema = busSignals[sig as keyof typeof busSignals];
      expect(schema.safeParse(payload).error, sig).toBeUndefined();
      expect(fieldMismatches(schema, payload), `${sig}: fields`).toEqual([]);
    }
    for (const c of [watcher, monitor, a, b]) c.close();
  });
});
