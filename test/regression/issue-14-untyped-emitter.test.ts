import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { type Bus, connect, defineGroup, type SignalMeta, z } from '@chorus/client';
import { contractJsonSchema, encodePayload } from '@chorus/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDaemon, repoRoot, withDaemon } from '../harness/daemon.js';
import { type Frame, RawClient } from '../harness/raw-client.js';

// Issue 14: nothing stopped an untyped emitter. `chorus emit org.example.Chat Said '{"text":42}'`
// printed "Emitted … 1 recipient", and so did an unknown signal or a missing payload; the typed
// recipient dropped the payload, without a trace when it had no `invalid` listener. Now the daemon
// checks every emit into a group created with a contract against the published schema: the
// emitter gets INVALID_PAYLOAD with the path and the reason, and nobody gets anything.

const Chat = defineGroup('org.example.Chat', {
  signals: { Said: z.object({ text: z.string(), at: z.number().int().optional() }), Left: z.object({}) },
});
const { schema } = contractJsonSchema(Chat.signals, {});

let daemon: RunningDaemon & { cleanup(): Promise<void> };
beforeAll(async () => {
  daemon = await withDaemon({ args: ['--no-ws'] });
});
afterAll(async () => {
  await daemon?.cleanup();
});

/** A typed SDK member that records what it gets, `invalid` events included. */
async function typedMember(group = Chat): Promise<{ bus: Bus; got: unknown[]; invalid: unknown[] }> {
  const bus = await connect({ address: daemon.address, reconnect: false });
  const sub = await bus.join(group);
  const got: unknown[] = [];
  const invalid: unknown[] = [];
  sub.on('Said', (payload, meta: SignalMeta) => got.push({ ...payload, gseq: meta.groupSeq }));
  sub.on('Left', (_payload, meta: SignalMeta) => got.push({ left: true, gseq: meta.groupSeq }));
  sub.on('invalid', (error) => invalid.push(error));
  return { bus, got, invalid };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function chorus(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, CHORUS_BUS_ADDRESS: daemon.address };
  delete env['FORCE_COLOR'];
  const child = spawn(process.execPath, [join(repoRoot, 'apps/chorus/dist/main.js'), ...args], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('a raw protocol client', () => {
  it('gets INVALID_PAYLOAD for a wrong payload, an unknown signal and a missing one; members get nothing of them, and the stream after is intact and in order', async () => {
    const owner = await RawClient.open(daemon.socketPath);
    await owner.ok({ t: 'create', g: Chat.name, o: { emitters: 'anyone' }, schema });
    const member = await typedMember();
    const raw = await RawClient.open(daemon.socketPath, {});
    await raw.ok({ t: 'join', g: Chat.name });
    const emitter = await RawClient.open(daemon.socketPath);

    const emit = (sig: string, payload?: Uint8Array): Promise<Frame> =>
      emitter.request({ t: 'emit', g: Chat.name, sig }, payload);
    expect((await emit('Said', encodePayload({ text: 'one' }))).message).toMatchObject({
      t: 'ok',
      r: { gseq: 1, n: 2 },
    });
    const wrong = await emit('Said', encodePayload({ text: 42 }));
    expect(wrong.message).toMatchObject({
      t: 'err',
      code: 'INVALID_PAYLOAD',
      data: { signal: 'Said', path: ['text'], reason: 'must be string' },
    });
    expect(wrong.message).not.toHaveProperty('fatal');
    const nested = await emit('Said', encodePayload({ text: 'x', at: 1.5 }));
    expect(nested.message).toMatchObject({
      code: 'INVALID_PAYLOAD',
      data: { path: ['at'], reason: 'must be integer' },
    });
    const unknown = await emit('Sad', encodePayload({ text: 'x' }));
    expect(unknown.message).toMatchObject({ code: 'INVALID_PAYLOAD', data: { signal: 'Sad', path: [] } });
    expect((unknown.message as { msg: string }).msg).toContain("no signal 'Sad' (its signals: Said, Left)");
    const missing = await emit('Said');
    expect(missing.message).toMatchObject({ code: 'INVALID_PAYLOAD', data: { path: [] } });
    expect((missing.message as { msg: string }).msg).toContain('a payload is required');
    const undecodable = await emit('Said', new Uint8Array([0xc1]));
    expect(undecodable.message).toMatchObject({ code: 'INVALID_PAYLOAD', data: { path: [] } });
    // A signal name that breaks the grammar is still INVALID_NAME, as on any group.
    expect((await emit('no-such', encodePayload({}))).message).toMatchObject({ code: 'INVALID_NAME' });
    expect((await emit('Left', encodePayload({}))).message).toMatchObject({ t: 'ok', r: { gseq: 2, n: 2 } });
    expect((await emit('Said', encodePayload({ text: 'three', at: 3 }))).message).toMatchObject({
      t: 'ok',
      r: { gseq: 3 },
    });

    await until(() => member.got.length === 3 && raw.unmatched.length === 3, 'the three good signals');
    // Refused emits take no sequence number: the members see 1, 2, 3 without a gap.
    expect(member.got).toEqual([
      { text: 'one', gseq: 1 },
      { left: true, gseq: 2 },
      { text: 'three', at: 3, gseq: 3 },
    ]);
    expect(raw.unmatched.map((f) => [f.message.t, (f.message as { gseq?: number }).gseq])).toEqual([
      ['sig', 1],
      ['sig', 2],
      ['sig', 3],
    ]);
    expect(member.invalid).toEqual([]);

    // GetStats counts the refusals, for the group and in total.
    const stats = await owner.bus<{
      total: { invalid: number };
      groups: Record<string, { invalid: number }>;
    }>('GetStats');
    expect(stats.groups[Chat.name]?.invalid).toBe(5);
    expect(stats.total.invalid).toBeGreaterThanOrEqual(5);

    await member.bus.close();
    for (const peer of [owner, raw, emitter]) peer.close();
  });

  it('refuses a schema it cannot compile at create, with INVALID_SCHEMA, and creates nothing', async () => {
    const owner = await RawClient.open(daemon.socketPath);
    const bad = { properties: { signals: { properties: { A: { type: 'string', pattern: '(' } } } } };
    const refused = await owner.request({ t: 'create', g: 'org.example.Bad', schema: bad });
    expect(refused.message).toMatchObject({ t: 'err', code: 'INVALID_SCHEMA', data: { path: ['schema'] } });
    expect(
      (await owner.request({ t: 'create', g: 'org.example.Bad2', schema: { type: 42 } })).message,
    ).toMatchObject({
      code: 'INVALID_SCHEMA',
    });
    expect(
      await owner.bus('GetGroupSchema', { group: 'org.example.Bad' }).catch((e: Error) => e.message),
    ).toMatch(/UNKNOWN_GROUP|no group/);
    owner.close();
  });

  it('delivers anything into a group created with validate: false (and into an untyped group)', async () => {
    const owner = await RawClient.open(daemon.socketPath);
    await owner.ok({
      t: 'create',
      g: 'org.example.Fast',
      o: { emitters: 'anyone', validate: false },
      schema,
    });
    await owner.ok({ t: 'create', g: 'org.example.Untyped', o: { emitters: 'anyone' } });
    const emitter = await RawClient.open(daemon.socketPath);
    const wrong = encodePayload({ text: 42 });
    expect(
      (await emitter.request({ t: 'emit', g: 'org.example.Fast', sig: 'Said' }, wrong)).message,
    ).toMatchObject({ t: 'ok' });
    expect(
      (await emitter.request({ t: 'emit', g: 'org.example.Untyped', sig: 'Sad' }, wrong)).message,
    ).toMatchObject({ t: 'ok' });
    const { groups } = await owner.bus<{ groups: { name: string; options: { validate?: boolean } }[] }>(
      'ListGroups',
    );
    expect(groups.find((g) => g.name === 'org.example.Fast')?.options.validate).toBe(false);
    expect(groups.find((g) => g.name === 'org.example.Untyped')?.options.validate).toBe(true);
    for (const peer of [owner, emitter]) peer.close();
  });
});

describe('chorus emit and chorus call', () => {
  it('check the input against the published contract, print the failing path and send nothing; members get only what fits', async () => {
    const Talk = defineGroup('org.example.Talk', {
      signals: { Said: z.object({ text: z.string(), at: z.number().int().optional() }), Left: z.object({}) },
      methods: { Send: { input: z.object({ text: z.string() }), output: z.object({ ok: z.boolean() }) } },
    });
    const service = await connect({ address: daemon.address, reconnect: false });
    await service.requestName(Talk.name);
    await service.createGroup(Talk, { emitters: 'anyone' });
    const sent: string[] = [];
    service.serve(Talk, {
      Send: ({ text }) => {
        sent.push(text);
        return { ok: true };
      },
    });
    const member = await typedMember(Talk as unknown as typeof Chat);

    const wrong = await chorus('emit', Talk.name, 'Said', '{"text":42}');
    expect(wrong).toMatchObject({ code: 1, stdout: '' });
    expect(wrong.stderr).toBe('chorus: INVALID_PAYLOAD: text: must be string\n');
    const unknown = await chorus('emit', Talk.name, 'Sad', '{"text":"x"}');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("chorus: INVALID_PAYLOAD: (payload): the contract has no signal 'Sad'");
    const missing = await chorus('emit', Talk.name, 'Said');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('chorus: INVALID_PAYLOAD: (payload): a payload is required');
    const good = await chorus('emit', Talk.name, 'Said', '{"text":"fits"}', '--json');
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ groupSeq: 1, recipients: 1 });

    const badCall = await chorus('call', Talk.name, 'Send', '{"txt":"x"}');
    expect(badCall.code).toBe(1);
    expect(badCall.stderr).toBe('chorus: INVALID_PAYLOAD: text: is required\n');
    const call = await chorus('call', Talk.name, 'Send', '{"text":"hello"}', '--json');
    expect(call).toMatchObject({ code: 0, stdout: '{"ok":true}\n' });
    expect(sent).toEqual(['hello']);
    // A skeleton from the schema (contract-input.test.ts checks that skeletons fit).
    const example = await chorus('call', '--example', Talk.name, 'Send', '--json');
    expect(JSON.parse(example.stdout)).toEqual({ text: '' });

    // The refused emits never reached the daemon: the good one is the group's first message.
    await until(() => member.got.length === 1, 'the one good signal');
    expect(member.got).toEqual([{ text: 'fits', gseq: 1 }]);
    expect(member.invalid).toEqual([]);
    await member.bus.close();
    await service.close();
  });
});
