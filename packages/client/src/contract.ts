/*
 * Group contracts: a group name, one zod schema per signal and an input/output pair per method. The
 * schemas are put in Maps once, when the contract is defined, so sending and receiving look a schema
 * up instead of rebuilding it.
 */

import { groupNameProblem, signalNameProblem } from '@chorus/core';
import { contractJsonSchema } from '@chorus/protocol';
import type { z } from 'zod';
import {
  InvalidArgumentError,
  PayloadValidationError,
  UnpublishableContractError,
  type ValidationIssue,
} from './errors.js';

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
 * The schemas of one method: what callers send (`input`) and what the service answers (`output`).
 *
 * @example
 * ```ts
 * const GetLevel = { input: z.object({}), output: z.object({ percent: z.number() }) } satisfies MethodSchema;
 * ```
 */
export interface MethodSchema<TInput extends z.ZodType = z.ZodType, TOutput extends z.ZodType = z.ZodType> {
  readonly input: TInput;
  readonly output: TOutput;
}

/**
 * Method name → its input and output schemas.
 *
 * @example
 * ```ts
 * const methods = { GetLevel: { input: z.object({}), output: z.object({ percent: z.number() }) } } satisfies MethodSchemas;
 * ```
 */
export type MethodSchemas = Readonly<Record<string, MethodSchema>>;

/**
 * Event names of `Subscription.on` other than signals. A contract may not use them as signal names,
 * or `sub.on('closed', ...)` would be ambiguous.
 *
 * @example
 * ```ts
 * RESERVED_EVENT_NAMES.includes('invalid'); // true
 * ```
 */
export const RESERVED_EVENT_NAMES = ['invalid', 'closed', 'gap'] as const;

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
 * A typed group: its name, a schema per signal and the schemas of its methods. Made by
 * {@link defineGroup}; passed to `connect({ join })`, `bus.createGroup`, `bus.join`, `bus.emit`,
 * `bus.serve` and `bus.call`.
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
  TMethods extends MethodSchemas = MethodSchemas,
> {
  readonly name: TName;
  readonly signals: TSignals;
  readonly methods: TMethods;
  /** The schema of `signal`, or undefined if the contract has no such signal. */
  schemaFor(signal: string): z.ZodType | undefined;
  /** The schemas of `method`, or undefined if the contract has no such method. */
  methodFor(method: string): MethodSchema | undefined;
  /**
   * JSON Schema (input side, what travels on the wire) of the contract, published at createGroup:
   * an object with `signals` (one property per signal: its payload) and `methods` (one property
   * per method: an object with `input` and `output`). Bytes (`z.instanceof(Uint8Array)`, or
   * `bytes()`) are `{ "x-chorus-bytes": true }`, no value (`z.undefined()`) is
   * `{ "not": {}, "x-chorus-undefined": true }`. Throws UnpublishableContractError (with each
   * path) when a schema has no JSON form (a z.custom, a transform as the wire form, a date, ...).
   * Computed once.
   */
  jsonSchema(): Record<string, unknown>;
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
export type AnyGroupContract = GroupContract<string, SignalSchemas, MethodSchemas>;

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
 * The method names of a contract.
 *
 * @example
 * ```ts
 * type Names = MethodName<typeof Battery>; // 'GetLevel'
 * ```
 */
export type MethodName<TContract extends AnyGroupContract> = keyof TContract['methods'] & string;

/**
 * What `bus.call` accepts as a method's input: the input schema's input type (what travels).
 *
 * @example
 * ```ts
 * const input: MethodInput<typeof Battery, 'GetLevel'> = {};
 * ```
 */
export type MethodInput<TContract extends AnyGroupContract, TMethod extends MethodName<TContract>> = z.input<
  TContract['methods'][TMethod]['input']
>;

/**
 * What `bus.call` resolves with: the output schema's output type (transforms applied by the caller).
 *
 * @example
 * ```ts
 * const { percent }: MethodOutput<typeof Battery, 'GetLevel'> = await bus.call(Battery, 'GetLevel', {});
 * ```
 */
export type MethodOutput<
  TContract extends AnyGroupContract,
  TMethod extends MethodName<TContract>,
> = z.output<TContract['methods'][TMethod]['output']>;

/**
 * What {@link defineGroup} takes besides the name.
 *
 * @example
 * ```ts
 * const definition: GroupDefinition<{ Ping: z.ZodUndefined }> = { signals: { Ping: z.undefined() } };
 * ```
 */
export interface GroupDefinition<
  TSignals extends SignalSchemas = SignalSchemas,
  TMethods extends MethodSchemas = MethodSchemas,
> {
  /** Signal name → zod schema of its payload. */
  signals?: TSignals;
  /** Method name → zod schemas of its input and output. */
  methods?: TMethods;
}

class GroupContractImpl<TName extends string, TSignals extends SignalSchemas, TMethods extends MethodSchemas>
  implements GroupContract<TName, TSignals, TMethods>
{
  readonly name: TName;
  readonly signals: TSignals;
  readonly methods: TMethods;
  readonly #schemas: ReadonlyMap<string, z.ZodType>;
  readonly #methods: ReadonlyMap<string, MethodSchema>;
  #jsonSchema: Record<string, unknown> | UnpublishableContractError | undefined;

  constructor(name: TName, signals: TSignals, methods: TMethods) {
    this.name = name;
    this.signals = signals;
    this.methods = methods;
    this.#schemas = new Map(Object.entries(signals));
    this.#methods = new Map(Object.entries(methods));
  }

  schemaFor(signal: string): z.ZodType | undefined {
    return this.#schemas.get(signal);
  }

  methodFor(method: string): MethodSchema | undefined {
    return this.#methods.get(method);
  }

  jsonSchema(): Record<string, unknown> {
    if (this.#jsonSchema === undefined) {
      // One function for every contract, the bus's own included (the daemon publishes it the same way).
      const { schema, problems } = contractJsonSchema(this.signals, this.methods);
      // [GUARANTEE: compatibility] a schema with a hole would claim the group accepts what the
      // contract refuses (and contracts compared with it would pass wrongly): refuse instead.
      this.#jsonSchema = problems.length === 0 ? schema : new UnpublishableContractError(this.name, problems);
    }
    if (this.#jsonSchema instanceof UnpublishableContractError) throw this.#jsonSchema;
    return this.#jsonSchema;
  }
}

/**
 * Defines a typed group: a name, the zod schema of each signal's payload and the input and output
 * schemas of each method. Signal names `invalid`, `closed` and `gap` are reserved (they are
 * subscription events).
 *
 * @example
 * ```ts
 * const Battery = defineGroup('org.example.Battery', {
 *   signals: { LevelChanged: z.object({ percent: z.number().min(0).max(100) }) },
 *   methods: { GetLevel: { input: z.object({}), output: z.object({ percent: z.number() }) } },
 * });
 * const group = await bus.createGroup(Battery);
 * await group.emit('LevelChanged', { percent: 42 });
 * ```
 */
export function defineGroup<
  const TName extends string,
  const TSignals extends SignalSchemas & { readonly [K in ReservedEventName]?: never } = {},
  const TMethods extends MethodSchemas = {},
>(name: TName, definition: GroupDefinition<TSignals, TMethods>): GroupContract<TName, TSignals, TMethods> {
  // [GUARANTEE: contracts] a name the bus would refuse is refused here, where the app wrote it.
  const problem = typeof name === 'string' ? groupNameProblem(name) : 'not a string';
  if (problem !== undefined) {
    throw new InvalidArgumentError(
      `${JSON.stringify(name)} is not a valid group name (${problem}); a group name looks like org.example.Battery`,
    );
  }
  const signals = definition.signals ?? ({} as TSignals);
  const methods = definition.methods ?? ({} as TMethods);
  for (const [signal, schema] of Object.entries(signals)) {
    const bad = signalNameProblem(signal);
    if (bad !== undefined) {
      throw new InvalidArgumentError(
        `signal ${JSON.stringify(signal)} of ${name} is not a valid signal name (${bad})`,
      );
    }
    if ((RESERVED_EVENT_NAMES as readonly string[]).includes(signal)) {
      throw new InvalidArgumentError(`'${signal}' is reserved for subscription events; rename the signal`);
    }
    if (!isSchema(schema)) throw new InvalidArgumentError(`signal '${signal}' of ${name} needs a zod schema`);
  }
  for (const [method, schemas] of Object.entries(methods)) {
    const bad = signalNameProblem(method);
    if (bad !== undefined) {
      throw new InvalidArgumentError(
        `method ${JSON.stringify(method)} of ${name} is not a valid method name (${bad})`,
      );
    }
    const pair = schemas as Partial<MethodSchema> | undefined;
    if (!isSchema(pair?.input) || !isSchema(pair?.output)) {
      throw new InvalidArgumentError(`method '${method}' of ${name} needs zod schemas { input, output }`);
    }
  }
  return new GroupContractImpl(name, signals, methods);
}

// Duck-typed, not instanceof: the app may hold a different copy of zod 4 than this package.
function isSchema(value: unknown): value is z.ZodType {
  return typeof (value as { safeParse?: unknown } | undefined)?.safeParse === 'function';
}

/** The outcome of {@link checkPayload}. */
export type PayloadCheck = { ok: true; value: unknown } | { ok: false; error: PayloadValidationError };

/**
 * Validates `value` as the payload of `signal` in `contract`; returns the parsed value (the schema's
 * output) or a PayloadValidationError carrying the issues.
 */
export function checkPayload(contract: AnyGroupContract, signal: string, value: unknown): PayloadCheck {
  const result = contract.schemaFor(signal)?.safeParse(value);
  if (result?.success === true) return { ok: true, value: result.data };
  return { ok: false, error: payloadError(contract, signal, result?.error) };
}

/**
 * The PayloadValidationError for `signal`: the schema's issues, or `unknown_signal` when the
 * contract has no such signal (`error` undefined).
 */
export function payloadError(
  contract: AnyGroupContract,
  signal: string,
  error: z.ZodError | undefined,
): PayloadValidationError {
  if (error !== undefined) return new PayloadValidationError(contract.name, signal, toIssues(error));
  const issue = { code: 'unknown_signal', path: [], message: `${contract.name} has no signal '${signal}'` };
  return new PayloadValidationError(contract.name, signal, [issue]);
}

/** Reduces a ZodError to plain `{ code, path, message }` data. */
export function toIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    code: issue.code,
    path: issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key)),
    message: issue.message,
  }));
}

/** The outcome of {@link checkValue}. */
export type ValueCheck = { ok: true; value: unknown } | { ok: false; issues: ValidationIssue[] };

/** Validates `value` against a method's input or output schema; the parsed value, or the issues. */
export function checkValue(schema: z.ZodType, value: unknown): ValueCheck {
  const result = schema.safeParse(value);
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: toIssues(result.error) };
}
