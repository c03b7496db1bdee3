import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  type ClientMessage,
  ErrorCode,
  encodeFrame,
  encodePayload,
  FrameDecoder,
  isProtocolError,
  parseClientHeader,
  parseServerHeader,
} from '@chorus/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Bystander } from './harness/bystander.js';
import { type RunningDaemon, withDaemon } from './harness/daemon.js';
import { Observer } from './harness/observer.js';
import { type Frame, RawClient } from './harness/raw-client.js';

// The live daemon fed random, mutated and truncated frames (issue 7 §3, fuzzing). The decoder and
// header codec alone are fuzzed in packages/protocol; here the bytes go through a real socket, a
// session and the engine, while a bystander service streams numbered signals to a subscriber that
// checks each one. The oracle is the codec itself: a frame the codec refuses must come back as
// the `err` it raises (code, serial, data), never fatal; a framing error must come back fatal, and
// the connection closed; nothing may crash the daemon, answer INTERNAL, or disturb the bystander.
// [GUARANTEE: isolation]
//
// Seeded (CHORUS_FUZZ_SEED, default 7) so that a failure replays; fast-check shrinks it.

const { CI: inCi, CHORUS_FUZZ_SEED } = process.env;
const CI = inCi !== undefined;
const SEED = Number(CHORUS_FUZZ_SEED ?? 7);
const runs = (local: number) => ({ seed: SEED, numRuns: CI ? local * 2 : local });
const MAX_FRAME_BYTES = 64 * 1024;
const PROPERTY = { timeout: CI ? 240_000 : 120_000 };
const STREAM = 'test.fuzz.Stream';
/** Serials of the fences (pings) between fuzzed frames: far from anything the generators make. */
const FENCE = 4_000_000_000;

let daemon: RunningDaemon & { cleanup(): Promise<void> };
let bystander: Bystander;
let observer: Observer;
beforeAll(async () => {
  daemon = await withDaemon({ config: { limits: { maxFrameBytes: MAX_FRAME_BYTES } } });
  observer = await Observer.open(daemon.socketPath);
  bystander = await Bystander.start(daemon.socketPath, STREAM);
});
afterAll(async () => {
  bystander?.close();
  observer?.close();
  await daemon?.cleanup();
});

// ---- generators -----------------------------------------------------------------------------

/** Names the templates use: valid ones (the bystander's group among them), invalid ones, the bus. */
const name = fc.constantFrom(
  'test.fuzz.A',
  'test.fuzz.B',
  STREAM,
  'org.chorus.Bus',
  ':1.1',
  'bad name',
  '',
  'x'.repeat(300),
);
const serial = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 1000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, 2 ** 32, Number.MAX_SAFE_INTEGER) },
);
const smallValue = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.double({ noNaN: true }),
);
const anyValue = fc
  .jsonValue({ maxDepth: 3 })
  .map((value) => JSON.parse(JSON.stringify(value)) as unknown)
  .filter((value) => !JSON.stringify(value).includes('"__proto__"'));
const filter = fc.record(
  {
    sig: name,
    from: name,
    eq: fc.dictionary(fc.constantFrom('a', 'b', 'level'), smallValue, { maxKeys: 2 }),
  },
  { requiredKeys: [] },
);
const groupOptions = fc.record(
  {
    emitters: fc.constantFrom('owner', 'members', 'anyone', 'nobody'),
    loopback: fc.boolean(),
    sendToPeer: fc.boolean(),
    onFull: fc.constantFrom('block', 'reject', 'evict', 'drop'),
    retain: fc.boolean(),
  },
  { requiredKeys: [] },
);

const helloTemplate: fc.Arbitrary<Record<string, unknown>> = fc.record(
  {
    t: fc.constant('hello'),
    v: fc.oneof(fc.constant(1), fc.nat(5)),
    join: fc.array(fc.record({ g: name, f: fc.array(filter, { maxLength: 2 }) }, { requiredKeys: ['g'] }), {
      maxLength: 2,
    }),
    token: fc.string({ maxLength: 20 }),
    client: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: ['t', 'v'] },
);

/** Client messages, mostly well-formed: the material the mutations work on. */
const template: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  helloTemplate,
  fc.record(
    { t: fc.constant('create'), s: serial, g: name, o: groupOptions, schema: anyValue },
    {
      requiredKeys: ['t', 's', 'g'],
    },
  ),
  fc.record(
    { t: fc.constant('join'), s: serial, g: name, f: fc.array(filter, { maxLength: 3 }) },
    {
      requiredKeys: ['t', 's', 'g'],
    },
  ),
  fc.record({ t: fc.constantFrom('leave', 'close'), s: serial, g: name }),
  fc.record({
    t: fc.constant('emit'),
    s: serial,
    g: name,
    sig: fc.constantFrom('Tick', 'Level', 'bad sig', ''),
  }),
  fc.record({ t: fc.constant('ping'), s: serial }),
  fc.record(
    {
      t: fc.constant('call'),
      s: serial,
      dest: fc.constantFrom('org.chorus.Bus', 'test.fuzz.Nobody', 'test.fuzz.A'),
      m: fc.constantFrom('GetStats', 'ListGroups', 'ListConnections', 'RequestName', 'GetNameOwner', 'Nope'),
      g: name,
      // A deadline long enough that no late TIMEOUT lands while the connection lives.
      to: fc.constant(120_000),
    },
    { requiredKeys: ['t', 's', 'dest', 'm'] },
  ),
  fc.record({ t: fc.constantFrom('ret', 'cancel'), id: fc.nat(10) }),
  fc.record({
    t: fc.constant('fail'),
    id: fc.nat(10),
    code: fc.constantFrom('REMOTE_ERROR', 'X'),
    msg: fc.string(),
  }),
  fc.record(
    { t: fc.constant('monitor'), s: serial, g: fc.array(name, { maxLength: 2 }) },
    {
      requiredKeys: ['t', 's'],
    },
  ),
  fc.record({ t: fc.string({ maxLength: 8 }), s: serial, extra: anyValue }, { requiredKeys: ['t'] }),
);

/** Bytes MessagePack gives a special meaning to, favoured by the mutations. */
const interestingByte = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(
    0x00,
    0x7f,
    0x80,
    0x8f,
    0x90,
    0xa0,
    0xc0,
    0xc1,
    0xc2,
    0xcf,
    0xd3,
    0xd9,
    0xdb,
    0xdd,
    0xdf,
    0xff,
  ),
);
const mutation = fc.record({
  op: fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate'),
  at: fc.nat(),
  byte: interestingByte,
  len: fc.integer({ min: 1, max: 6 }),
});
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = [...bytes];
  for (const { op, at, byte, len } of mutations) {
    const i = out.length === 0 ? 0 : at % out.length;
    if (op === 'flip' && out.length > 0) out[i] = (out[i] as number) ^ (1 << (byte % 8));
    else if (op === 'set' && out.length > 0) out[i] = byte;
    else if (op === 'insert') out.splice(i, 0, ...Array.from({ length: len }, (_, k) => (byte + k) & 0xff));
    else if (op === 'delete') out.splice(i, len);
    else if (op === 'truncate') out = out.slice(0, i);
  }
  // An empty header is a framing error (BAD_LENGTH), which this generator is not about.
  return new Uint8Array(out.length === 0 ? [0xc1] : out);
}

/** The MessagePack bytes of any value as a header (the encoder does not validate). */
function headerBytes(value: unknown): Uint8Array {
  return encodeFrame(value as ClientMessage).subarray(8);
}

const payload = fc.oneof(
  fc.constant(new Uint8Array(0)),
  anyValue.map((value) => encodePayload(value)),
  fc.uint8Array({ maxLength: 48 }),
);

/** A well-delimited frame: its header valid, mutated, random bytes, or any MessagePack value. */
const wellFramed = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(template, payload).map(([m, p]) => ({ header: headerBytes(m), payload: p })),
  },
  {
    weight: 5,
    arbitrary: fc
      .tuple(template, payload, fc.array(mutation, { minLength: 1, maxLength: 4 }))
      .map(([m, p, ms]) => ({ header: mutate(headerBytes(m), ms), payload: p })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), payload)
      .map(([header, p]) => ({ header, payload: p })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(anyValue, payload).map(([v, p]) => ({ header: headerBytes(v), payload: p })),
  },
);

/** Where to cut a byte string into the chunks it is written in. */
const cuts = fc.array(fc.nat(), { maxLength: 5 });

// ---- plumbing -------------------------------------------------------------------------------

function frame(header: Uint8Array, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + header.length + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, header.length);
  view.setUint32(4, payload.length);
  out.set(header, 8);
  out.set(payload, 8 + header.length);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Writes `bytes` in chunks cut at `at` (positions modulo its length), a turn of the event loop apart. */
async function writeInChunks(peer: RawClient, bytes: Uint8Array, at: readonly number[]): Promise<void> {
  const points = [...new Set(at.map((p) => (bytes.length === 0 ? 0 : p % bytes.length)))].sort(
    (a, b) => a - b,
  );
  let from = 0;
  for (const point of [...points, bytes.length]) {
    if (point <= from) continue;
    peer.socket.write(bytes.subarray(from, point));
    from = point;
    await nextTurn();
  }
}

/** What the codec says of a header: the message, or the error the daemon must answer with. */
function judge(
  header: Uint8Array,
): { message: ClientMessage } | { error: { code: string; s?: number; data?: unknown } } {
  try {
    return { message: parseClientHeader(header) };
  } catch (error) {
    if (!isProtocolError(error)) throw error;
    const expected: { code: string; s?: number; data?: unknown } = { code: error.code };
    if (error.serial !== undefined) expected.s = error.serial;
    if (error.data !== undefined) expected.data = error.data;
    return { error: expected };
  }
}

/** Waits until `done()` holds or the connection closed (10 s at most). */
async function until(peer: RawClient, done: () => boolean): Promise<void> {
  for (const started = Date.now(); !done() && !peer.closed && Date.now() - started < 10_000; ) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const isFence = (f: Frame, k: number) => f.message.t === 'ok' && f.message.s === FENCE + k;
const replyTo = (f: Frame, s: number) => (f.message.t === 'ok' || f.message.t === 'err') && f.message.s === s;

async function protocolErrors(): Promise<number> {
  return (await observer.stats()).daemon.protocolErrors;
}

function expectAlive(): void {
  expect(daemon.process.exitCode, 'the daemon is running').toBeNull();
  expect(daemon.process.signalCode, 'the daemon is running').toBeNull();
}

/**
 * Checks what the daemon said about each fuzzed frame (the record is cut at the fences: segment
 * k is its answer to frame k) and returns how many frames the codec refuses.
 */
function checkAnswers(fuzzed: readonly { header: Uint8Array }[], received: readonly Frame[]): number {
  let refused = 0;
  let monitor = false;
  expect(received.filter((f) => f.message.t === 'err' && f.message.code === ErrorCode.INTERNAL)).toEqual([]);
  let from = 0;
  for (const [k, { header }] of fuzzed.entries()) {
    const fence = received.findIndex((f, index) => index >= from && isFence(f, k));
    expect(fence, `fence ${k} answered, in order`).toBeGreaterThanOrEqual(from);
    const segment = received.slice(from, fence);
    from = fence + 1;
    const verdict = judge(header);
    if ('error' in verdict) {
      refused++;
      const errs = segment.flatMap((f) => (f.message.t === 'err' ? [f.message] : []));
      const { code, s, data } = verdict.error;
      const match = errs.filter(
        (e) => e.code === code && e.s === s && JSON.stringify(e.data) === JSON.stringify(data),
      );
      expect(match, `frame ${k}: ${JSON.stringify(verdict.error)} in ${JSON.stringify(errs)}`).toHaveLength(
        1,
      );
      expect(match[0]?.fatal, `frame ${k}: not fatal`).toBeUndefined();
      continue;
    }
    const { message } = verdict;
    const serial = 's' in message ? message.s : undefined;
    if (monitor && message.t !== 'ping') {
      // A monitor may only watch: anything but ping is refused, even a hello.
      const refusals = segment.filter(
        (f) => f.message.t === 'err' && f.message.code === ErrorCode.MONITOR_ONLY && f.message.s === serial,
      );
      expect(refusals, `frame ${k} (${message.t}) from a monitor: MONITOR_ONLY`).toHaveLength(1);
    } else if (message.t === 'hello') {
      const duplicate = segment.filter(
        (f) =>
          f.message.t === 'err' && f.message.code === ErrorCode.DUPLICATE_HELLO && f.message.s === undefined,
      );
      expect(duplicate, `frame ${k}: DUPLICATE_HELLO`).toHaveLength(1);
    } else if (serial !== undefined && message.t !== 'call') {
      // A call may be answered later (its callee is slow); every other request at once.
      const replies = segment.filter((f) => replyTo(f, serial));
      expect(replies.length, `frame ${k} (${message.t}) answered`).toBeGreaterThanOrEqual(1);
      // A request the codec takes is never refused as undecodable.
      for (const r of replies) {
        if (r.message.t === 'err') expect(r.message.code).not.toMatch(/^(BAD_MSGPACK|UNKNOWN_TYPE)$/);
      }
      if (message.t === 'monitor') monitor = replies.some((r) => r.message.t === 'ok');
    }
  }
  return refused;
}

/** A WebSocket client of the bridge that records the frames it receives (one per message). */
class WsPeer {
  readonly frames: Frame[] = [];
  readonly closed: Promise<number>;
  constructor(readonly socket: WebSocket) {
    const decoder = new FrameDecoder({
      frame: (header, payload) =>
        this.frames.push({ message: parseServerHeader(header), payload: payload.slice() }),
      error: () => socket.terminate(),
    });
    socket.on('message', (data: Buffer) => decoder.push(data));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.once('close', (code) => resolve(code)));
  }

  static async open(url: string): Promise<WsPeer> {
    const socket = new WebSocket(url);
    const peer = new WsPeer(socket);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.send(encodeFrame({ t: 'hello', v: 1 }));
    await peer.until(() => peer.frames.length > 0);
    expect(peer.frames.shift()?.message.t).toBe('welcome');
    return peer;
  }

  async until(done: () => boolean): Promise<void> {
    for (const started = Date.now(); !done() && Date.now() - started < 10_000; ) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  }
}

// ---- properties -----------------------------------------------------------------------------

describe('the live daemon, fuzzed', () => {
  it(
    'well-framed garbage: each bad frame gets its err (code, serial, data), never fatal, and the connection goes on',
    PROPERTY,
    async () => {
      let expectedErrors = 0;
      const before = await protocolErrors();
      await fc.assert(
        fc.asyncProperty(fc.array(wellFramed, { minLength: 1, maxLength: 24 }), cuts, async (fuzzed, at) => {
          expectAlive();
          const peer = await RawClient.open(daemon.socketPath);
          try {
            const bytes = concat(
              fuzzed.flatMap((f, k) => [
                frame(f.header, f.payload),
                encodeFrame({ t: 'ping', s: FENCE + k }),
              ]),
            );
            await writeInChunks(peer, bytes, at);
            await until(peer, () => peer.unmatched.some((f) => isFence(f, fuzzed.length - 1)));
            expect(peer.fatal, 'no fatal error').toBeUndefined();
            expect(peer.closed, 'the connection stays open').toBe(false);
            expectedErrors += checkAnswers(fuzzed, peer.unmatched);
          } finally {
            peer.close();
          }
        }),
        runs(300),
      );
      // The daemon saw each bad frame as bad exactly once.
      expect(await protocolErrors()).toBe(before + expectedErrors);
      await bystander.sync('during well-framed garbage');
    },
  );

  it(
    'the same over a WebSocket, one frame per message; a text or oversized message closes it',
    PROPERTY,
    async () => {
      const token = await daemon.wsToken();
      let expectedErrors = 0;
      const before = await protocolErrors();
      const ending = fc.constantFrom('none', 'text', 'oversized');
      await fc.assert(
        fc.asyncProperty(
          fc.array(wellFramed, { minLength: 1, maxLength: 12 }),
          ending,
          async (fuzzed, end) => {
            expectAlive();
            const ws = await WsPeer.open(`${daemon.wsUrl}/?token=${token}`);
            try {
              for (const [k, f] of fuzzed.entries()) {
                ws.socket.send(frame(f.header, f.payload));
                ws.socket.send(encodeFrame({ t: 'ping', s: FENCE + k }));
              }
              await ws.until(() => ws.frames.some((f) => isFence(f, fuzzed.length - 1)));
              expect(ws.frames.filter((f) => f.message.t === 'err' && f.message.fatal === true)).toEqual([]);
              expectedErrors += checkAnswers(fuzzed, ws.frames);
              if (end === 'text') {
                ws.socket.send('not a frame');
                expect(await ws.closed).toBe(1003);
              } else if (end === 'oversized') {
                ws.socket.send(new Uint8Array(MAX_FRAME_BYTES + 2048));
                expect(await ws.closed).toBe(1009);
              }
            } finally {
              ws.socket.terminate();
            }
          },
        ),
        runs(60),
      );
      expect(await protocolErrors()).toBe(before + expectedErrors);
      await bystander.sync('during WebSocket garbage');
    },
  );

  it(
    'the first frame fuzzed: anything but a valid hello is refused with its fatal error, and nothing after it is handled',
    PROPERTY,
    async () => {
      let expectedErrors = 0;
      const before = await protocolErrors();
      const first = fc.oneof(
        { weight: 1, arbitrary: wellFramed },
        {
          weight: 2,
          arbitrary: fc
            .tuple(helloTemplate, fc.array(mutation, { maxLength: 2 }))
            .map(([m, ms]) => ({ header: mutate(headerBytes(m), ms), payload: new Uint8Array(0) })),
        },
      );
      await fc.assert(
        fc.asyncProperty(first, cuts, async ({ header, payload }, at) => {
          expectAlive();
          const peer = await RawClient.connect(daemon.socketPath);
          try {
            // The fence after the hello: answered only if the hello was taken.
            await writeInChunks(
              peer,
              concat([frame(header, payload), encodeFrame({ t: 'ping', s: FENCE })]),
              at,
            );
            await until(peer, () => peer.unmatched.some((f) => isFence(f, 0)));
            const verdict = judge(header);
            let refusal: string | undefined;
            let mayRefuse = new Set<string>();
            if ('error' in verdict) {
              expectedErrors++;
              refusal = verdict.error.code;
            } else if (verdict.message.t !== 'hello') refusal = ErrorCode.HELLO_REQUIRED;
            else if (verdict.message.v !== 1) refusal = ErrorCode.VERSION_MISMATCH;
            else if (verdict.message.token !== undefined)
              refusal = ErrorCode.NOT_PERMITTED; // no named token here
            else if ((verdict.message.join ?? []).length > 0) {
              mayRefuse = new Set([
                ErrorCode.UNKNOWN_GROUP,
                ErrorCode.INVALID_NAME,
                ErrorCode.ALREADY_MEMBER,
              ]);
            }
            const received = peer.unmatched.map((f) => f.message);
            if (refusal === undefined && peer.welcome === undefined && received[0]?.t === 'err') {
              expect([...mayRefuse], JSON.stringify(received)).toContain(received[0].code);
              refusal = received[0].code;
            }
            if (refusal !== undefined) {
              // One fatal err, then the socket closes: the fence after it is never handled.
              expect(received, `refused with ${refusal}`).toEqual([
                expect.objectContaining({ t: 'err', code: refusal, fatal: true }),
              ]);
              await peer.whenClosed;
            } else {
              expect(peer.welcome, JSON.stringify(received)).toBeDefined();
              expect(received.some((m) => m.t === 'ok' && m.s === FENCE)).toBe(true);
              expect(received.filter((m) => m.t === 'err')).toEqual([]);
            }
          } finally {
            peer.close();
          }
        }),
        runs(150),
      );
      expect(await protocolErrors()).toBe(before + expectedErrors);
      await bystander.sync('during fuzzed handshakes');
    },
  );

  it(
    'framing errors, before or after hello and split anywhere: fatal BAD_LENGTH or FRAME_TOO_LARGE, then close',
    PROPERTY,
    async () => {
      const badPrefix = fc.oneof(
        fc.record({
          code: fc.constant(ErrorCode.BAD_LENGTH),
          headerLength: fc.constant(0),
          payloadLength: fc.nat(),
        }),
        fc
          .record({
            code: fc.constant(ErrorCode.FRAME_TOO_LARGE),
            headerLength: fc.integer({ min: 1, max: 0xffffffff }),
            payloadLength: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffffffff })),
          })
          .filter(({ headerLength, payloadLength }) => headerLength + payloadLength > MAX_FRAME_BYTES),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.boolean(),
          fc.nat(4),
          badPrefix,
          fc.uint8Array({ maxLength: 64 }),
          cuts,
          async (hello, pings, bad, trailing, at) => {
            expectAlive();
            const peer = hello
              ? await RawClient.open(daemon.socketPath)
              : await RawClient.connect(daemon.socketPath);
            try {
              const prefix = new Uint8Array(8);
              new DataView(prefix.buffer).setUint32(0, bad.headerLength);
              new DataView(prefix.buffer).setUint32(4, bad.payloadLength);
              const before = hello
                ? Array.from({ length: pings }, (_, k) => encodeFrame({ t: 'ping', s: FENCE + k }))
                : [];
              await writeInChunks(peer, concat([...before, prefix, trailing]), at);
              await until(peer, () => peer.closed);
              expect(peer.closed, 'closed by the daemon').toBe(true);
              const received = peer.unmatched.map((f) => f.message);
              expect(received).toEqual([
                ...before.map((_, k) => expect.objectContaining({ t: 'ok', s: FENCE + k })),
                expect.objectContaining({ t: 'err', code: bad.code, fatal: true }),
              ]);
            } finally {
              peer.close();
            }
          },
        ),
        runs(100),
      );
      await bystander.sync('during framing errors');
    },
  );

  it(
    'truncated frames, then the client goes: the daemon answers what was whole and forgets the rest',
    PROPERTY,
    async () => {
      const whole = fc.array(template, { maxLength: 4 });
      await fc.assert(
        fc.asyncProperty(
          fc.boolean(),
          whole,
          wellFramed,
          fc.nat(),
          cuts,
          async (hello, complete, torn, cut, at) => {
            expectAlive();
            const peer = hello
              ? await RawClient.open(daemon.socketPath)
              : await RawClient.connect(daemon.socketPath);
            const bytes = frame(torn.header, torn.payload);
            const half = bytes.subarray(0, 1 + (cut % (bytes.length - 1)));
            // Whole frames before the torn one, each followed by a fence (only after hello: before it,
            // the first whole frame would decide the handshake).
            const first = hello ? complete.map((m) => frame(headerBytes(m), new Uint8Array(0))) : [];
            await writeInChunks(
              peer,
              concat([...first.flatMap((f, k) => [f, encodeFrame({ t: 'ping', s: FENCE + k })]), half]),
              at,
            );
            if (first.length > 0)
              await until(peer, () => peer.unmatched.some((f) => isFence(f, first.length - 1)));
            expect(peer.fatal).toBeUndefined();
            for (const k of first.keys()) expect(peer.unmatched.some((f) => isFence(f, k))).toBe(true);
            // The client vanishes mid-frame, half-closing or resetting.
            if (cut % 2 === 0) peer.socket.end();
            else peer.close();
            await peer.whenClosed;
          },
        ),
        runs(100),
      );
      await bystander.sync('during truncated frames');
    },
  );

  it('afterwards: the daemon runs, holds nothing of the fuzzers, and the bystander saw every message in order', async () => {
    expectAlive();
    await bystander.stop('bystander, after all the fuzzing');
    await observer.expectOnly(bystander.names, 'after fuzzing', [STREAM]);
    const stats = await observer.stats();
    expect(stats.names).toBe(0);
    expect(stats.monitors).toBe(0);
  });
});
