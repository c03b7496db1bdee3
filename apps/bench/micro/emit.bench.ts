/*
 * The SDK's emit path, per emit, without a socket: a connected Bus over the in-memory transport
 * emitting { i, t, pad } pipelined (1024 in flight from the app, maxInFlight 256 on the wire, so
 * most emits wait for room), through zod validation, payload encoding into the frame, the window,
 * the reply's fast path and the promise the app awaits. The daemon's end is a minimal one written
 * here: it answers the handshake and create, then one `ok` per emit, batched per chunk it reads
 * (as chorusd does). Its cost is in the numbers too, the same for every version of the SDK.
 */

import { connect, createMemoryTransportPair, defineGroup, z } from '@chorus/client';
import {
  encodeEmitReplyFrame,
  encodeFrame,
  FrameDecoder,
  parseClientHeader,
  type ServerMessage,
} from '@chorus/protocol';
import { bench, describe } from 'vitest';

const EMITS = 1024;
const Tick = defineGroup('bench.Fan', {
  signals: {
    Tick: z.object({ i: z.number().int().nonnegative(), t: z.number(), pad: z.instanceof(Uint8Array) }),
  },
});

describe('emit', async () => {
  const [clientEnd, daemonEnd] = createMemoryTransportPair();
  let replies: Uint8Array[] = [];
  const send = (message: ServerMessage) => replies.push(encodeFrame(message));
  let seq = 0;
  const requests = new FrameDecoder({
    frame(header) {
      const message = parseClientHeader(header);
      if (message.t === 'hello') {
        const limits = { maxFrameBytes: 1 << 20, maxQueueBytes: 8 << 20 };
        send({ t: 'welcome', v: 1, name: ':1.1', seq: 0, limits, joined: [] });
      } else if (message.t === 'emit') {
        seq++;
        replies.push(encodeEmitReplyFrame(message.s, seq, seq, 10));
      } else if ('s' in message && typeof message.s === 'number') {
        send({ t: 'ok', s: message.s, r: {} });
      }
    },
    error(error) {
      throw error;
    },
  });
  void (async () => {
    for await (const chunk of daemonEnd) {
      requests.push(chunk);
      if (replies.length > 0) {
        daemonEnd.write(replies.length === 1 ? (replies[0] as Uint8Array) : Buffer.concat(replies));
        replies = [];
      }
    }
  })();
  const bus = await connect({ transport: clientEnd, reconnect: false, maxInFlight: 256 });
  const group = await bus.createGroup(Tick);
  const pad = new Uint8Array(40);
  const window: Promise<unknown>[] = [];
  let i = 0;

  bench(`${EMITS} pipelined emits of { i, t, pad: 40 B }, each awaited (per ${EMITS})`, async () => {
    for (let k = 0; k < EMITS; k++, i++) {
      const old = window[i % EMITS];
      window[i % EMITS] = group.emit('Tick', { i, t: 1234.5678, pad });
      if (old !== undefined) await old;
    }
    await window[(i - 1) % EMITS];
  });
});
