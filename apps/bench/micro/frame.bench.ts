/*
 * Micro-benchmarks of the wire codec: encoding an emit and a signal frame, and decoding a stream
 * of signal frames (framing + header parse + payload decode, what a subscriber does per message).
 */

import {
  decodePayload,
  encodeFrame,
  encodePayload,
  encodeSignalFrame,
  FrameDecoder,
  parseClientHeader,
  parseServerHeader,
} from '@chorus/protocol';
import { bench, describe } from 'vitest';
import { z } from 'zod';

const value = { i: 123_456, t: 1234.5678, pad: new Uint8Array(24) };
const payload = encodePayload(value);
const emitFrame = encodeFrame({ t: 'emit', s: 7, g: 'bench.group', sig: 'Tick' }, payload);
const signalFrame = encodeSignalFrame(1_000_000, 999_999, 'bench.group', 'Tick', ':1.42', false, payload);
const emitHeader = emitFrame.subarray(
  8,
  8 + new DataView(emitFrame.buffer, emitFrame.byteOffset).getUint32(0),
);
const signalHeader = signalFrame.subarray(
  8,
  8 + new DataView(signalFrame.buffer, signalFrame.byteOffset).getUint32(0),
);

// 256 signal frames in one chunk, as a subscriber's socket delivers them under load.
const chunk = new Uint8Array(signalFrame.byteLength * 256);
for (let k = 0; k < 256; k++) chunk.set(signalFrame, k * signalFrame.byteLength);

describe('encode', () => {
  bench('encodePayload ({ i, t, pad: 24 B })', () => {
    encodePayload(value);
  });
  bench('encodeFrame (emit)', () => {
    encodeFrame({ t: 'emit', s: 7, g: 'bench.group', sig: 'Tick' }, payload);
  });
  bench('encodeSignalFrame (the daemon fast path)', () => {
    encodeSignalFrame(1_000_000, 999_999, 'bench.group', 'Tick', ':1.42', false, payload);
  });
});

describe('decode', () => {
  bench('parseClientHeader (emit, what the daemon reads)', () => {
    parseClientHeader(emitHeader);
  });
  bench('parseServerHeader (sig)', () => {
    parseServerHeader(signalHeader);
  });
  bench('decodePayload', () => {
    decodePayload(payload);
  });
  const decoder = new FrameDecoder({
    frame(header, body) {
      parseServerHeader(header);
      decodePayload(body);
    },
    error(error) {
      throw error;
    },
  });
  bench('FrameDecoder + parse + decodePayload, 256 frames per chunk (per chunk)', () => {
    decoder.push(chunk);
  });
});

describe('validation', () => {
  // The schema the macro bench validates at both ends (apps/bench/src/systems/chorus.ts).
  const tick = z.object({ i: z.number().int().nonnegative(), t: z.number(), pad: z.instanceof(Uint8Array) });
  bench('zod safeParse of { i, t, pad }', () => {
    tick.safeParse(value);
  });
});
