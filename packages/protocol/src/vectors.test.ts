// The language-neutral test vectors (../vectors/*.json, the wire spec's exact bytes) checked
// against this codec, so the vectors and the implementation cannot drift. The Python client
// (packages/client-python) runs the same files. Regenerate with scripts/make-vectors.mjs.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  encodeFrame,
  encodePayload,
  FrameDecoder,
  type ProtocolError,
  parseClientHeader,
  parseServerHeader,
} from './index.js';

type Direction = 'client' | 'daemon';

function load<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(`../vectors/${file}`, import.meta.url), 'utf8')) as T;
}

const toHex = (bytes: Uint8Array) =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));
const parserOf = (direction: Direction) => (direction === 'client' ? parseClientHeader : parseServerHeader);

/** Tagged JSON (vectors/README.md) to the value this codec decodes. */
function untag(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untag);
  if (value !== null && typeof value === 'object') {
    const tagged = value as Record<string, unknown>;
    if ('$bin' in tagged) return fromHex(tagged['$bin'] as string);
    // TypeScript reads an integer beyond 2^53 as the nearest double.
    if ('$int' in tagged) return Number(BigInt(tagged['$int'] as string));
    if ('$float' in tagged) return tagged['$float'];
    return Object.fromEntries(Object.entries(tagged).map(([k, v]) => [k, untag(v)]));
  }
  return value;
}

/** Decoded values with bin as its tag, so toEqual compares bytes, not views. */
function comparable(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bin: toHex(value) };
  if (Array.isArray(value)) return value.map(comparable);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, comparable(v)]));
  }
  return value;
}

interface FrameVector {
  name: string;
  direction: Direction;
  hex: string;
  header: Record<string, unknown>;
  payload?: unknown;
}

describe('vectors/frames.json', () => {
  const { frames } = load<{ frames: FrameVector[] }>('frames.json');

  it('covers every message type of both directions', () => {
    const types = (direction: Direction) =>
      [...new Set(frames.filter((f) => f.direction === direction).map((f) => f.header['t']))].sort();
    expect(types('client')).toEqual(
      [
        'call',
        'cancel',
        'close',
        'create',
        'emit',
        'fail',
        'hello',
        'join',
        'leave',
        'monitor',
        'ping',
        'ret',
      ].sort(),
    );
    expect(types('daemon')).toEqual(
      ['abort', 'bye', 'err', 'gclosed', 'invoke', 'ok', 'sig', 'welcome'].sort(),
    );
  });

  for (const vector of frames) {
    it(`${vector.direction}: ${vector.name}`, () => {
      const payload = vector.payload === undefined ? new Uint8Array(0) : encodePayload(untag(vector.payload));
      expect(toHex(encodeFrame(vector.header as never, payload))).toBe(vector.hex);
      const received: [Uint8Array, Uint8Array][] = [];
      const decoder = new FrameDecoder({
        frame: (header, body) => received.push([header.slice(), body.slice()]),
        error: (error) => {
          throw error;
        },
      });
      // One byte at a time: a receiver must not depend on how the stream is cut.
      for (const byte of fromHex(vector.hex)) decoder.push(new Uint8Array([byte]));
      expect(received).toHaveLength(1);
      const [header, body] = received[0] as [Uint8Array, Uint8Array];
      expect(parserOf(vector.direction)(header)).toStrictEqual(vector.header);
      if (vector.payload === undefined) expect(body.byteLength).toBe(0);
      else expect(comparable(decodePayload(body))).toEqual(comparable(untag(vector.payload)));
    });
  }
});

interface HeaderErrorVector {
  name: string;
  direction: Direction;
  headerHex: string;
  error: { code: string; serial?: number; path?: (string | number)[] };
}

describe('vectors/header-errors.json', () => {
  const { errors, lenient } = load<{
    errors: HeaderErrorVector[];
    lenient: { name: string; direction: Direction; headerHex: string; header: unknown }[];
  }>('header-errors.json');

  for (const vector of errors) {
    it(`${vector.direction}: ${vector.name}`, () => {
      let caught: ProtocolError | undefined;
      try {
        parserOf(vector.direction)(fromHex(vector.headerHex));
      } catch (error) {
        caught = error as ProtocolError;
      }
      expect(caught?.code).toBe(vector.error.code);
      expect(caught?.fatal).toBe(false);
      expect(caught?.serial).toBe(vector.error.serial);
      expect(caught?.data).toEqual(vector.error.path === undefined ? undefined : { path: vector.error.path });
    });
  }

  for (const vector of lenient) {
    it(`${vector.direction} accepts: ${vector.name}`, () => {
      expect(parserOf(vector.direction)(fromHex(vector.headerHex))).toStrictEqual(vector.header);
    });
  }
});

describe('vectors/framing.json', () => {
  const { streams } = load<{
    streams: {
      name: string;
      maxFrameBytes: number;
      streamHex: string;
      frames: number;
      error?: { code: string };
    }[];
  }>('framing.json');

  for (const vector of streams) {
    it(vector.name, () => {
      let frames = 0;
      let failure: ProtocolError | undefined;
      const decoder = new FrameDecoder(
        { frame: () => frames++, error: (error) => (failure = error) },
        { maxFrameBytes: vector.maxFrameBytes },
      );
      decoder.push(fromHex(vector.streamHex));
      expect(frames).toBe(vector.frames);
      expect(failure?.code).toBe(vector.error?.code);
      if (failure !== undefined) expect(failure.fatal).toBe(true);
    });
  }
});

describe('vectors/payloads.json', () => {
  const { payloads } = load<{
    payloads: { name: string; hex: string; value?: unknown; empty?: boolean; tsEncodes: boolean }[];
  }>('payloads.json');

  for (const vector of payloads) {
    it(vector.name, () => {
      const bytes = fromHex(vector.hex);
      if (vector.empty === true) {
        expect(decodePayload(bytes)).toBeUndefined();
        expect(encodePayload(undefined).byteLength).toBe(0);
        return;
      }
      expect(comparable(decodePayload(bytes))).toEqual(comparable(untag(vector.value)));
      if (vector.tsEncodes) expect(toHex(encodePayload(untag(vector.value)))).toBe(vector.hex);
    });
  }
});
