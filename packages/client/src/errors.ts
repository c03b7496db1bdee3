/*
 * Every error the SDK raises, one class per kind. Callers and tests match on `code` (stable
 * strings), never on message text. Daemon `err` replies become BusError with the wire code.
 */

import { type ContractIssue, ErrorCode, type ErrorReply, type FailMessage } from '@chorus/protocol';

// One place of a contract and what is wrong there: defined where contracts become JSON Schema.
export type { ContractIssue };

/**
 * Codes of the errors the SDK raises itself (BusError carries the daemon's wire code instead).
 *
 * @example
 * ```ts
 * if (isChorusError(error, ClientErrorCode.TIMEOUT)) retry();
 * ```
 */
export const ClientErrorCode = {
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  CONNECT_FAILED: 'CONNECT_FAILED',
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  TIMEOUT: 'TIMEOUT',
  ABORTED: 'ABORTED',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  BAD_ADDRESS: 'BAD_ADDRESS',
  UNSUPPORTED_TRANSPORT: 'UNSUPPORTED_TRANSPORT',
  PROTOCOL_VIOLATION: 'PROTOCOL_VIOLATION',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  UNCLAIMED_JOIN: 'UNCLAIMED_JOIN',
  PAYLOAD_DROPPED: 'PAYLOAD_DROPPED',
  UNPUBLISHABLE_CONTRACT: 'UNPUBLISHABLE_CONTRACT',
  INCOMPATIBLE_CONTRACT: 'INCOMPATIBLE_CONTRACT',
} as const;

/** One of the values of {@link ClientErrorCode}. */
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

// Symbol.for, not a module-local symbol: a browser bundle and a node_modules copy of this package
// then recognise each other's errors (see `Symbol.hasInstance` below and `isChorusError`).
const brand = Symbol.for('chorus.client.ChorusError');

/**
 * Base class of every error the SDK raises. `code` is stable; `cause` keeps the underlying error.
 *
 * @example
 * ```ts
 * try {
 *   await bus.join('org.example.Battery');
 * } catch (error) {
 *   if (error instanceof ChorusError) console.error(error.code);
 * }
 * ```
 */
export class ChorusError extends Error {
  override name = 'ChorusError';
  readonly code: string;
  declare readonly [brand]: true;

  constructor(code: string, message: string, options?: ErrorOptions) {
    // Only pass `cause` when given: `{ cause: undefined }` would still define an own `cause`.
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  /**
   * `instanceof ChorusError` also recognises errors of another copy of the package. Subclasses
   * keep the ordinary prototype check; across copies use `isChorusError(error, code)`.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof (maybe a subclass)
    if (this === ChorusError) return isChorusError(value);
    // biome-ignore lint/complexity/noThisInStatic: as above
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

Object.defineProperty(ChorusError.prototype, brand, { value: true });

/**
 * Type guard for {@link ChorusError} (optionally of one `code`) that works across duplicate copies
 * of the package.
 *
 * @example
 * ```ts
 * sub.on('closed', (_reason, error) => {
 *   if (isChorusError(error, 'SLOW_CONSUMER')) console.warn('evicted: too slow');
 * });
 * ```
 */
export function isChorusError(value: unknown, code?: string): value is ChorusError {
  if (typeof value !== 'object' || value === null) return false;
  if ((value as { [brand]?: unknown })[brand] !== true) return false;
  return code === undefined || (value as { code?: unknown }).code === code;
}

/**
 * The daemon answered `err`. `code` is the wire code (`UNKNOWN_GROUP`, `NOT_OWNER`, ...; see
 * `ErrorCode`); `fatal` means the daemon closes the connection after it; `data` is the wire `data`.
 *
 * @example
 * ```ts
 * try {
 *   await bus.createGroup(Battery);
 * } catch (error) {
 *   if (isChorusError(error, ErrorCode.GROUP_EXISTS)) await bus.join(Battery);
 * }
 * ```
 */
export class BusError extends ChorusError {
  override name = 'BusError';
  readonly fatal: boolean;
  readonly data: unknown;

  constructor(code: string, message: string, options?: ErrorOptions & { fatal?: boolean; data?: unknown }) {
    super(code, message, options);
    this.fatal = options?.fatal === true;
    this.data = options?.data;
  }

  /**
   * The error an `err` message stands for.
   *
   * @example
   * ```ts
   * const error = BusError.fromWire({ t: 'err', s: 4, code: 'NOT_OWNER', msg: 'not yours' });
   * ```
   */
  static fromWire(reply: ErrorReply): BusError {
    return new BusError(reply.code, reply.msg, { fatal: reply.fatal === true, data: reply.data });
  }
}

/**
 * The daemon refused a publish (`group.publish`, `bus.publish`): `code` says why (INVALID_PAYLOAD,
 * NOT_PERMITTED, QUEUE_FULL, UNKNOWN_GROUP, ...), `group` and `signal` which publish. Reported
 * on `bus.on('publishError')`, in the order the publishes were sent.
 *
 * @example
 * ```ts
 * bus.on('publishError', (error) => console.warn(error.group, error.signal, error.code));
 * ```
 */
export class PublishError extends BusError {
  override name = 'PublishError';
  readonly group: string;
  readonly signal: string;

  constructor(code: string, message: string, group: string, signal: string, options?: { data?: unknown }) {
    super(code, message, options);
    this.group = group;
    this.signal = signal;
  }
}

/**
 * The connection is gone: closed by `bus.close()`, by the daemon (`bye`, then EOF) or lost. Pending
 * requests reject with it and iterators end with it. `reason` is the daemon's `bye` reason, if any.
 *
 * @example
 * ```ts
 * await bus.closed; // resolves with the ConnectionClosedError when the daemon went away
 * ```
 */
export class ConnectionClosedError extends ChorusError {
  override name = 'ConnectionClosedError';
  readonly reason: string | undefined;

  constructor(message: string, options?: ErrorOptions & { reason?: string }) {
    super(ClientErrorCode.CONNECTION_CLOSED, message, options);
    this.reason = options?.reason;
  }
}

/**
 * The transport could not be opened (no socket at the path, connection refused, ...); `cause` is
 * the transport's error.
 *
 * @example
 * ```ts
 * await connect({ address: 'unix:path=/nonexistent' }).catch((e) => e.code); // 'CONNECT_FAILED'
 * ```
 */
export class ConnectError extends ChorusError {
  override name = 'ConnectError';
  readonly address: string | undefined;

  constructor(message: string, options?: ErrorOptions & { address?: string }) {
    super(ClientErrorCode.CONNECT_FAILED, message, options);
    this.address = options?.address;
  }
}

/**
 * One problem found in a payload, as plain data (a zod issue reduced to what travels well).
 * Codes are zod's (`too_big`, `invalid_type`, ...) plus `unknown_signal` and `invalid_encoding`.
 *
 * @example
 * ```ts
 * const issue: ValidationIssue = { code: 'too_big', path: ['percent'], message: 'Too big' };
 * ```
 */
export interface ValidationIssue {
  code: string;
  path: (string | number)[];
  message: string;
}

/**
 * A payload does not match its signal's schema (or cannot be encoded/decoded). On emit nothing is
 * sent; on receipt the message is reported as an `invalid` event and the subscription goes on.
 *
 * @example
 * ```ts
 * await group.emit('LevelChanged', { percent: 400 }).catch((e: PayloadValidationError) => e.issues);
 * // [{ code: 'too_big', path: ['percent'], message: '...' }]
 * ```
 */
export class PayloadValidationError extends ChorusError {
  override name = 'PayloadValidationError';
  readonly group: string;
  readonly signal: string;
  readonly issues: ValidationIssue[];

  constructor(group: string, signal: string, issues: ValidationIssue[], options?: ErrorOptions) {
    const first = issues[0];
    const detail =
      first === undefined
        ? ''
        : `: ${first.message}${first.path.length > 0 ? ` at ${first.path.join('.')}` : ''}`;
    super(ClientErrorCode.INVALID_PAYLOAD, `invalid payload for ${group}.${signal}${detail}`, options);
    this.group = group;
    this.signal = signal;
    this.issues = issues;
  }
}

/**
 * An operation did not finish in time (`connect({ timeoutMs })`).
 *
 * @example
 * ```ts
 * await connect({ timeoutMs: 500 }).catch((e) => e.code); // 'TIMEOUT'
 * ```
 */
export class TimeoutError extends ChorusError {
  override name = 'TimeoutError';
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number) {
    super(ClientErrorCode.TIMEOUT, message);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * An operation was cancelled through its AbortSignal; `cause` is the signal's reason.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const pending = connect({ signal: controller.signal });
 * controller.abort();
 * await pending.catch((e) => e.code); // 'ABORTED'
 * ```
 */
export class AbortError extends ChorusError {
  override name = 'AbortError';
  /**
   * For the `ctx.signal.reason` of a served call: why the call was abandoned (`cancelled`,
   * `timeout`, `caller-left`, or `disconnected` / `closed` on this side). Undefined otherwise.
   */
  readonly reason: string | undefined;

  constructor(message: string, options?: ErrorOptions & { reason?: string }) {
    super(ClientErrorCode.ABORTED, message, options);
    this.reason = options?.reason;
  }
}

/**
 * A frame would exceed the daemon's `limits.maxFrameBytes` (header + payload). Checked before
 * sending, so nothing is sent and the connection stays up.
 *
 * @example
 * ```ts
 * await bus.emit('logs', 'blob', new Uint8Array(2 ** 21)).catch((e) => e.code); // 'MESSAGE_TOO_LARGE'
 * ```
 */
export class MessageTooLargeError extends ChorusError {
  override name = 'MessageTooLargeError';
  /** Header + payload bytes of the frame that was refused. */
  readonly size: number;
  /** The daemon's `limits.maxFrameBytes`. */
  readonly limit: number;

  constructor(size: number, limit: number) {
    super(
      ClientErrorCode.MESSAGE_TOO_LARGE,
      `frame of ${size} bytes exceeds the daemon's limit of ${limit} bytes`,
    );
    this.size = size;
    this.limit = limit;
  }
}

/**
 * A bus address that cannot be parsed (`unix:path=...`, `ws://...` and `wss://...` are known).
 *
 * @example
 * ```ts
 * await connect({ address: 'tcp:host=x' }).catch((e) => e.code); // 'BAD_ADDRESS'
 * ```
 */
export class AddressError extends ChorusError {
  override name = 'AddressError';

  constructor(message: string) {
    super(ClientErrorCode.BAD_ADDRESS, message);
  }
}

/**
 * The address is valid but this build has no transport for it (unix sockets in a browser).
 *
 * @example
 * ```ts
 * // in a browser bundle
 * await connect({ address: 'unix:path=/run/chorus.sock' }).catch((e) => e.code); // 'UNSUPPORTED_TRANSPORT'
 * ```
 */
export class UnsupportedTransportError extends ChorusError {
  override name = 'UnsupportedTransportError';

  constructor(message: string) {
    super(ClientErrorCode.UNSUPPORTED_TRANSPORT, message);
  }
}

/**
 * The daemon sent bytes or a message this SDK cannot accept (bad framing, malformed header, a
 * message out of place). `protocolCode` is the protocol's code (`BAD_MSGPACK`, `FRAME_TOO_LARGE`, ...).
 *
 * @example
 * ```ts
 * bus.on('error', (e) => { if (e instanceof ProtocolViolationError) log(e.protocolCode) });
 * ```
 */
export class ProtocolViolationError extends ChorusError {
  override name = 'ProtocolViolationError';
  readonly protocolCode: string;

  constructor(protocolCode: string, message: string, options?: ErrorOptions) {
    super(ClientErrorCode.PROTOCOL_VIOLATION, message, options);
    this.protocolCode = protocolCode;
  }
}

/**
 * The SDK was called in a way it cannot honour (a reserved signal name, a filter that differs
 * from the one an autojoined group was joined with, a non-positive limit, ...).
 *
 * @example
 * ```ts
 * defineGroup('x', { signals: { closed: z.object({}) } }); // throws INVALID_ARGUMENT: reserved name
 * ```
 */
export class InvalidArgumentError extends ChorusError {
  override name = 'InvalidArgumentError';

  constructor(message: string, options?: ErrorOptions) {
    super(ClientErrorCode.INVALID_ARGUMENT, message, options);
  }
}

/**
 * `connect({ join: [G] })` joined G at the handshake, but `bus.join(G)` never claimed it: its
 * messages were held until `maxHeldMessages`, then the membership was left so that the group's
 * emitters go on. Reported on the bus's `error` event, at once.
 *
 * @example
 * ```ts
 * bus.on('error', (e) => { if (e.code === 'UNCLAIMED_JOIN') console.error(e.group); });
 * ```
 */
export class UnclaimedJoinError extends ChorusError {
  override name = 'UnclaimedJoinError';
  readonly group: string;
  readonly held: number;

  constructor(group: string, held: number) {
    super(
      ClientErrorCode.UNCLAIMED_JOIN,
      `connect({ join }) joined ${group}, but bus.join(${group}) never claimed it: ${held} messages were ` +
        `held (maxHeldMessages), so the membership was left to keep the bus going. Call bus.join() for ` +
        'every group in join right after connect(), or leave it out of join',
    );
    this.group = group;
    this.held = held;
  }
}

/**
 * A signal that did not fit this app's contract was dropped, and its subscription has no
 * `invalid` listener to hear of it. Reported on the bus's `error` event once per group and signal
 * (the later ones are dropped without a word), so that contract drift is seen. The daemon refuses
 * such payloads at emit, unless the group's owner created it with `validate: false`.
 *
 * @example
 * ```ts
 * bus.on('error', (e) => { if (e.code === 'PAYLOAD_DROPPED') console.error(e.group, e.signal, e.issues); });
 * ```
 */
export class PayloadDroppedError extends ChorusError {
  override name = 'PayloadDroppedError';
  readonly group: string;
  readonly signal: string;
  readonly issues: ValidationIssue[];

  constructor(error: PayloadValidationError) {
    super(
      ClientErrorCode.PAYLOAD_DROPPED,
      `${error.message}; dropped. Listen to the subscription's 'invalid' event to handle such signals ` +
        '(this is reported once per group and signal)',
      { cause: error },
    );
    this.group = error.group;
    this.signal = error.signal;
    this.issues = error.issues;
  }
}

/**
 * `createGroup(Contract)` was refused: a schema of the contract has no JSON Schema form (a
 * `z.custom`, a transform as the wire form, a date, ...), so its schema cannot be published.
 * `issues` names each place. Nothing was sent; `createGroup(name)` makes an untyped group.
 *
 * @example
 * ```ts
 * await bus.createGroup(Contract).catch((e: UnpublishableContractError) => e.issues);
 * // [{ path: 'signals.Tick.at', reason: 'a Date has no JSON Schema form (...)' }]
 * ```
 */
export class UnpublishableContractError extends ChorusError {
  override name = 'UnpublishableContractError';
  readonly group: string;
  readonly issues: readonly ContractIssue[];

  constructor(group: string, issues: readonly ContractIssue[]) {
    super(
      ClientErrorCode.UNPUBLISHABLE_CONTRACT,
      `the contract of ${group} cannot be published: ${describeContractIssues(issues)}; change these schemas, or create the group untyped (createGroup('${group}'))`,
    );
    this.group = group;
    this.issues = issues;
  }
}

/**
 * A typed `join` or `call` was refused before it reached the bus: a message valid for the
 * group's published contract could fail this app's contract (see the client README's table).
 * `issues` names each place and why; `method` is set for a call.
 *
 * @example
 * ```ts
 * try {
 *   await bus.join(Battery);
 * } catch (error) {
 *   if (isChorusError(error, 'INCOMPATIBLE_CONTRACT')) console.error((error as IncompatibleContractError).issues);
 * }
 * ```
 */
export class IncompatibleContractError extends ChorusError {
  override name = 'IncompatibleContractError';
  readonly group: string;
  readonly method: string | undefined;
  readonly issues: readonly ContractIssue[];

  constructor(group: string, issues: readonly ContractIssue[], method?: string) {
    const what = method === undefined ? `the contract of ${group}` : `${group}.${method}`;
    super(
      ClientErrorCode.INCOMPATIBLE_CONTRACT,
      `${what} does not match what the bus publishes for ${group}: ${describeContractIssues(issues)}; build against the same contract version as the group's owner`,
    );
    this.group = group;
    this.method = method;
    this.issues = issues;
  }
}

function describeContractIssues(issues: readonly ContractIssue[]): string {
  const shown = issues.slice(0, 3).map(({ path, reason }) => `${path === '' ? '(value)' : path}: ${reason}`);
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return `${shown.join('; ')}${more}`;
}

/** Where a call went: the name it was sent to and the method. */
export interface CallTarget {
  readonly destination: string;
  readonly method: string;
}

/**
 * Base class of the errors of a method call (except TimeoutError and AbortError, shared with
 * `connect`). `code` is the wire code (`SERVICE_UNKNOWN`, `UNKNOWN_METHOD`, ...).
 *
 * @example
 * ```ts
 * await bus.call(Battery, 'GetLevel', {}).catch((e) => e instanceof CallError && console.warn(e.method, e.code));
 * ```
 */
export class CallError extends ChorusError {
  override name = 'CallError';
  /** The name the call was sent to (a well-known name, a unique name, or `org.chorus.Bus`). */
  readonly destination: string;
  readonly method: string;

  constructor(code: string, message: string, target: CallTarget, options?: ErrorOptions) {
    super(code, message, options);
    this.destination = target.destination;
    this.method = target.method;
  }
}

/**
 * Nobody owns the destination name (and `waitForService` was not asked for, or ran out of time).
 *
 * @example
 * ```ts
 * await bus.call(Battery, 'GetLevel', {}).catch((e) => e.code); // 'SERVICE_UNKNOWN'
 * ```
 */
export class ServiceUnknownError extends CallError {
  override name = 'ServiceUnknownError';

  constructor(message: string, target: CallTarget, options?: ErrorOptions) {
    super(ErrorCode.SERVICE_UNKNOWN, message, target, options);
  }
}

/**
 * The service does not serve that method (or no contract at all under that name).
 *
 * @example
 * ```ts
 * await bus.call('org.example.Battery', 'Explode', {}).catch((e) => e.code); // 'UNKNOWN_METHOD'
 * ```
 */
export class UnknownMethodError extends CallError {
  override name = 'UnknownMethodError';

  constructor(message: string, target: CallTarget, options?: ErrorOptions) {
    super(ErrorCode.UNKNOWN_METHOD, message, target, options);
  }
}

/**
 * The input failed validation: on the caller's side (nothing was sent; `issues` says why) or on
 * the service's (`issues` is empty, the message tells). The service never runs with invalid input.
 *
 * @example
 * ```ts
 * await bus.call(Battery, 'SetLimit', { percent: 400 }).catch((e) => e.issues);
 * ```
 */
export class InvalidArgsError extends CallError {
  override name = 'InvalidArgsError';
  readonly issues: ValidationIssue[];

  constructor(message: string, target: CallTarget, issues: ValidationIssue[] = [], options?: ErrorOptions) {
    super(ErrorCode.INVALID_ARGS, message, target, options);
    this.issues = issues;
  }
}

/**
 * The output failed validation: the caller's (`issues` says why) or the service's own check of
 * what its handler returned (`issues` is empty).
 *
 * @example
 * ```ts
 * await bus.call(Battery, 'GetLevel', {}).catch((e) => e.code); // 'INVALID_REPLY'
 * ```
 */
export class InvalidReplyError extends CallError {
  override name = 'InvalidReplyError';
  readonly issues: ValidationIssue[];

  constructor(message: string, target: CallTarget, issues: ValidationIssue[] = [], options?: ErrorOptions) {
    super(ErrorCode.INVALID_REPLY, message, target, options);
    this.issues = issues;
  }
}

/**
 * The service disconnected (or gave up the name) before it answered.
 *
 * @example
 * ```ts
 * await bus.call(Battery, 'GetLevel', {}).catch((e) => e.code); // 'NO_REPLY'
 * ```
 */
export class NoReplyError extends CallError {
  override name = 'NoReplyError';

  constructor(message: string, target: CallTarget, options?: ErrorOptions) {
    super(ErrorCode.NO_REPLY, message, target, options);
  }
}

/**
 * The service's handler threw. `remoteName` is the thrown error's `name` and `message` its message;
 * the stack never crosses the bus.
 *
 * @example
 * ```ts
 * try {
 *   await bus.call(Battery, 'GetLevel', {});
 * } catch (error) {
 *   if (error instanceof RemoteError && error.remoteName === 'RangeError') retry();
 * }
 * ```
 */
export class RemoteError extends CallError {
  override name = 'RemoteError';
  readonly remoteName: string;

  constructor(message: string, remoteName: string, target: CallTarget, options?: ErrorOptions) {
    super(ErrorCode.REMOTE_ERROR, message, target, options);
    this.remoteName = remoteName;
  }

  /**
   * The `fail` that reports `thrown` to the caller: REMOTE_ERROR with its name and message, never
   * its stack. Anything thrown is accepted (a string, an object without message, ...).
   *
   * @example
   * ```ts
   * const fail = RemoteError.toFail(7, new RangeError('too low')); // { t: 'fail', id: 7, code: 'REMOTE_ERROR', ... }
   * ```
   */
  static toFail(id: number, thrown: unknown): FailMessage {
    let name = 'Error';
    let msg: string;
    if (thrown instanceof Error) {
      name = typeof thrown.name === 'string' && thrown.name !== '' ? thrown.name : 'Error';
      msg = typeof thrown.message === 'string' ? thrown.message : '';
    } else if (
      typeof thrown === 'object' &&
      thrown !== null &&
      typeof (thrown as { message?: unknown }).message === 'string'
    ) {
      const named = (thrown as { name?: unknown }).name;
      if (typeof named === 'string' && named !== '') name = named;
      msg = (thrown as { message: string }).message;
    } else {
      msg = String(thrown);
    }
    return { t: 'fail', id, code: ErrorCode.REMOTE_ERROR, msg, name };
  }
}

/**
 * The error an `err` answering a call stands for: one of the call errors (TimeoutError for TIMEOUT),
 * or a BusError for any other code (INVALID_NAME, LIMIT_EXCEEDED, UNKNOWN_GROUP, ...).
 *
 * @example
 * ```ts
 * const error = callErrorFromWire({ t: 'err', s: 3, code: 'NO_REPLY', msg: 'gone' }, { destination: 'a.b', method: 'M' });
 * ```
 */
export function callErrorFromWire(reply: ErrorReply, target: CallTarget, timeoutMs = 0): ChorusError {
  switch (reply.code) {
    case ErrorCode.SERVICE_UNKNOWN:
      return new ServiceUnknownError(reply.msg, target);
    case ErrorCode.UNKNOWN_METHOD:
      return new UnknownMethodError(reply.msg, target);
    case ErrorCode.INVALID_ARGS:
      return new InvalidArgsError(reply.msg, target);
    case ErrorCode.INVALID_REPLY:
      return new InvalidReplyError(reply.msg, target);
    case ErrorCode.NO_REPLY:
      return new NoReplyError(reply.msg, target);
    case ErrorCode.TIMEOUT:
      return new TimeoutError(reply.msg, timeoutMs);
    case ErrorCode.REMOTE_ERROR: {
      const name = (reply.data as { name?: unknown } | undefined)?.name;
      return new RemoteError(reply.msg, typeof name === 'string' ? name : 'Error', target);
    }
    default:
      return BusError.fromWire(reply);
  }
}
