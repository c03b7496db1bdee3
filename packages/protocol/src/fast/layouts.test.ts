// The shared layouts are MessagePack as the reference writes it: each fixed run is the encoding
// of its keys and values by @msgpack/msgpack, so a typo here cannot hide behind two sides that
// agree with each other. (The encoders and readers are compared with the reference as a whole in
// frame-encoder.test.ts and header-reader.test.ts.)

import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import * as layouts from './layouts.js';

const msgpack = (...values: unknown[]): number[] => values.flatMap((value) => [...encode(value)]);

describe('layouts', () => {
  it('are the bytes @msgpack/msgpack writes', () => {
    expect(layouts.SIG_MAP).toBe(encode({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 })[0]);
    expect(layouts.SIG_MAP_RETAINED).toBe(encode({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7 })[0]);
    expect(layouts.EMIT_MAP).toBe(encode({ a: 1, b: 2, c: 3, d: 4 })[0]);
    expect(layouts.EMIT_REPLY_MAP).toBe(encode({ a: 1, b: 2, c: 3 })[0]);
    expect(layouts.SIG_T_AND_SEQ).toEqual(msgpack('t', 'sig', 'seq'));
    expect(layouts.KEY_GSEQ).toEqual(msgpack('gseq'));
    expect(layouts.KEY_G).toEqual(msgpack('g'));
    expect(layouts.KEY_SIG).toEqual(msgpack('sig'));
    expect(layouts.KEY_FROM).toEqual(msgpack('from'));
    expect(layouts.KEY_R_TRUE).toEqual(msgpack('r', true));
    expect(layouts.EMIT_T_AND_S).toEqual(msgpack('t', 'emit', 's'));
    expect(layouts.EMIT_REPLY_T_AND_S).toEqual(msgpack('t', 'ok', 's'));
    // 'r', then the marker of a 3-entry map, then its first key.
    expect(layouts.EMIT_REPLY_R_AND_SEQ).toEqual([
      ...msgpack('r'),
      encode({ a: 1, b: 2, c: 3 })[0],
      ...msgpack('seq'),
    ]);
    expect(layouts.KEY_N).toEqual(msgpack('n'));
  });
});
