import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FRAME_BYTES, FRAME_PREFIX_BYTES } from './constants.js';
import { ErrorCode, type ProtocolError } from './errors.js';
import { FrameDecoder, type FrameDecoderOptions } from './frame-decoder.js';
import { parseClientHeader } from './header-parser.js';
import { encodeFrame } from './reference/frame-encoder.js';

// Property budgets: quick locally, longer in CI (undici's fuzzing tests do the same).
const { CI } = process.env;
const RUNS = CI === undefined ? 200 : 2_000;
// Property tests get room for the CI budget; a local run stays well under a second each.
const PROPERTY_TIMEOUT = { timeout: 60_000 };

/** A hand-written FrameHandler that records what the decoder reports, in order. */
class RecordingHandler {
  readonly events: (
    | { kind: 'frame'; header: string; payload: string }
    | { kind: 'error'; error: ProtocolError }
  )[] = [];

  frame(header: Uint8Array, payload: Uint8Array): void {
    this.events.push({ kind: 'frame', header: toHex(header), payload: toHex(payload) });
  }

  error(error: ProtocolError): void {
    this.events.push({ kind: 'error', error });
  }

  get frames(): { header: string; payload: string }[] {
    return this.events.flatMap((event) =>
      event.kind === 'frame' ? [{ header: event.header, payload: event.payload }] : [],
    );
  }

  get errors(): ProtocolError[] {
    return this.events.flatMap((event) => (event.kind === 'error' ? [event.error] : []));
  }
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

function prefix(headerLength: number, payloadLength: number): Uint8Array {
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, headerLength);
  view.setUint32(4, payloadLength);
  return bytes;
}

function decoderWith(options?: FrameDecoderOptions): { decoder: FrameDecoder; handler: RecordingHandler } {
  const handler = new RecordingHandler();
  return { decoder: new FrameDecoder(handler, options), handler };
}

function pushAll(chunks: Uint8Array[], options?: FrameDecoderOptions): RecordingHandler {
  const { decoder, handler } = decoderWith(options);
  for (const chunk of chunks) decoder.push(chunk);
  return handler;
}

const ping = encodeFrame({ t: 'ping', s: 1 });
const emit = encodeFrame({ t: 'emit', s: 2, g: 'logs', sig: 'line' }, new Uint8Array([1, 2, 3, 4, 5]));
const leave = encodeFrame({ t: 'leave', s: 3, g: 'logs' }, new Uint8Array(0));
const stream = concat(ping, emit, leave);

function framesOf(...frames: Uint8Array[]): { header: string; payload: string }[] {
  return frames.map((frame) => {
    const headerLength = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
    return {
      header: toHex(frame.subarray(8, 8 + headerLength)),
      payload: toHex(frame.subarray(8 + headerLength)),
    };
  });
}

describe('FrameDecoder', PROPERTY_TIMEOUT, () => {
  it('decodes one frame given whole', () => {
    const handler = pushAll([emit]);
    expect(handler.frames).toEqual(framesOf(emit));
    expect(handler.errors).toEqual([]);
  });

  it('decodes several frames in one chunk, in order', () => {
    expect(pushAll([stream]).frames).toEqual(framesOf(ping, emit, leave));
  });

  it('delivers a zero-length payload as an empty view', () => {
    const payloads: Uint8Array[] = [];
    const decoder = new FrameDecoder({ frame: (_h, p) => payloads.push(p), error: () => {} });
    decoder.push(ping);
    expect(payloads).toHaveLength(1);
    expect(payloads[0]!.length).toBe(0);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes a stream fed one byte at a time', () => {
    const { decoder, handler } = decoderWith();
    for (let i = 0; i < stream.length; i++) {
      decoder.push(stream.subarray(i, i + 1));
      expect(decoder.bufferedBytes).toBeLessThan(FRAME_PREFIX_BYTES + DEFAULT_MAX_FRAME_BYTES);
    }
    expect(handler.frames).toEqual(framesOf(ping, emit, leave));
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes a stream split at every split point', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const handler = pushAll([stream.subarray(0, cut), stream.subarray(cut)]);
      expect(handler.frames, `cut at ${cut}`).toEqual(framesOf(ping, emit, leave));
    }
  });

  it('decodes a stream split at every pair of split points', () => {
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        const handler = pushAll([stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]);
        expect(handler.frames, `cuts at ${a}, ${b}`).toEqual(framesOf(ping, emit, leave));
      }
    }
  });

  it('reports bufferedBytes while a frame is incomplete', () => {
    const { decoder, handler } = decoderWith();
    decoder.push(emit.subarray(0, 3));
    expect(decoder.bufferedBytes).toBe(3);
    decoder.push(emit.subarray(3, 12));
    expect(decoder.bufferedBytes).toBe(12);
    decoder.push(emit.subarray(12));
    expect(decoder.bufferedBytes).toBe(0);
    expect(handler.frames).toEqual(framesOf(emit));
  });

  it('decodes a frame of exactly maxFrameBytes across many chunks', () => {
    const payload = new Uint8Array(DEFAULT_MAX_FRAME_BYTES - 11);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const frame = encodeFrame({ t: 'ping', s: 1 }, payload); // an 11-byte header
    expect(frame.length).toBe(FRAME_PREFIX_BYTES + DEFAULT_MAX_FRAME_BYTES);

    const received: Uint8Array[] = [];
    const recorder = new FrameDecoder({ frame: (_h, p) => received.push(p), error: () => {} });
    let maxBuffered = 0;
    for (let pos = 0; pos < frame.length; pos += 4099) {
      recorder.push(frame.subarray(pos, pos + 4099));
      maxBuffered = Math.max(maxBuffered, recorder.bufferedBytes);
    }
    expect(received).toHaveLength(1);
    expect(toHex(received[0]!) === toHex(payload)).toBe(true);
    expect(maxBuffered).toBeLessThan(FRAME_PREFIX_BYTES + DEFAULT_MAX_FRAME_BYTES);
    expect(recorder.failed).toBe(false);
  });

  it('decodes large frames across chunks of random sizes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 20 }),
        (payloadSizes, chunkSizes) => {
          const frames = payloadSizes.map((size, i) =>
            encodeFrame({ t: 'emit', s: i + 1, g: 'g', sig: 's' }, new Uint8Array(size).fill(i)),
          );
          const all = concat(...frames);
          const { decoder, handler } = decoderWith();
          for (let pos = 0, i = 0; pos < all.length; i++) {
            const size = chunkSizes[i % chunkSizes.length]!;
            decoder.push(all.subarray(pos, pos + size));
            pos += size;
          }
          expect(handler.frames).toEqual(framesOf(...frames));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: Math.ceil(RUNS / 10) },
    );
  });

  it('accepts a frame whose header + payload is exactly maxFrameBytes and a 1-byte header', () => {
    const handler = pushAll([prefix(1, 9), new Uint8Array(10)], { maxFrameBytes: 10 });
    expect(handler.frames).toEqual([{ header: '00', payload: '000000000000000000' }]);
  });

  it('hands out plain Uint8Array views of a Node Buffer chunk, sharing its memory', () => {
    const frame = encodeFrame({ t: 'ping', s: 1 }, new Uint8Array([7, 8, 9]));
    const chunk = Buffer.from(frame);
    const seen: Uint8Array[] = [];
    new FrameDecoder({ frame: (_header, payload) => seen.push(payload), error: () => undefined }).push(chunk);
    const [payload] = seen;
    expect(payload?.constructor).toBe(Uint8Array);
    expect(payload?.buffer).toBe(chunk.buffer);
    expect([...(payload ?? [])]).toEqual([7, 8, 9]);
    // So slice() copies, as a caller that keeps a payload expects (a Buffer's slice is a view).
    expect(payload?.slice().buffer).not.toBe(chunk.buffer);
  });

  it('ignores empty chunks', () => {
    const { decoder, handler } = decoderWith();
    decoder.push(new Uint8Array(0));
    decoder.push(ping.subarray(0, 5));
    decoder.push(new Uint8Array(0));
    decoder.push(ping.subarray(5));
    expect(handler.frames).toEqual(framesOf(ping));
  });

  it('gives frames that stay valid after later pushes (assembled buffers are never reused)', () => {
    const headers: Uint8Array[] = [];
    const decoder = new FrameDecoder({ frame: (h) => headers.push(h), error: () => {} });
    for (let i = 0; i < stream.length; i++) decoder.push(stream.slice(i, i + 1));
    expect(headers.map(toHex)).toEqual(framesOf(ping, emit, leave).map((frame) => frame.header));
  });

  it('rejects an invalid maxFrameBytes option', () => {
    for (const maxFrameBytes of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new FrameDecoder(new RecordingHandler(), { maxFrameBytes })).toThrow(RangeError);
    }
    expect(new FrameDecoder(new RecordingHandler()).maxFrameBytes).toBe(DEFAULT_MAX_FRAME_BYTES);
  });

  describe('errors', () => {
    it(`${ErrorCode.BAD_LENGTH}: header length 0`, () => {
      const handler = pushAll([prefix(0, 4), new Uint8Array(4)]);
      expect(handler.frames).toEqual([]);
      expect(handler.errors).toHaveLength(1);
      const [error] = handler.errors;
      expect(error!.code).toBe(ErrorCode.BAD_LENGTH);
      expect(error!.fatal).toBe(true);
      expect(error!.serial).toBeUndefined();
    });

    it(`${ErrorCode.FRAME_TOO_LARGE}: header + payload over maxFrameBytes`, () => {
      const handler = pushAll([prefix(1, 10)], { maxFrameBytes: 10 });
      expect(handler.errors.map((e) => [e.code, e.fatal])).toEqual([[ErrorCode.FRAME_TOO_LARGE, true]]);
    });

    it(`${ErrorCode.FRAME_TOO_LARGE}: lengths whose sum overflows 32 bits`, () => {
      const handler = pushAll([prefix(0xffff_ffff, 0xffff_ffff)]);
      expect(handler.errors.map((e) => e.code)).toEqual([ErrorCode.FRAME_TOO_LARGE]);
    });

    it('reports the error as soon as the prefix is complete, before any body byte', () => {
      const { decoder, handler } = decoderWith({ maxFrameBytes: 100 });
      const bad = prefix(50, 51);
      decoder.push(bad.subarray(0, 7));
      expect(handler.errors).toEqual([]);
      decoder.push(bad.subarray(7));
      expect(handler.errors.map((e) => e.code)).toEqual([ErrorCode.FRAME_TOO_LARGE]);
      expect(decoder.bufferedBytes).toBe(0);
    });

    // Issue 11: a first length of 0xFFFFFFFF was acted on only once all 8 prefix bytes arrived;
    // a client that sent 4 held its connection until the hello deadline.
    it(`${ErrorCode.FRAME_TOO_LARGE}: as soon as the header length alone is too large, fed 1, 2, 3 or 4 bytes at a time`, () => {
      const bad = prefix(0xffff_ffff, 0);
      for (const step of [1, 2, 3, 4]) {
        const { decoder, handler } = decoderWith({ maxFrameBytes: 100 });
        for (let at = 0; at < 4; at += step) {
          expect(handler.errors, `step ${step}, before byte ${at}`).toEqual([]);
          decoder.push(bad.subarray(at, Math.min(at + step, 4)));
        }
        expect(
          handler.errors.map((e) => [e.code, e.fatal]),
          `step ${step}`,
        ).toEqual([[ErrorCode.FRAME_TOO_LARGE, true]]);
        expect(decoder.failed).toBe(true);
        expect(decoder.bufferedBytes).toBe(0);
        decoder.push(bad.subarray(4));
        expect(handler.events).toHaveLength(1);
      }
    });

    it('waits for the payload length when the header length alone fits', () => {
      const { decoder, handler } = decoderWith({ maxFrameBytes: 100 });
      decoder.push(prefix(100, 0).subarray(0, 4));
      expect(handler.errors).toEqual([]);
      expect(decoder.bufferedBytes).toBe(4);
    });

    it(`${ErrorCode.BAD_LENGTH}: as soon as the header length 0 is read`, () => {
      const { decoder, handler } = decoderWith();
      decoder.push(prefix(0, 4).subarray(0, 4));
      expect(handler.errors.map((e) => e.code)).toEqual([ErrorCode.BAD_LENGTH]);
    });

    it('emits the frames before the error, then nothing more', () => {
      const { decoder, handler } = decoderWith();
      decoder.push(concat(ping, prefix(0, 0), emit));
      decoder.push(leave);
      decoder.push(stream);
      expect(handler.events.map((event) => event.kind)).toEqual(['frame', 'error']);
      expect(decoder.failed).toBe(true);
      expect(decoder.bufferedBytes).toBe(0);
    });

    it('stops when the handler throws, and lets the exception through', () => {
      let calls = 0;
      const decoder = new FrameDecoder({
        frame: () => {
          calls++;
          throw new Error('handler bug');
        },
        error: () => {},
      });
      expect(() => decoder.push(stream)).toThrow('handler bug');
      expect(decoder.failed).toBe(true);
      decoder.push(stream);
      expect(calls).toBe(1);
    });
  });

  describe('properties', () => {
    // Checks every invariant of the handler contract on one run.
    function run(chunks: Uint8Array[], maxFrameBytes: number): RecordingHandler {
      const { decoder, handler } = decoderWith({ maxFrameBytes });
      for (const chunk of chunks) {
        expect(() => decoder.push(chunk)).not.toThrow();
        expect(decoder.bufferedBytes).toBeLessThanOrEqual(FRAME_PREFIX_BYTES + maxFrameBytes);
        expect(decoder.bufferedBytes).toBeGreaterThanOrEqual(0);
      }
      const kinds = handler.events.map((event) => event.kind);
      const firstError = kinds.indexOf('error');
      if (firstError >= 0) {
        // [mqtt-packet] parse errors are not followed by packet events
        expect(firstError).toBe(kinds.length - 1);
        expect(decoder.failed).toBe(true);
        expect([ErrorCode.BAD_LENGTH, ErrorCode.FRAME_TOO_LARGE]).toContain(handler.errors[0]!.code);
      }
      for (const frame of handler.frames) {
        expect(frame.header.length).toBeGreaterThan(0);
        expect((frame.header.length + frame.payload.length) / 2).toBeLessThanOrEqual(maxFrameBytes);
      }
      return handler;
    }

    /** Splits `bytes` at the given cut points (any order, clamped). */
    function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
      const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
      const chunks: Uint8Array[] = [];
      let last = 0;
      for (const point of points) {
        chunks.push(bytes.subarray(last, point));
        last = point;
      }
      chunks.push(bytes.subarray(last));
      return chunks;
    }

    const validFrame = fc
      .tuple(
        fc.constantFrom(ping, emit, leave, encodeFrame({ t: 'hello', v: 1, client: 'x'.repeat(40) })),
        fc.uint8Array({ maxLength: 300 }),
      )
      .map(([frame, payload]) => {
        const headerLength = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
        return concat(prefix(headerLength, payload.length), frame.subarray(8, 8 + headerLength), payload);
      });
    const validStream = fc.array(validFrame, { maxLength: 6 }).map((frames) => concat(...frames));
    const maxFrameBytes = fc.integer({ min: 1, max: 400 });

    it('random bytes: never throws, bounded buffer, nothing after an error', () => {
      fc.assert(
        fc.property(
          fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }),
          maxFrameBytes,
          (chunks, max) => {
            run(chunks, max);
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('random lengths in prefixes: only frame or error callbacks', () => {
      const chunk = fc
        .tuple(
          fc.integer({ min: 0, max: 0xffff_ffff }),
          fc.integer({ min: 0, max: 0xffff_ffff }),
          fc.uint8Array(),
        )
        .map(([h, p, rest]) => concat(prefix(h % 3 === 0 ? h : h % 512, p % 5 === 0 ? p : p % 512), rest));
      fc.assert(
        fc.property(fc.array(chunk, { maxLength: 8 }), maxFrameBytes, (chunks, max) => {
          run(chunks, max);
        }),
        { numRuns: RUNS },
      );
    });

    it('valid streams split anywhere: the same frames as one push', () => {
      fc.assert(
        fc.property(validStream, fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) => {
          const whole = run([bytes], DEFAULT_MAX_FRAME_BYTES);
          const pieces = run(split(bytes, cuts), DEFAULT_MAX_FRAME_BYTES);
          expect(pieces.events).toEqual(whole.events);
          expect(whole.errors).toEqual([]);
          for (const frame of whole.frames) {
            expect(() => parseClientHeader(Uint8Array.from(Buffer.from(frame.header, 'hex')))).not.toThrow();
          }
        }),
        { numRuns: RUNS },
      );
    });

    it('mutated valid streams: never throws, headers parse or fail with a header code', () => {
      const mutation = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }));
      fc.assert(
        fc.property(
          validStream,
          fc.array(mutation, { minLength: 1, maxLength: 6 }),
          fc.array(fc.nat()),
          maxFrameBytes,
          (bytes, mutations, cuts, max) => {
            const mutated = bytes.slice();
            for (const [at, value] of mutations) if (mutated.length > 0) mutated[at % mutated.length] = value;
            const handler = run(split(mutated, cuts), Math.max(max, 200));
            for (const frame of handler.frames) {
              try {
                parseClientHeader(Uint8Array.from(Buffer.from(frame.header, 'hex')));
              } catch (error) {
                expect((error as ProtocolError).code).toMatch(/^(BAD_MSGPACK|UNKNOWN_TYPE|BAD_FIELD)$/);
              }
            }
          },
        ),
        { numRuns: RUNS },
      );
    });

    it('truncated valid streams: the complete frames, the rest buffered, no error', () => {
      fc.assert(
        fc.property(validStream, fc.nat(), fc.array(fc.nat(), { maxLength: 6 }), (bytes, cut, cuts) => {
          const length = cut % (bytes.length + 1);
          const { decoder, handler } = decoderWith();
          for (const chunk of split(bytes.subarray(0, length), cuts)) decoder.push(chunk);
          const full = run([bytes], DEFAULT_MAX_FRAME_BYTES);
          expect(handler.errors).toEqual([]);
          expect(full.frames.slice(0, handler.frames.length)).toEqual(handler.frames);
          const delivered = handler.frames.reduce(
            (sum, f) => sum + 8 + (f.header.length + f.payload.length) / 2,
            0,
          );
          expect(decoder.bufferedBytes).toBe(length - delivered);
        }),
        { numRuns: RUNS },
      );
    });
  });
});
