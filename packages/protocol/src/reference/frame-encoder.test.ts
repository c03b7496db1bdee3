// The reference frame encoder: the frame layout, the README's hex examples, and its errors.

import { describe, expect, it } from 'vitest';
import { FRAME_PREFIX_BYTES } from '../constants.js';
import { ErrorCode, ProtocolError } from '../errors.js';
import { FrameDecoder } from '../frame-decoder.js';
import { parseServerHeader } from '../header-parser.js';
import { encodePayload } from '../payload.js';
import { encodeFrame } from './frame-encoder.js';

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
