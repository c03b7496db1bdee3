/*
 * A group this connection created (and owns): emit into it, close it.
 */

import type { GroupClosedReason, GroupOptions } from '@chorus/protocol';
import type { AnyGroupContract, SignalInput, SignalName } from './contract.js';
import { type ChorusError, InvalidArgumentError } from './errors.js';
import { Listeners } from './listeners.js';
import type { Subscription, SubscriptionImpl } from './subscription.js';

/**
 * What the daemon answered to an emit.
 *
 * @example
 * ```ts
 * const { seq, recipients } = await group.emit('LevelChanged', { percent: 42 });
 * ```
 */
export interface EmitResult {
  /** Bus sequence number given to the signal. */
  readonly seq: number;
  /** Sequence number within the group. */
  readonly groupSeq: number;
  /** How many memberships the signal was queued for. */
  readonly recipients: number;
}

/**
 * The payload argument of an emit: optional when the signal's schema accepts `undefined`.
 *
 * @example
 * ```ts
 * const args: EmitArgs<typeof Battery, 'LevelChanged'> = [{ percent: 1 }];
 * ```
 */
export type EmitArgs<TContract extends AnyGroupContract, TSignal extends SignalName<TContract>> =
  undefined extends SignalInput<TContract, TSignal>
    ? [payload?: SignalInput<TContract, TSignal>]
    : [payload: SignalInput<TContract, TSignal>];

/**
 * Options of a group, given when creating it. Absent options take the daemon's defaults.
 *
 * @example
 * ```ts
 * await bus.createGroup(Battery, { emitters: 'owner', retain: true, onFull: 'reject' });
 * ```
 */
export interface CreateGroupOptions {
  /** Who may emit: only the owner, members, or anyone on the bus. */
  emitters?: 'owner' | 'members' | 'anyone' | undefined;
  /** Whether an emitter that is also a member receives its own signals. */
  loopback?: boolean | undefined;
  /** Whether emits may target a single peer. */
  sendToPeer?: boolean | undefined;
  /** What an emit does when a recipient's queue is full: wait, fail, or evict the recipient. */
  onFull?: 'block' | 'reject' | 'evict' | undefined;
  /** Whether the last value of each signal is kept and replayed to new members. */
  retain?: boolean | undefined;
  /**
   * Whether the group exists on every daemon attached to the same JetStream stream (the daemon
   * runs with `--federation`), its signals in one order for all of them. See the README's
   * Federation section.
   */
  federated?: boolean | undefined;
  /**
   * Whether the daemon checks every emit into the group against its contract (default true): a
   * payload that does not fit is refused with INVALID_PAYLOAD and reaches nobody. `false` saves
   * that check for an owner who chooses raw speed; members' SDKs still check what they receive.
   */
  validate?: boolean | undefined;
}

const CHOICES = {
  emitters: ['owner', 'members', 'anyone'],
  onFull: ['block', 'reject', 'evict'],
} as const;
const FLAGS = ['loopback', 'sendToPeer', 'retain', 'federated', 'validate'] as const;

/**
 * Throws INVALID_ARGUMENT, naming the option and its choices, when `options` holds a value the
 * daemon would refuse: an app that passed `emitters: 'everyone'` learns it here, in its own words,
 * not as the daemon's BAD_FIELD on a wire field.
 */
export function checkGroupOptions(options: CreateGroupOptions): void {
  for (const [key, choices] of Object.entries(CHOICES)) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined && !(choices as readonly unknown[]).includes(value)) {
      throw new InvalidArgumentError(
        `group option ${key} must be one of ${choices.map((c) => `'${c}'`).join(', ')}; got ${JSON.stringify(value)}`,
      );
    }
  }
  for (const key of FLAGS) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined && typeof value !== 'boolean') {
      throw new InvalidArgumentError(
        `group option ${key} must be true or false; got ${JSON.stringify(value)}`,
      );
    }
  }
}

/**
 * A group created by this connection. Emits are validated against the contract before sending.
 *
 * @example
 * ```ts
 * const group = await bus.createGroup(Battery, { emitters: 'owner' });
 * const { seq } = await group.emit('LevelChanged', { percent: 42 });
 * await group.close();
 * ```
 */
export interface Group<TContract extends AnyGroupContract = AnyGroupContract> {
  readonly name: string;
  /** The contract it was created with; undefined for a group created by name (untyped). */
  readonly contract: TContract | undefined;
  /**
   * With `sendToPeer: true`, members' signals reach the owner without a membership: they arrive
   * here (validated like any subscription). Undefined otherwise.
   */
  readonly inbox: Subscription<TContract> | undefined;
  /** Why the group closed, once it did (closed by us, or by the daemon); undefined while open. */
  readonly closedReason: GroupClosedReason | undefined;
  /** Emits a signal; resolves when the daemon accepted it. Rejects with PayloadValidationError without sending. */
  emit<TSignal extends SignalName<TContract>>(
    signal: TSignal,
    ...payload: EmitArgs<TContract, TSignal>
  ): Promise<EmitResult>;
  /**
   * Publishes a signal: like `emit`, but the daemon does not answer it when it accepts it (no
   * `EmitResult`). Returns undefined once it is sent; a promise when the SDK's window
   * (`maxInFlight`, `maxInFlightBytes`) is full or the bus is reconnecting: await it before
   * publishing more. Throws PayloadValidationError without sending. A refusal by the daemon comes
   * later, in order, on `bus.on('publishError')`; `bus.flush()` waits until all were handled.
   */
  publish<TSignal extends SignalName<TContract>>(
    signal: TSignal,
    ...payload: EmitArgs<TContract, TSignal>
  ): Promise<void> | undefined;
  /** Closes the group (members get `gclosed`). Resolves at once if it is already closed. */
  close(): Promise<void>;
  /**
   * The bus reconnected but could not create the group again (someone else created it meanwhile:
   * GROUP_EXISTS, or the policy now refuses it). The group is closed by then (`closedReason`).
   */
  on(event: 'error', handler: (error: ChorusError) => void): () => void;
}

/** What the bus sends to create a group, kept to create it again after a reconnection. */
export interface GroupCreation {
  readonly o: GroupOptions | undefined;
  readonly schema: unknown;
}

/** What a group handle needs from its bus. */
export interface GroupHost {
  emit(
    group: string,
    contract: AnyGroupContract | undefined,
    signal: string,
    payload: unknown,
  ): Promise<EmitResult>;
  publish(
    group: string,
    contract: AnyGroupContract | undefined,
    signal: string,
    payload: unknown,
  ): Promise<void> | undefined;
  close(group: string): Promise<void>;
}

/** The group handle; `Group<T>` is its public face. */
export class GroupImpl implements Group {
  readonly name: string;
  readonly contract: AnyGroupContract | undefined;
  readonly inbox: SubscriptionImpl | undefined;
  readonly creation: GroupCreation;
  readonly #host: GroupHost;
  readonly #errors = new Listeners<[ChorusError]>();
  #closedReason: GroupClosedReason | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    name: string,
    contract: AnyGroupContract | undefined,
    inbox: SubscriptionImpl | undefined,
    host: GroupHost,
    creation: GroupCreation = { o: undefined, schema: undefined },
  ) {
    this.name = name;
    this.contract = contract;
    this.inbox = inbox;
    this.#host = host;
    this.creation = creation;
  }

  get closedReason(): GroupClosedReason | undefined {
    return this.#closedReason;
  }

  /** The daemon closed the group (`gclosed`), or the bus went away. */
  markClosed(reason: GroupClosedReason): void {
    this.#closedReason ??= reason;
  }

  /** It could not be created again after a reconnection: closed, and the app is told why. */
  fail(reason: GroupClosedReason, error: ChorusError): void {
    if (this.#closedReason !== undefined) return;
    this.markClosed(reason);
    this.#errors.emit(error);
  }

  on(event: 'error', handler: (error: ChorusError) => void): () => void {
    if (event !== 'error') throw new InvalidArgumentError(`unknown group event '${String(event)}'`);
    return this.#errors.add(handler);
  }

  emit(signal: string, payload?: unknown): Promise<EmitResult> {
    return this.#host.emit(this.name, this.contract, signal, payload);
  }

  publish(signal: string, payload?: unknown): Promise<void> | undefined {
    return this.#host.publish(this.name, this.contract, signal, payload);
  }

  close(): Promise<void> {
    if (this.#closedReason !== undefined && this.#closing === undefined) return Promise.resolve();
    this.#closing ??= this.#host.close(this.name).then(() => this.markClosed('closed'));
    return this.#closing;
  }
}
