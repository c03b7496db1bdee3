import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAME_PREFIX_BYTES } from './constants.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { FrameDecoder } from './frame-decoder.js';
import { encodeFrame, encodeSignalFrame } from './frame-encoder.js';
import { parseServerHeader } from './header-parser.js';
import type { SignalMessage } from './messages.js';
import { encodePayload } from './payload.js';

const { CI } = process.env;
const RUNS = CI === undefined ? 200 : 2_000;
// Property tests get room for the CI budget; a local run stays well under a second each.
const PROPERTY_TIMEOUT = { timeout: 60_000 };

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** Splits a frame into its header and payload with the real decoder. */
function unframe(frame: Uint8Array): { header: Uint8Array; payload: Uint8Array } {
  const found: { header: Uint8Array; payload: Uint8Array }[] = [];
  const decoder = new FrameDecoder({
    frame: (header, payload) => found.push({ header, payload }),
    error: (error) => {
      throw error;
    },
  });
  decoder.push(frame);
  expect(found).toHaveLength(1);
  expect(decoder.bufferedBytes).toBe(0);
  return found[0]!;
}

describe('encodeFrame', () => {
  it('writes the prefix, the header and the payload contiguously', () => {
    const payload = encodePayload('hi');
    const frame = encodeFrame({ t: 'emit', s: 1, g: 'g', sig: 's' }, payload);
    const view = new DataView(frame.buffer, frame.byteOffset, frame.length);
    const headerLength = view.getUint32(0);
    expect(view.getUint32(4)).toBe(payload.length);
    expect(frame.length).toBe(FRAME_PREFIX_BYTES + headerLength + payload.length);
    expect(frame.byteOffset).toBe(0);
    expect(frame.buffer.byteLength).toBe(frame.length);
    expect(toHex(frame.subarray(FRAME_PREFIX_BYTES + headerLength))).toBe(toHex(payload));
  });

  it('matches the hex example of the README', () => {
    expect(toHex(encodeFrame({ t: 'ping', s: 1 }))).toBe('0000000b0000000082a174a470696e67a17301');
    expect(toHex(encodeFrame({ t: 'emit', s: 2, g: 'logs', sig: 'line' }, encodePayload('hi')))).toBe(
      '0000001b00000003' + '84a174a4656d6974a17302a167a46c6f6773a3736967a46c696e65' + 'a26869',
    );
  });

  it('leaves out undefined optional fields', () => {
    const header = unframe(encodeFrame({ t: 'ok', s: 1, r: undefined })).header;
    expect(toHex(header)).toBe(toHex(unframe(encodeFrame({ t: 'ok', s: 1 })).header));
  });

  it('returns independent buffers', () => {
    const a = encodeFrame({ t: 'ping', s: 1 });
    const b = encodeFrame({ t: 'ping', s: 2 });
    expect(toHex(a)).not.toBe(toHex(b));
    expect(parseServerHeader(unframe(encodeFrame({ t: 'ok', s: 1 })).header)).toEqual({ t: 'ok', s: 1 });
  });

  it(`throws ${ErrorCode.BAD_MSGPACK} for a header value MessagePack cannot hold`, () => {
    expect(() => encodeFrame({ t: 'create', s: 1, g: 'x', schema: () => 1 })).toThrow(ProtocolError);
    expect(() => encodeFrame({ t: 'create', s: 1, g: 'x', schema: 1n })).toThrow(
      expect.objectContaining({ code: ErrorCode.BAD_MSGPACK }),
    );
  });
});

describe('encodeSignalFrame', PROPERTY_TIMEOUT, () => {
  function viaEncodeFrame(
    seq: number,
    gseq: number,
    g: string,
    sig: string,
    from: string,
    retained: boolean,
    payload: Uint8Array,
  ): Uint8Array {
    const message: SignalMessage = { t: 'sig', seq, gseq, g, sig, from };
    if (retained) message.r = true;
    return encodeFrame(message, payload);
  }

  it('is byte for byte what encodeFrame produces', () => {
    const payload = encodePayload({ line: 'hello' });
    for (const retained of [false, true]) {
      expect(toHex(encodeSignalFrame(42, 8, 'logs', 'line', ':1.3', retained, payload))).toBe(
        toHex(viaEncodeFrame(42, 8, 'logs', 'line', ':1.3', retained, payload)),
      );
    }
  });

  it('uses every integer width and string length class', () => {
    const seqs = [0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
    const names = [
      '',
      'a',
      'x'.repeat(31),
      'x'.repeat(32),
      'x'.repeat(255),
      'x'.repeat(256),
      'x'.repeat(70_000),
    ];
    for (const seq of seqs) {
      for (const name of names) {
        expect(toHex(encodeSignalFrame(seq, seq, name, 'sig', ':1.1', false, new Uint8Array(0)))).toBe(
          toHex(viaEncodeFrame(seq, seq, name, 'sig', ':1.1', false, new Uint8Array(0))),
        );
      }
    }
  });

  it('encodes non-ASCII names as UTF-8', () => {
    for (const name of ['café', 'Ωμέγα', '日本語', 'emoji 🎉 ok', 'é'.repeat(40)]) {
      const frame = encodeSignalFrame(1, 1, name, name, name, false, new Uint8Array(0));
      expect(toHex(frame)).toBe(toHex(viaEncodeFrame(1, 1, name, name, name, false, new Uint8Array(0))));
      expect(parseServerHeader(unframe(frame).header)).toMatchObject({ g: name, sig: name, from: name });
    }
  });

  it('replaces a lone surrogate with U+FFFD', () => {
    const frame = encodeSignalFrame(1, 1, 'a\ud800b', 's', ':1.1', false, new Uint8Array(0));
    expect(parseServerHeader(unframe(frame).header)).toMatchObject({ g: 'a\ufffdb' });
  });

  it('round-trips through the decoder and parseServerHeader (property)', () => {
    const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 });
    fc.assert(
      fc.property(
        fc.maxSafeNat(),
        fc.maxSafeNat(),
        name,
        name,
        name,
        fc.boolean(),
        fc.uint8Array({ maxLength: 64 }),
        (seq, gseq, g, sig, from, retained, payload) => {
          const frame = encodeSignalFrame(seq, gseq, g, sig, from, retained, payload);
          expect(toHex(frame)).toBe(toHex(viaEncodeFrame(seq, gseq, g, sig, from, retained, payload)));
          const { header, payload: received } = unframe(frame);
          const expected: SignalMessage = { t: 'sig', seq, gseq, g, sig, from };
          if (retained) expected.r = true;
          expect(parseServerHeader(header)).toStrictEqual(expected);
          expect(toHex(received)).toBe(toHex(payload));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
