/**
 * Every error the engine can raise: one class per kind, each with a stable `code`.
 * Callers (the daemon, tests) match on `code`, never on message text; the daemon sends
 * `code` and `message` over the wire unchanged.
 */

const brand = Symbol.for('chorus.error');

export const EngineErrorCode = {
  UNKNOWN_GROUP: 'UNKNOWN_GROUP',
  UNKNOWN_CONNECTION: 'UNKNOWN_CONNECTION',
  NOT_MEMBER: 'NOT_MEMBER',
  ALREADY_MEMBER: 'ALREADY_MEMBER',
  GROUP_EXISTS: 'GROUP_EXISTS',
  NOT_OWNER: 'NOT_OWNER',
  NOT_PERMITTED: 'NOT_PERMITTED',
  QUEUE_FULL: 'QUEUE_FULL',
  INVALID_NAME: 'INVALID_NAME',
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  SENDER_BLOCKED: 'SENDER_BLOCKED',
} as const;
export type EngineErrorCode = (typeof EngineErrorCode)[keyof typeof EngineErrorCode];

/** Base class of every engine error; `code` is stable and safe to send to clients. */
export class EngineError extends Error {
  readonly code: EngineErrorCode;
  readonly [brand] = true;

  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
  }

  /** `instanceof` that survives duplicate copies of the package (e.g. a bundle and node_modules). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // Subclasses inherit this method: they keep the ordinary prototype check, or every
    // EngineError would be `instanceof` every subclass. Across copies, match on `code`.
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of `instanceof`, maybe a subclass
    if (this !== EngineError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [brand]?: unknown })[brand] === true;
  }
}

export class UnknownGroupError extends EngineError {
  readonly group: string;
  constructor(group: string) {
    super(EngineErrorCode.UNKNOWN_GROUP, `no group named '${group}'`);
    this.name = 'UnknownGroupError';
    this.group = group;
  }
}

export class UnknownConnectionError extends EngineError {
  readonly connection: number;
  constructor(connection: number) {
    super(EngineErrorCode.UNKNOWN_CONNECTION, `no connection with id ${connection}`);
    this.name = 'UnknownConnectionError';
    this.connection = connection;
  }
}

export class NotMemberError extends EngineError {
  readonly group: string;
  constructor(group: string) {
    super(EngineErrorCode.NOT_MEMBER, `not a member of '${group}'`);
    this.name = 'NotMemberError';
    this.group = group;
  }
}

export class AlreadyMemberError extends EngineError {
  readonly group: string;
  constructor(group: string) {
    super(EngineErrorCode.ALREADY_MEMBER, `already a member of '${group}'`);
    this.name = 'AlreadyMemberError';
    this.group = group;
  }
}

export class GroupExistsError extends EngineError {
  readonly group: string;
  constructor(group: string) {
    super(EngineErrorCode.GROUP_EXISTS, `group '${group}' already exists`);
    this.name = 'GroupExistsError';
    this.group = group;
  }
}

export class NotOwnerError extends EngineError {
  readonly group: string;
  constructor(group: string) {
    super(EngineErrorCode.NOT_OWNER, `only the owner may close '${group}'`);
    this.name = 'NotOwnerError';
    this.group = group;
  }
}

/** The group's `emitters` option does not allow this sender. */
export class NotPermittedError extends EngineError {
  readonly group: string;
  constructor(group: string, message: string) {
    super(EngineErrorCode.NOT_PERMITTED, message);
    this.name = 'NotPermittedError';
    this.group = group;
  }
}

/** `onFull: 'reject'`: at least one recipient's queue is full, so nobody got the message. */
export class QueueFullError extends EngineError {
  readonly group: string;
  /** The recipients whose outbound queue had no room. */
  readonly full: readonly number[];
  constructor(group: string, full: readonly number[]) {
    super(
      EngineErrorCode.QUEUE_FULL,
      `message to '${group}' rejected: ${full.length} recipient queue(s) full; nobody received it`,
    );
    this.name = 'QueueFullError';
    this.group = group;
    this.full = full;
  }
}

export class InvalidNameError extends EngineError {
  readonly kind: string;
  readonly value: string;
  constructor(kind: string, value: string, reason: string) {
    super(EngineErrorCode.INVALID_NAME, `invalid ${kind} name '${value.slice(0, 300)}': ${reason}`);
    this.name = 'InvalidNameError';
    this.kind = kind;
    this.value = value;
  }
}

export class LimitExceededError extends EngineError {
  /** The name of the limit in `EngineLimits`, e.g. `maxGroupsPerConnection`. */
  readonly limit: string;
  readonly max: number;
  constructor(limit: string, max: number) {
    super(EngineErrorCode.LIMIT_EXCEEDED, `limit ${limit} (${max}) exceeded`);
    this.name = 'LimitExceededError';
    this.limit = limit;
    this.max = max;
  }
}

/**
 * The sender already has an emit waiting for room (`onFull: 'block'`). The transport must
 * stop reading from a blocked sender, so this is a bug in the caller, not in the client.
 */
export class SenderBlockedError extends EngineError {
  constructor(connection: number) {
    super(EngineErrorCode.SENDER_BLOCKED, `connection ${connection} already has a blocked emit`);
    this.name = 'SenderBlockedError';
  }
}

/** True for any engine error, even from another copy of this package. */
export function isEngineError(value: unknown): value is EngineError {
  return value instanceof EngineError;
}
