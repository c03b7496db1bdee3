// Why: a flush writes each batch the engine hands out as one chunk (not one write per frame), and
// shares that chunk with the next session of the same flush pass whose batch is the same frames.
// These tests pin down that doing so keeps every connection's byte stream exact (order, contents,
// no sharing between different batches, no chunk changed after it was written) and backpressure.
import {
  decodePayload,
  encodeEmitFrame,
  encodeFrame,
  encodePayload,
  FrameDecoder,
  PROTOCOL_VERSION,
  parseServerHeader,
  type ServerMessage,
} from '@chorus/protocol';
import { describe, expect, it } from 'vitest';
import type { DaemonLimits } from './config.js';
import { Daemon } from './daemon.js';
import type { Session, SessionSocket, TransportKind } from './session.js';

/** A socket that records what it is given. `held` is what the OS has not taken (writableLength). */
class RecordingSocket implements SessionSocket {
  readonly chunks: Uint8Array[] = [];
  /** A copy of each chunk when it was written, to prove nobody changed it afterwards. */
  readonly copies: Uint8Array[] = [];
  held = 0;
  /** When true, written bytes stay in `held` (a peer that does not read); else the OS takes them. */
  stuck = false;

  get writableLength(): number {
    return this.held;
  }

  write(chunk: Uint8Array): boolean {
    this.chunks.push(chunk);
    this.copies.push(Uint8Array.from(chunk));
    if (this.stuck) this.held += chunk.byteLength;
    return !this.stuck;
  }

  cork(): void {}
  uncork(): void {}
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {}

  /** Every message written since `from` (a chunk index), decoded as the client would. */
  messages(from = 0): { message: ServerMessage; payload: unknown }[] {
    const out: { message: ServerMessage; payload: unknown }[] = [];
    const decoder = new FrameDecoder({
      frame: (header, payload) =>
        out.push({
          message: parseServerHeader(header),
          payload: payload.byteLength > 0 ? decodePayload(payload) : undefined,
        }),
      error: (error) => {
        throw error;
      },
    });
    for (const chunk of this.chunks.slice(from)) decoder.push(chunk);
    return out;
  }
}

/** One flush pass: the daemon flushes on setImmediate, queued before this one. */
const pass = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Client {
  readonly socket: RecordingSocket;
  readonly session: Session;
  send(...frames: Uint8Array[]): void;
}

async function connect(daemon: Daemon, transport: TransportKind = 'unix'): Promise<Client> {
  const socket = new RecordingSocket();
  const session = daemon.accept(socket, transport);
  if (session === undefined) throw new Error('refused');
  const send = (...frames: Uint8Array[]): void => {
    // All frames in one read, as a client's writes arrive in one chunk under load.
    const bytes = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
    let at = 0;
    for (const frame of frames) {
      bytes.set(frame, at);
      at += frame.byteLength;
    }
    session.receive(bytes);
  };
  send(encodeFrame({ t: 'hello', v: PROTOCOL_VERSION }));
  await pass();
  return { socket, session, send };
}

let serial = 100;
const join = (group: string): Uint8Array => encodeFrame({ t: 'join', s: serial++, g: group });
const emit = (group: string, n: number): Uint8Array =>
  encodeEmitFrame(serial++, group, 'Tick', encodePayload({ group, n }));

/** The signals a connection received, as `group:n`, in order, with their seqs. */
function signals(socket: RecordingSocket, from = 0): { seq: number; gseq: number; what: string }[] {
  return socket
    .messages(from)
    .filter(({ message }) => message.t === 'sig')
    .map(({ message, payload }) => {
      const sig = message as Extract<ServerMessage, { t: 'sig' }>;
      const { group, n } = payload as { group: string; n: number };
      expect(sig.g).toBe(group);
      return { seq: sig.seq, gseq: sig.gseq, what: `${group}:${n}` };
    });
}

function expectUnchanged(...sockets: RecordingSocket[]): void {
  for (const socket of sockets) {
    socket.chunks.forEach((chunk, i) => {
      expect(Uint8Array.from(chunk)).toEqual(socket.copies[i]);
    });
  }
}

async function bus(limits: Partial<DaemonLimits> = {}) {
  const daemon = new Daemon({ limits });
  const emitter = await connect(daemon);
  emitter.send(
    encodeFrame({ t: 'create', s: serial++, g: 'org.test.A' }),
    encodeFrame({ t: 'create', s: serial++, g: 'org.test.B' }),
  );
  await pass();
  return { daemon, emitter };
}

describe('write batching', () => {
  it('keeps each connection’s stream exact when batches differ, sharing only identical batches', async () => {
    const { daemon, emitter } = await bus();
    emitter.send(
      encodeFrame({ t: 'create', s: serial++, g: 'org.test.C' }),
      encodeFrame({ t: 'create', s: serial++, g: 'org.test.D' }),
    );
    const member = async (...groups: string[]) => {
      const client = await connect(daemon);
      client.send(...groups.map(join));
      await pass();
      return client;
    };
    // The pass visits the emitter (its ping's ok comes first), then A's members in join order
    // (p, q, r, t, x, y: A:1 is queued to them first), then u and w (B:1), each once.
    const p = await member('org.test.A', 'org.test.B');
    const q = await member('org.test.A', 'org.test.B');
    const r = await member('org.test.A', 'org.test.C');
    const t = await member('org.test.A');
    const x = await member('org.test.A');
    const y = await member('org.test.A', 'org.test.D');
    const web = await connect(daemon, 'ws');
    web.send(join('org.test.A'), join('org.test.B'), join('org.test.C'), join('org.test.D'));
    const u = await member('org.test.B');
    const w = await member('org.test.B', 'org.test.C', 'org.test.D');
    const all = [p, q, r, t, x, y, web, u, w];
    const before = new Map([...all, emitter].map((c) => [c, c.socket.chunks.length]));

    emitter.send(
      encodeFrame({ t: 'ping', s: serial++ }),
      emit('org.test.A', 1),
      emit('org.test.B', 1),
      emit('org.test.C', 1),
      emit('org.test.A', 2),
      emit('org.test.D', 1),
    );
    await pass();

    const got = (c: Client) => signals(c.socket, before.get(c)).map((s) => s.what);
    const [A1, B1, C1, A2, D1] = [
      'org.test.A:1',
      'org.test.B:1',
      'org.test.C:1',
      'org.test.A:2',
      'org.test.D:1',
    ];
    expect(got(p)).toEqual([A1, B1, A2]);
    expect(got(q)).toEqual([A1, B1, A2]);
    expect(got(r)).toEqual([A1, C1, A2]); // as long as q's batch, the same ends, another middle
    expect(got(t)).toEqual([A1, A2]);
    expect(got(x)).toEqual([A1, A2]);
    expect(got(y)).toEqual([A1, A2, D1]); // x's batch and one more
    expect(got(web)).toEqual([A1, B1, C1, A2, D1]);
    expect(got(u)).toEqual([B1]);
    expect(got(w)).toEqual([B1, C1, D1]); // as long as y's batch, the same last frame
    // [GUARANTEE: order] one bus order: seqs rise, and every connection has the same seq per message.
    const seqOf = new Map<string, number>();
    for (const c of all) {
      const list = signals(c.socket, before.get(c));
      for (let i = 1; i < list.length; i++) expect(list[i]!.seq).toBeGreaterThan(list[i - 1]!.seq);
      for (const { what, seq } of list) {
        expect(seqOf.get(what) ?? seq).toBe(seq);
        seqOf.set(what, seq);
      }
    }

    // One chunk per stream connection for the whole batch; one frame per WebSocket message.
    const chunks = (c: Client) => c.socket.chunks.slice(before.get(c));
    for (const c of [p, q, r, t, x, y, u, w, emitter]) expect(chunks(c)).toHaveLength(1);
    expect(chunks(web)).toHaveLength(5);
    expect(emitter.socket.messages(before.get(emitter)).map(({ message }) => message.t)).toEqual([
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
      'ok',
    ]);
    // Consecutive sessions with the same batch share its chunk; any other batch has its own.
    expect(chunks(q)[0]).toBe(chunks(p)[0]);
    expect(chunks(x)[0]).toBe(chunks(t)[0]);
    expect(chunks(r)[0]).not.toBe(chunks(q)[0]);
    expect(chunks(y)[0]).not.toBe(chunks(x)[0]);
    expect(chunks(w)[0]).not.toBe(chunks(y)[0]);

    // Later passes write new chunks and never touch those already written.
    emitter.send(emit('org.test.A', 3), emit('org.test.A', 4));
    await pass();
    expect(got(t)).toEqual([A1, A2, 'org.test.A:3', 'org.test.A:4']);
    expect(chunks(t)[1]).toBe(chunks(x)[1]);
    expectUnchanged(...all.map((c) => c.socket), emitter.socket);
  });

  it('joins frames below 16 KiB, shares the chunks with every session of the same batch; large frames go as they are', async () => {
    const { daemon, emitter } = await bus();
    const members = [await connect(daemon), await connect(daemon), await connect(daemon)];
    for (const m of members) m.send(join('org.test.A'));
    await pass();
    const before = members.map((m) => m.socket.chunks.length);
    const sizes = [10, 2_000, 40_000, 2_000, 10];
    emitter.send(
      ...sizes.map((size, n) =>
        encodeEmitFrame(
          serial++,
          'org.test.A',
          'Tick',
          encodePayload({ group: 'org.test.A', n, pad: 'x'.repeat(size) }),
        ),
      ),
    );
    await pass();
    const expected = sizes.map((_, n) => `org.test.A:${n}`);
    members.forEach((m, i) => {
      expect(signals(m.socket, before[i]).map((s) => s.what)).toEqual(expected);
    });
    const [first, second, third] = members.map((m, i) => m.socket.chunks.slice(before[i]));
    // The 40 kB frame alone between two joined runs (signals encoded straight into them), the
    // same chunks for every session of the batch.
    expect(first).toHaveLength(3);
    for (const [i, chunk] of first!.entries()) {
      expect(second![i]).toBe(chunk);
      expect(third![i]).toBe(chunk);
    }
    expectUnchanged(...members.map((m) => m.socket));
  });

  it('writes nothing more to a socket holding maxSocketBufferBytes, and all of it in order after drain', async () => {
    const max = 1024;
    const { daemon, emitter } = await bus({ maxSocketBufferBytes: max });
    const slow = await connect(daemon);
    const fast = await connect(daemon);
    slow.send(join('org.test.A'));
    fast.send(join('org.test.A'));
    await pass();
    const start = slow.socket.chunks.length;
    slow.socket.stuck = true;
    slow.socket.held = max; // full before the emits

    emitter.send(...Array.from({ length: 40 }, (_, n) => emit('org.test.A', n)));
    await pass();
    expect(slow.socket.chunks.length).toBe(start);
    expect(signals(fast.socket)).toHaveLength(40);

    // Room for a little: it takes one batch, up to maxSocketBufferBytes, then waits for 'drain'.
    slow.socket.held = 0;
    daemon.writes.schedule(slow.session); // what 'drain' does
    await pass();
    const firstBatch = slow.socket.chunks.length - start;
    expect(firstBatch).toBeGreaterThan(0);
    expect(slow.socket.held).toBeLessThan(2 * max);
    const partial = signals(slow.socket, start).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(40);
    await pass();
    expect(slow.socket.chunks.length - start).toBe(firstBatch); // no drain, no write

    slow.socket.stuck = false;
    slow.socket.held = 0;
    daemon.writes.schedule(slow.session);
    await pass();
    const got = signals(slow.socket, start);
    expect(got.map((s) => s.what)).toEqual(Array.from({ length: 40 }, (_, n) => `org.test.A:${n}`));
    expect(got.map((s) => s.seq)).toEqual(signals(fast.socket).map((s) => s.seq));
    expectUnchanged(slow.socket, fast.socket);
  });
});
