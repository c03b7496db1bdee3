/*
 * The SDK's receive path, per delivered signal, without a socket: chunks of `sig` frames (as the
 * daemon writes them) pushed into a connected Bus over the in-memory transport, through framing,
 * the header fast path, payload decoding, zod validation and a handler. The daemon's end is a
 * minimal one written here: it answers the handshake and the join, then only sends.
 *
 * Two shapes of input: 256 small signals in one chunk, and 1 KiB signals cut into 64 KiB chunks
 * as a socket reads them under load (whole reads of 64 KiB, so about one frame in 62 is split
 * across two reads). The chunks come from a ring of a few MiB, copied into a fresh buffer per
 * read as a socket does: a ring of every message ever sent would make the benchmark's own heap,
 * not the receive path, what the garbage collector spends its time on (measured on 2026-12-04:
 * 100 MB of prebuilt 1 KiB frames cost 5 full collections of 10-34 ms in a 0.3 s run).
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

/** A socket read's size in Node (libuv's suggested size), what a subscriber under load gets. */
const READ_BYTES = 65_536;
/** Bytes of 1 KiB signals in the ring: a few MiB, like a socket's reads between two scavenges. */
const RING_BYTES = 4 * 1024 * 1024;

/** `count` signals of `padBytes` padding, consecutive sequence numbers from `first`, end to end. */
function stream(first: number, count: number, padBytes: number): Buffer {
  const pad = new Uint8Array(padBytes);
  const frames: Uint8Array[] = [];
  for (let seq = first; seq < first + count; seq++) {
    const payload = encodePayload({ i: seq, t: 1234.5678, pad });
    frames.push(encodeSignalFrame(seq, seq, 'bench.Fan', 'Tick', ':1.7', false, payload));
  }
  return Buffer.concat(frames);
}

/** Chunks of FRAMES_PER_CHUNK frames with consecutive sequence numbers, built ahead of time. */
function chunks(count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let c = 0; c < count; c++) out.push(stream(1 + c * FRAMES_PER_CHUNK, FRAMES_PER_CHUNK, 24));
  return out;
}

/**
 * A ring of 1 KiB signals cut into reads of READ_BYTES (the last frame of a read usually goes on
 * in the next), with the number of frames each read completes.
 */
function reads(): { chunks: Buffer[]; completes: number[] } {
  // Numbers from 2^16 on are all written in 5 bytes (uint32): every frame is the same size.
  const first = 0x1_0000;
  const frameBytes = stream(first, 1, 1000).byteLength;
  const count = Math.floor(RING_BYTES / frameBytes);
  const all = stream(first, count, 1000);
  const out: Buffer[] = [];
  const completes: number[] = [];
  let done = 0;
  // Whole frames only at the end of the ring, so that it can be sent again from the start.
  const end = count * frameBytes;
  for (let at = 0; at < end; at += READ_BYTES) {
    const stop = Math.min(end, at + READ_BYTES);
    out.push(all.subarray(at, stop));
    const total = Math.floor(stop / frameBytes);
    completes.push(total - done);
    done = total;
  }
  return { chunks: out, completes };
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
    if (++received >= wanted) done?.();
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

  const ring = reads();
  let read = 0;
  const READS_PER_ITERATION = 4;
  bench(
    `1 KiB signals in ${READS_PER_ITERATION} reads of 64 KiB, frames split across reads (per ${READS_PER_ITERATION} reads, ~250 signals)`,
    async () => {
      let frames = 0;
      for (let k = 0; k < READS_PER_ITERATION; k++)
        frames += ring.completes[(read + k) % ring.chunks.length] as number;
      wanted = received + frames;
      const all = new Promise<void>((resolve) => {
        done = resolve;
      });
      for (let k = 0; k < READS_PER_ITERATION; k++) {
        // A fresh buffer per read, as a socket's; only the first byte of the ring starts a frame.
        daemonEnd.write(Buffer.from(ring.chunks[read++ % ring.chunks.length] as Buffer));
      }
      if (frames === 0) return;
      await all;
    },
  );
});
