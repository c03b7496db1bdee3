// Why: a signal encoded straight into a chunk is lent to the rest of the flush pass (its `wire`
// points into the chunk), so that other sessions copy it; after the pass no message may keep that
// reference, or a small queued message would pin a large chunk (the PIN_RATIO rule).
import type { Message } from '@chorus/core';
import { describe, expect, it } from 'vitest';
import { encodeItem } from './outbound-frames.js';
import { WriteScheduler } from './write-scheduler.js';

function message(seq: number): Message<Uint8Array> {
  return {
    kind: 'signal',
    seq,
    groupSeq: seq,
    group: 'org.example.G',
    signal: 'Tick',
    sender: 3,
    payload: new Uint8Array(100).fill(seq),
    size: 200,
    retained: false,
    wire: undefined,
  };
}

describe('WriteScheduler', () => {
  it('lends a signal encoded into a chunk to the rest of the pass, and takes it back at its end', async () => {
    const scheduler = new WriteScheduler();
    const items = [message(1), message(2), message(3)];
    const written: Uint8Array[][] = [];
    let lentDuringPass: unknown[] = [];
    // The first session takes all three, the second (same pass) only the last two: another batch.
    const first = { flush: () => written.push([...scheduler.chunksOf(items)]) };
    const second = {
      flush: () => {
        lentDuringPass = items.map((item) => item.wire);
        written.push([...scheduler.chunksOf(items.slice(1))]);
      },
    };
    scheduler.schedule(first);
    scheduler.schedule(second);
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toHaveLength(2);
    expect(lentDuringPass.every((wire) => wire !== undefined)).toBe(true);
    // Taken back: nothing refers to the chunks any more.
    expect(items.map((item) => item.wire)).toEqual([undefined, undefined, undefined]);
    // And what the second session wrote is exactly those two frames.
    const expected = Buffer.concat(items.slice(1).map((item) => encodeItem({ ...item, wire: undefined })));
    expect(Buffer.concat(written[1] as Uint8Array[]).equals(expected)).toBe(true);
  });
});
