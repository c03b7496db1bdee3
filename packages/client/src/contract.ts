/*
 * Group contracts: a group name plus one zod schema per signal. The schemas are put in a Map once,
 * when the contract is defined, so sending and receiving look a schema up instead of rebuilding it.
 */

import { z } from 'zod';
import { InvalidArgumentError, PayloadValidationError, type ValidationIssue } from './errors.js';

/**
 * Signal name → payload schema.
 *
 * @example
 * ```ts
 * const signals = { LevelChanged: z.object({ percent: z.number() }) } satisfies SignalSchemas;
 * ```
 */
export type SignalSchemas = Readonly<Record<string, z.ZodType>>;

/**
 * Event names of `Subscription.on` other than signals. A contract may not use them as signal names,
 * or `sub.on('closed', ...)` would be ambiguous.
 *
 * @example
 * ```ts
 * RESERVED_EVENT_NAMES.includes('invalid'); // true
 * ```
 */
export const RESERVED_EVENT_NAMES = ['invalid', 'closed'] as const;

/**
 * One of {@link RESERVED_EVENT_NAMES}.
 *
 * @example
 * ```ts
 * const event: ReservedEventName = 'closed';
 * ```
 */
export type ReservedEventName = (typeof RESERVED_EVENT_NAMES)[number];

/**
 * A typed group: its name and a schema per signal. Made by {@link defineGroup}; passed to
 * `connect({ join })`, `bus.createGroup`, `bus.join` and `bus.emit`.
 *
 * @example
 * ```ts
 * function describe(contract: GroupContract): string {
 *   return `${contract.name}: ${Object.keys(contract.signals).join(', ')}`;
 * }
 * ```
 */
export interface GroupContract<
  TName extends string = string,
  TSignals extends SignalSchemas = SignalSchemas,
> {
  readonly name: TName;
  readonly signals: TSignals;
  /** The schema of `signal`, or undefined if the contract has no such signal. */
  schemaFor(signal: string): z.ZodType | undefined;
  /**
   * JSON Schema (input side, what travels on the wire) of an object with one property per signal;
   * undefined when a schema has no JSON Schema form (transforms, dates, ...). Computed once.
   */
  jsonSchema(): Record<string, unknown> | undefined;
}

/**
 * Any contract; also the contract of untyped handles (signal names are strings, payloads unknown).
 *
 * @example
 * ```ts
 * function groupNames(contracts: AnyGroupContract[]): string[] {
 *   return contracts.map((c) => c.name);
 * }
 * ```
 */
export type AnyGroupContract = GroupContract<string, SignalSchemas>;

/**
 * The signal names of a contract.
 *
 * @example
 * ```ts
 * type Names = SignalName<typeof Battery>; // 'LevelChanged'
 * ```
 */
export type SignalName<TContract extends AnyGroupContract> = keyof TContract['signals'] & string;

/**
 * What `emit` accepts for a signal: the schema's input type (this is what travels on the wire).
 *
 * @example
 * ```ts
 * const value: SignalInput<typeof Battery, 'LevelChanged'> = { percent: 42 };
 * ```
 */
export type SignalInput<TContract extends AnyGroupContract, TSignal extends SignalName<TContract>> = z.input<
  TContract['signals'][TSignal]
>;

/**
 * What handlers and iterators receive for a signal: the schema's output type.
 *
 * @example
 * ```ts
 * sub.on('LevelChanged', (payload: SignalPayload<typeof Battery, 'LevelChanged'>) => {});
 * ```
 */
export type SignalPayload<
  TContract extends AnyGroupContract,
  TSignal extends SignalName<TContract>,
> = z.output<TContract['signals'][TSignal]>;

/**
 * What {@link defineGroup} takes besides the name.
 *
 * @example
 * ```ts
 * const definition: GroupDefinition<{ Ping: z.ZodUndefined }> = { signals: { Ping: z.undefined() } };
 * ```
 */
export interface GroupDefinition<TSignals extends SignalSchemas> {
  /** Signal name → zod schema of its payload. */
  signals: TSignals;
}

class GroupContractImpl<TName extends string, TSignals extends SignalSchemas>
  implements GroupContract<TName, TSignals>
{
  readonly name: TName;
  readonly signals: TSignals;
  readonly #schemas: ReadonlyMap<string, z.ZodType>;
  #jsonSchema: Record<string, unknown> | undefined | null = null;

  constructor(name: TName, signals: TSignals) {
    this.name = name;
    this.signals = signals;
    this.#schemas = new Map(Object.entries(signals));
  }

  schemaFor(signal: string): z.ZodType | undefined {
    return this.#schemas.get(signal);
  }

  jsonSchema(): Record<string, unknown> | undefined {
    if (this.#jsonSchema === null) {
      try {
        // io 'input': the wire carries what emit accepts; receivers run the transforms.
        this.#jsonSchema = z.toJSONSchema(z.object(this.signals), { io: 'input' }) as Record<string, unknown>;
      } catch {
        // Not every schema has a JSON form; the schema is only informative for tools.
        this.#jsonSchema = undefined;
      }
    }
    return this.#jsonSchema;
  }
}

/**
 * Defines a typed group: a name and the zod schema of each signal's payload. Signal names
 * `invalid` and `closed` are reserved (they are subscription events).
 *
 * @example
 * ```ts
 * const Battery = defineGroup('org.example.Battery', {
 *   signals: { LevelChanged: z.object({ percent: z.number().min(0).max(100) }) },
 * });
 * const group = await bus.createGroup(Battery);
 * await group.emit('LevelChanged', { percent: 42 });
 * ```
 */
export function defineGroup<
  const TName extends string,
  const TSignals extends SignalSchemas & { readonly [K in ReservedEventName]?: never },
>(name: TName, definition: GroupDefinition<TSignals>): GroupContract<TName, TSignals> {
  if (typeof name !== 'string' || name === '')
    throw new InvalidArgumentError('a group name must be a non-empty string');
  for (const [signal, schema] of Object.entries(definition.signals)) {
    if ((RESERVED_EVENT_NAMES as readonly string[]).includes(signal)) {
      throw new InvalidArgumentError(`'${signal}' is reserved for subscription events; rename the signal`);
    }
    // Duck-typed, not instanceof: the app may hold a different copy of zod 4 than this package.
    if (typeof (schema as { safeParse?: unknown } | undefined)?.safeParse !== 'function') {
      throw new InvalidArgumentError(`signal '${signal}' of ${name} needs a zod schema`);
    }
  }
  return new GroupContractImpl(name, definition.signals);
}

/** The outcome of {@link checkPayload}. */
export type PayloadCheck = { ok: true; value: unknown } | { ok: false; error: PayloadValidationError };

/**
 * Validates `value` as the payload of `signal` in `contract`; returns the parsed value (the schema's
 * output) or a PayloadValidationError carrying the issues.
 */
export function checkPayload(contract: AnyGroupContract, signal: string, value: unknown): PayloadCheck {
  const schema = contract.schemaFor(signal);
  if (schema === undefined) {
    const issue = { code: 'unknown_signal', path: [], message: `${contract.name} has no signal '${signal}'` };
    return { ok: false, error: new PayloadValidationError(contract.name, signal, [issue]) };
  }
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, error: new PayloadValidationError(contract.name, signal, toIssues(result.error)) };
}

/** Reduces a ZodError to plain `{ code, path, message }` data. */
export function toIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    code: issue.code,
    path: issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key)),
    message: issue.message,
  }));
}
