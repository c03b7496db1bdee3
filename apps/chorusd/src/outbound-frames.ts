import { Buffer } from 'node:buffer';
import { type Message, type OutboundItem, uniqueName } from '@chorus/core';
import { encodeFrame, encodeSignalFrame, encodeSignalFrameInto, signalFrameLength } from '@chorus/protocol';
import type { FederatedTag } from './federation/federation.js';

/**
 * The frame of an item the engine queued for a connection: a signal's frame is encoded once, in
 * its `wire` slot, and the same bytes go to every recipient; replies are already frames.
 */
export function encodeItem(item: OutboundItem<Uint8Array>): Uint8Array {
  switch (item.kind) {
    case 'signal':
      // [GUARANTEE: encode once] the same bytes go to every recipient of the message.
      if (item.wire === undefined && item.tag !== undefined) {
        // A federated message: its sender elsewhere and its stream sequence (the generic codec).
        const tag = item.tag as FederatedTag;
        const header = {
          t: 'sig',
          seq: item.seq,
          gseq: item.groupSeq,
          g: item.group,
          sig: item.signal,
        } as const;
        item.wire = encodeFrame(
          { ...header, from: tag.from, ...(item.retained ? { r: true } : {}), fseq: tag.fseq },
          item.payload,
        );
      }
      if (item.wire === undefined) {
        item.wire = encodeSignalFrame(
          item.seq,
          item.groupSeq,
          item.group,
          item.signal,
          uniqueName(item.sender),
          item.retained,
          item.payload,
        );
      }
      return item.wire as Uint8Array;
    case 'group-closed':
      return encodeFrame({ t: 'gclosed', g: item.group, reason: item.reason });
    case 'direct':
      return item.data as Uint8Array;
  }
}

/**
 * The item's frame, to be written alone. A socket wraps every Uint8Array written into a Buffer:
 * a signal's frame is wrapped once, in its `wire` slot, not once per recipient. (Frames joined
 * with others are copied anyway, so they are not wrapped.)
 */
export function encodeItemBuffer(item: OutboundItem<Uint8Array>): Uint8Array {
  const frame = encodeItem(item);
  if (item.kind !== 'signal' || Buffer.isBuffer(frame)) return frame;
  const buffer = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  item.wire = buffer;
  return buffer;
}

/**
 * Frames below this size are written into one chunk per run: an encoded one copied, a signal not
 * encoded yet encoded straight into it (no buffer of its own: a buffer above 64 bytes is an
 * off-heap allocation, ~1.5 µs, more than encoding the frame). Larger ones go alone.
 */
const MAX_JOIN_BYTES = 16 * 1024;

/**
 * What to write for a batch of items, in order: runs of frames below MAX_JOIN_BYTES as one chunk
 * each, larger frames alone. `lend(item, frame)` is told of each signal encoded into a chunk,
 * with its bytes there, so that another session of the same pass can copy them rather than
 * encode them again (see WriteScheduler: it takes them back at the end of the pass).
 *
 * Reference: encodeItem; a chunk holds exactly the frames encodeItem makes for its items, end to
 * end (outbound-frames.test.ts, property test).
 */
export function chunksOfItems(
  items: readonly OutboundItem<Uint8Array>[],
  lend?: (item: Message<Uint8Array>, frame: Uint8Array) => void,
): Uint8Array[] {
  const count = items.length;
  // Per item: its frame when encoded already (or alone), else undefined: encode into the chunk.
  const frames: (Uint8Array | undefined)[] = new Array(count);
  const froms: string[] = new Array(count);
  const chunks: Uint8Array[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const item = items[i] as OutboundItem<Uint8Array>;
    let length: number;
    if (item.kind === 'signal' && item.wire === undefined && item.tag === undefined) {
      const from = uniqueName(item.sender);
      froms[i] = from;
      length = signalFrameLength(
        item.seq,
        item.groupSeq,
        item.group,
        item.signal,
        from,
        item.retained,
        item.payload.length,
      );
      if (length >= MAX_JOIN_BYTES) frames[i] = encodeItemBuffer(item);
    } else {
      frames[i] = encodeItem(item);
      length = (frames[i] as Uint8Array).byteLength;
    }
    if (length < MAX_JOIN_BYTES) {
      bytes += length;
      continue;
    }
    if (start < i) chunks.push(joinRun(items, frames, froms, start, i, bytes, lend));
    chunks.push(frames[i] as Uint8Array);
    start = i + 1;
    bytes = 0;
  }
  if (start < count) chunks.push(joinRun(items, frames, froms, start, count, bytes, lend));
  return chunks;
}

function joinRun(
  items: readonly OutboundItem<Uint8Array>[],
  frames: readonly (Uint8Array | undefined)[],
  froms: readonly string[],
  start: number,
  end: number,
  bytes: number,
  lend: ((item: Message<Uint8Array>, frame: Uint8Array) => void) | undefined,
): Uint8Array {
  if (end - start === 1 && frames[start] !== undefined) return frames[start] as Uint8Array;
  // Unsafe (unzeroed, pooled when small) is fine: every byte is written below.
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (let i = start; i < end; i++) {
    const frame = frames[i];
    if (frame !== undefined) {
      out.set(frame, at);
      at += frame.byteLength;
      continue;
    }
    const item = items[i] as Message<Uint8Array>;
    // [GUARANTEE: encode once] the bytes encodeItem would make, written where they are sent.
    const next = encodeSignalFrameInto(
      out,
      at,
      item.seq,
      item.groupSeq,
      item.group,
      item.signal,
      froms[i] as string,
      item.retained,
      item.payload,
    );
    lend?.(item, out.subarray(at, next));
    at = next;
  }
  return out;
}
