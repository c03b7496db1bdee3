// Why: the SDK reads every socket into one shared buffer, which the next read overwrites. A
// decoded value that kept a view of it would change under the application's feet; these tests
// pin down that bin and ext values decoded from it are copies, and that `kept` copies exactly.
import { ExtData } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodePayload, encodePayload } from './payload.js';
import { isTransient, kept, READ_BUFFER_BYTES, sharedReadBuffer } from './read-buffer.js';

/** `bytes` written into the shared read buffer at `at`, as a socket read would leave them. */
function inReadBuffer(bytes: Uint8Array, at = 100): Uint8Array {
  const shared = sharedReadBuffer();
  shared.set(bytes, at);
  return shared.subarray(at, at + bytes.byteLength);
}

describe('the shared read buffer', () => {
  it('is one buffer of READ_BUFFER_BYTES, and only its views are transient', () => {
    expect(sharedReadBuffer()).toBe(sharedReadBuffer());
    expect(sharedReadBuffer().byteLength).toBe(READ_BUFFER_BYTES);
    expect(isTransient(sharedReadBuffer().subarray(5, 9))).toBe(true);
    expect(isTransient(new Uint8Array(8))).toBe(false);
  });

  it('kept copies a view of it exactly, and returns other bytes as they are', () => {
    const view = inReadBuffer(Uint8Array.of(1, 2, 3, 4));
    const copy = kept(view);
    expect(copy).not.toBe(view);
    expect(isTransient(copy)).toBe(false);
    sharedReadBuffer().fill(0);
    expect([...copy]).toEqual([1, 2, 3, 4]);
    const own = Uint8Array.of(5);
    expect(kept(own)).toBe(own);
    // An empty view (an emit's answer has no payload) has nothing to overwrite: no copy per answer.
    const empty = sharedReadBuffer().subarray(3, 3);
    expect(kept(empty)).toBe(empty);
  });

  it('decodes bin values read from it as copies: the next read does not change them', () => {
    const pad = new Uint8Array(300).map((_, i) => i & 0xff);
    const view = inReadBuffer(encodePayload({ n: 1, pad, list: [Uint8Array.of(9, 9)] }));
    const value = decodePayload(view) as { n: number; pad: Uint8Array; list: Uint8Array[] };
    sharedReadBuffer().fill(0xee); // the next read
    expect(value.n).toBe(1);
    expect([...value.pad]).toEqual([...pad]);
    expect([...(value.list[0] as Uint8Array)]).toEqual([9, 9]);
  });

  it('decodes ext values read from it from a copy', () => {
    const view = inReadBuffer(encodePayload({ x: new ExtData(7, Uint8Array.of(1, 2, 3)) }));
    const value = decodePayload(view) as { x: ExtData };
    sharedReadBuffer().fill(0);
    expect(value.x.type).toBe(7);
    expect([...(value.x.data as Uint8Array)]).toEqual([1, 2, 3]);
  });

  it('still decodes bin values of any other buffer as views (no copy)', () => {
    const bytes = encodePayload({ pad: Uint8Array.of(1, 2, 3) });
    const value = decodePayload(bytes) as { pad: Uint8Array };
    expect(value.pad.buffer).toBe(bytes.buffer);
  });
});
