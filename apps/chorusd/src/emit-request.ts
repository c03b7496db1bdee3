/*
 * What the daemon checks and copies of an emit before the engine sees it: the size of the `sig`
 * frame it becomes, the group's contract, and a payload that must not pin its read buffer. Apart
 * from the session, which drives the emit (answers it, blocks it, federates it).
 */

import type { Engine } from '@chorus/core';
import { type EmitRequest, ErrorCode, FRAME_PREFIX_BYTES } from '@chorus/protocol';
import type { DaemonLimits } from './config.js';
import type { Counters } from './counters.js';
import { checkEmit, type GroupContract } from './group-contracts.js';
import { PayloadCopies } from './payload-copies.js';
import { RequestError } from './request-error.js';

/**
 * A delivered `sig` header is longer than the `emit` header it came from (seq, gseq, from, r):
 * this bounds the difference, so that no frame the daemon sends exceeds `maxFrameBytes`.
 */
const SIGNAL_HEADER_GROWTH = 64;

/** Payload bytes smaller than this fraction of their read buffer are copied, so a queued message can't pin a whole chunk. */
const PIN_RATIO = 4;

/** The copies of this daemon's small payloads (one event loop: one allocator). */
const copies = new PayloadCopies(PIN_RATIO);

/** What the checks need of the daemon. */
export interface EmitChecks {
  readonly limits: DaemonLimits;
  readonly engine: Engine<Uint8Array>;
  readonly counters: Counters;
}

/**
 * Throws the emit's refusal (LIMIT_EXCEEDED, INVALID_PAYLOAD, ...); else returns the decoded
 * payload for field filters when the contract check decoded it (undefined when the group has no
 * contract to check).
 */
export function checkEmitRequest(
  host: EmitChecks,
  message: EmitRequest,
  header: Uint8Array,
  payload: Uint8Array,
): (() => unknown) | undefined {
  // [GUARANTEE: memory] no frame the daemon sends exceeds maxFrameBytes.
  const delivered = FRAME_PREFIX_BYTES + header.byteLength + SIGNAL_HEADER_GROWTH + payload.byteLength;
  if (delivered > host.limits.maxFrameBytes) {
    throw new RequestError(
      ErrorCode.LIMIT_EXCEEDED,
      `message too large: ${delivered} bytes once delivered, maxFrameBytes is ${host.limits.maxFrameBytes}`,
    );
  }
  const contract = host.engine.groupMeta(message.g) as GroupContract | undefined;
  return contract?.check === undefined
    ? undefined
    : checkEmit(contract, message, payload, () => host.counters.count('invalidPayloads'));
}

/** The payload a queued message may keep: copied if it would pin its read buffer. */
export function ownedPayload(payload: Uint8Array): Uint8Array {
  // [GUARANTEE: memory] a queued payload cannot pin a whole socket read.
  return payload.byteLength * PIN_RATIO < payload.buffer.byteLength ? copies.copy(payload) : payload;
}

/**
 * The publish a refusal answers (an `emit` with `q`), whose `err` names its group and signal:
 * the client keeps nothing per publish, so the reply must say which one failed.
 */
export function publishOf(message: { readonly t: string }): EmitRequest | undefined {
  return message.t === 'emit' && (message as EmitRequest).q === true ? (message as EmitRequest) : undefined;
}
