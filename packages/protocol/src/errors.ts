import type { ErrorReply } from './messages.js';

/**
 * Every error code of the wire protocol (stable strings, sent as `err.code`).
 * Protocol codes are raised by this codec or by the handshake; bus codes by the engine.
 *
 * @example
 * ```ts
 * if (error.code === ErrorCode.FRAME_TOO_LARGE) socket.destroy();
 * ```
 */
export const ErrorCode = {
  // Protocol: framing (raised by FrameDecoder; always fatal).
  BAD_LENGTH: 'BAD_LENGTH',
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  // Protocol: header (raised by parseClientHeader / parseServerHeader; the frame was well delimited).
  BAD_MSGPACK: 'BAD_MSGPACK',
  UNKNOWN_TYPE: 'UNKNOWN_TYPE',
  BAD_FIELD: 'BAD_FIELD',
  // Protocol: handshake (raised by the daemon's session).
  HELLO_REQUIRED: 'HELLO_REQUIRED',
  VERSION_MISMATCH: 'VERSION_MISMATCH',
  HELLO_TIMEOUT: 'HELLO_TIMEOUT',
  DUPLICATE_HELLO: 'DUPLICATE_HELLO',
  // Bus (raised by the engine).
  UNKNOWN_GROUP: 'UNKNOWN_GROUP',
  NOT_MEMBER: 'NOT_MEMBER',
  ALREADY_MEMBER: 'ALREADY_MEMBER',
  GROUP_EXISTS: 'GROUP_EXISTS',
  NOT_OWNER: 'NOT_OWNER',
  NOT_PERMITTED: 'NOT_PERMITTED',
  QUEUE_FULL: 'QUEUE_FULL',
  INVALID_NAME: 'INVALID_NAME',
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  SLOW_CONSUMER: 'SLOW_CONSUMER',
  BUS_CLOSING: 'BUS_CLOSING',
  INTERNAL: 'INTERNAL',
  // Method calls and monitors.
  SERVICE_UNKNOWN: 'SERVICE_UNKNOWN',
  UNKNOWN_METHOD: 'UNKNOWN_METHOD',
  INVALID_ARGS: 'INVALID_ARGS',
  INVALID_REPLY: 'INVALID_REPLY',
  TIMEOUT: 'TIMEOUT',
  NO_REPLY: 'NO_REPLY',
  REMOTE_ERROR: 'REMOTE_ERROR',
  MONITOR_ONLY: 'MONITOR_ONLY',
  // Federation (issue 16): the daemon could not reach its JetStream stream in time.
  FEDERATION_UNAVAILABLE: 'FEDERATION_UNAVAILABLE',
  // Contracts: the daemon checks emits into a group created with a schema against it.
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  INVALID_SCHEMA: 'INVALID_SCHEMA',
} as const;

/** One of the values of {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

// The spec marks these fatal: after an `err` with one of them the daemon closes the connection.
// The framing codes are fatal because once a length is wrong no later byte can be trusted to
// start a frame; the header codes are not, because the length prefix still delimited the frame.
const FATAL_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.BAD_LENGTH,
  ErrorCode.FRAME_TOO_LARGE,
  ErrorCode.HELLO_REQUIRED,
  ErrorCode.VERSION_MISMATCH,
  ErrorCode.HELLO_TIMEOUT,
  ErrorCode.SLOW_CONSUMER,
]);

/** Whether the spec makes `code` fatal (the connection closes after it). */
export function isFatalByDefault(code: ErrorCode): boolean {
  return FATAL_BY_DEFAULT.has(code);
}

// Symbol.for, not a module-local symbol: a bundle and a node_modules copy of this package then
// recognise each other's errors (see `Symbol.hasInstance` below).
const brand = Symbol.for('chorus.protocol.ProtocolError');

/** Options of {@link ProtocolError}. */
export interface ProtocolErrorOptions {
  /** The connection is closed after this error. Defaults to what the spec says for the code. */
  fatal?: boolean;
  /** Serial of the request the error answers, when one could be read. */
  serial?: number;
  /** Extra detail sent as `err.data` (for BAD_FIELD: `{ path }`, where the bad field is). */
  data?: unknown;
  /** The underlying error (kept locally; never sent). */
  cause?: unknown;
}

/**
 * An error of the wire protocol: a framing or header error found by this codec, a handshake
 * error, or any bus error the daemon reports with `err`. Match on `code`, never on `message`.
 *
 * @example
 * ```ts
 * try {
 *   parseClientHeader(header);
 * } catch (error) {
 *   if (isProtocolError(error)) send(encodeFrame(error.toErrorReply()));
 * }
 * ```
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly code: ErrorCode;
  readonly fatal: boolean;
  readonly serial: number | undefined;
  readonly data: unknown;

  constructor(code: ErrorCode, message: string, options?: ProtocolErrorOptions) {
    // Only pass `cause` when given: `{ cause: undefined }` would still define an own `cause`.
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.fatal = options?.fatal ?? FATAL_BY_DEFAULT.has(code);
    this.serial = options?.serial;
    this.data = options?.data;
  }

  /**
   * The `err` message that reports this error to the peer (name and message only, never the stack).
   *
   * @example
   * ```ts
   * socket.write(encodeFrame(new ProtocolError('BAD_FIELD', 'g: expected a string', { serial: 4 }).toErrorReply()));
   * ```
   */
  toErrorReply(): ErrorReply {
    const reply: ErrorReply = { t: 'err', code: this.code, msg: this.message };
    if (this.serial !== undefined) reply.s = this.serial;
    if (this.fatal) reply.fatal = true;
    if (this.data !== undefined) reply.data = this.data;
    return reply;
  }

  /** `instanceof` that also recognises errors made by another copy of this package. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isProtocolError(value);
  }
}

Object.defineProperty(ProtocolError.prototype, brand, { value: true });

/**
 * Type guard for {@link ProtocolError} that works across duplicate copies of the package.
 *
 * @example
 * ```ts
 * decoder = new FrameDecoder({ frame, error: (e) => isProtocolError(e) && e.fatal && close() });
 * ```
 */
export function isProtocolError(value: unknown): value is ProtocolError {
  return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
}
