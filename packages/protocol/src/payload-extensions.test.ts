// Regression (issue 12, item 4, found while writing down the re-entrancy rule of each scratch
// state): an application can register its own MessagePack extension on @msgpack/msgpack's default
// ExtensionCodec, and both payload directions then call its code in the middle of a value. An
// extension that holds a nested payload (encoded and decoded with encodePayload and
// decodePayload) made our decoder run inside itself: the inner call left the reader state at
// the end of the inner bytes, and the outer value was lost (BAD_MSGPACK). In its own file because
// the registration is process-wide.

import { ExtensionCodec } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodePayload, encodePayload } from './payload.js';

class Boxed {
  constructor(readonly inner: unknown) {}
}

const BOXED = 0x42;
// Typed as the read-only interface, but the instance every Encoder and Decoder uses by default.
(ExtensionCodec.defaultCodec as ExtensionCodec).register({
  type: BOXED,
  encode: (value: unknown) => (value instanceof Boxed ? encodePayload(value.inner) : null),
  decode: (data: Uint8Array) => new Boxed(decodePayload(data)),
});

describe('an application extension that holds a nested payload', () => {
  it('round-trips, with the values before and after it intact', () => {
    const value = {
      before: 'first',
      boxed: new Boxed({ deep: new Boxed([1, 'two', { three: 3 }]), text: 'inner text' }),
      after: ['last', 2.5, { key: 'value' }],
    };
    expect(decodePayload(encodePayload(value))).toEqual(value);
  });

  it('at every position of an array', () => {
    const value = [new Boxed('a'), 1, new Boxed({ b: new Boxed('c') }), 'tail'];
    expect(decodePayload(encodePayload(value))).toEqual(value);
  });
});
