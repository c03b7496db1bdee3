/*
 * The pure parts of reconnecting: how long to wait before an attempt, and which failures are
 * worth another one. The state machine that uses them lives in reconnect.ts.
 */

import { ErrorCode } from '@chorus/protocol';
import { ClientErrorCode, isChorusError, ProtocolViolationError } from './errors.js';
import type { ReconnectSettings } from './options.js';

/**
 * The delay before attempt `attempt` (1-based): `initialDelayMs` doubled per attempt, bounded by
 * `maxDelayMs`, of which a random half is taken off ("equal jitter"), so clients that lost the
 * same daemon do not all knock again at the same instant, yet never retry in a tight loop.
 *
 * @example
 * ```ts
 * backoffDelay(3, { initialDelayMs: 100, maxDelayMs: 5000, maxAttempts: Infinity }); // 200..400
 * ```
 */
export function backoffDelay(
  attempt: number,
  settings: Pick<ReconnectSettings, 'initialDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  // 2 ** 30 already exceeds any sensible bound; capping the exponent keeps the number finite.
  const exponential = settings.initialDelayMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30);
  const ceiling = Math.min(settings.maxDelayMs, exponential);
  const half = ceiling / 2;
  return Math.round(half + random() * half);
}

/**
 * Whether a failed attempt (or the loss itself) can never succeed by trying again: the daemon
 * speaks another protocol version, refuses our credentials, or the address or options are wrong.
 */
export function isFinalFailure(error: unknown): boolean {
  if (error instanceof ProtocolViolationError) return error.protocolCode === 'VERSION_MISMATCH';
  return (
    isChorusError(error, ErrorCode.VERSION_MISMATCH) ||
    isChorusError(error, ErrorCode.NOT_PERMITTED) ||
    isChorusError(error, ClientErrorCode.BAD_ADDRESS) ||
    isChorusError(error, ClientErrorCode.UNSUPPORTED_TRANSPORT) ||
    isChorusError(error, ClientErrorCode.INVALID_ARGUMENT)
  );
}
