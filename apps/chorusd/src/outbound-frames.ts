import { Buffer } from 'node:buffer';
import { type OutboundItem, uniqueName } from '@chorus/core';
import { encodeFrame, encodeSignalFrame } from '@chorus/protocol';
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
