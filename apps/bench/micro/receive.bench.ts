/*
 * The SDK's receive path, per delivered signal, without a socket: chunks of `sig` frames (as the
 * daemon writes them) pushed into a connected Bus over the in-memory transport, through framing,
 * the header fast path, payload decoding, zod validation and a handler. The daemon's end is a
 * minimal one written here: it answers the handshake and the join, then only sends.
 */

import { connect, createMemoryTransportPair, defineGroup, z } from '@chorus/client';
import {
  encodeFrame,
  encodePayload,
  encodeSignalFrame,
  FrameDecoder,
  parseClientHeader,
  type ServerMessage,
} from '@chorus/protocol';
import { bench, describe } from 'vitest';

const FRAMES_PER_CHUNK = 256;
const Tick = defineGroup('bench.Fan', {
  signals: {
    Tick: z.object({ i: z.number().int().nonnegative(), t: z.number(), pad: z.instanceof(Uint8Array) }),
  },
});

/** Chunks of FRAMES_PER_CHUNK frames with consecutive sequence numbers, built ahead of time. */
function chunks(count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seq = 1;
  const pad = new Uint8Array(24);
  for (let c = 0; c < count; c++) {
    const frames: Uint8Array[] = [];
    for (let k = 0; k < FRAMES_PER_CHUNK; k++, seq++) {
      const payload = encodePayload({ i: seq, t: 1234.5678, pad });
      frames.push(encodeSignalFrame(seq, seq, 'bench.Fan', 'Tick', ':1.7', false, payload));
    }
    out.push(Buffer.concat(frames));
  }
  return out;
}

describe('receive', async () => {
  const [clientEnd, daemonEnd] = createMemoryTransportPair();
  const send = (message: ServerMessage) => daemonEnd.write(encodeFrame(message));
  const answers = new FrameDecoder({
    frame(header) {
      const message = parseClientHeader(header);
      if (message.t === 'hello') {
        const limits = { maxFrameBytes: 1 << 20, maxQueueBytes: 8 << 20 };
        send({ t: 'welcome', v: 1, name: ':1.1', seq: 0, limits, joined: [] });
      } else if (message.t === 'join') {
        send({ t: 'ok', s: message.s, r: { startSeq: 1, startGroupSeq: 1 } });
      } else if (message.t === 'call') {
        // A typed join asks for the group's published schema first: none published (untyped).
        daemonEnd.write(encodeFrame({ t: 'ok', s: message.s }, encodePayload({ schema: null })));
      } else if ('s' in message && typeof message.s === 'number') {
        send({ t: 'ok', s: message.s, r: {} });
      }
    },
    error(error) {
      throw error;
    },
  });
  void (async () => {
    for await (const chunk of daemonEnd) answers.push(chunk);
  })();
  const bus = await connect({ transport: clientEnd, reconnect: false });
  const sub = await bus.join(Tick);
  let received = 0;
  let wanted = 0;
  let done: (() => void) | undefined;
  sub.on('Tick', () => {
    if (++received === wanted) done?.();
  });
  const ready = chunks(64);
  let next = 0;
  bench(
    `${FRAMES_PER_CHUNK} signals in one chunk: frame, header, decode, zod, handler (per chunk)`,
    async () => {
      wanted = received + FRAMES_PER_CHUNK;
      const all = new Promise<void>((resolve) => {
        done = resolve;
      });
      daemonEnd.write(ready[next++ % ready.length] as Uint8Array);
      await all;
    },
  );
});
