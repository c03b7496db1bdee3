/*
 * Checks values against a group's published contract (the JSON Schema of `create.schema`, see
 * contract-schema.ts): the daemon checks every emit into a typed group with it, and the CLI checks
 * its input before sending. ajv compiles each signal's schema to a function once; a check is one
 * call of it and allocates nothing when the value fits.
 *
 * Kept out of the package's main barrel (it is `@chorus/protocol/contract-validator`): the SDK's
 * browser build does not need ajv, and ajv compiles with `new Function`.
 *
 * The Chorus markers (contract-schema.ts of the SDK) are keywords here:
 *
 *   { "x-chorus-bytes": true }       the value is a Uint8Array (a MessagePack bin)
 *   { "x-chorus-undefined": true }   no value (the empty payload, a property left out)
 */

import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { BYTES_KEYWORD, UNDEFINED_KEYWORD } from './contract-schema.js';

// The markers are defined once, with the function that writes them (contract-schema.ts).
export { BYTES_KEYWORD, UNDEFINED_KEYWORD };

/**
 * Why a value does not fit: where (keys and array indexes from the payload's root, as BAD_FIELD's
 * `path`) and what is wrong, in words. Sent as the `data` of INVALID_PAYLOAD.
 */
export interface PayloadIssue {
  readonly path: readonly (string | number)[];
  readonly reason: string;
}

/**
 * A contract's schema compiled for checking. `checkSignal` and `checkInput` return undefined when
 * the value fits, else the first problem found.
 *
 * @example
 * ```ts
 * const contract = compileContract(schema);
 * const issue = contract?.checkSignal('Said', { text: 42 }); // { path: ['text'], reason: 'must be string' }
 * ```
 */
export interface CompiledContract {
  /** The signals the contract declares, in its order. */
  readonly signals: readonly string[];
  /** The methods the contract declares, in its order. */
  readonly methods: readonly string[];
  /** Checks the payload of `signal`; `value` undefined is the empty payload (no value). */
  checkSignal(signal: string, value: unknown): PayloadIssue | undefined;
  /** Checks the input of `method` (compiled on first use: the daemon never checks calls). */
  checkInput(method: string, value: unknown): PayloadIssue | undefined;
  /** The schema of a signal's payload, or of a method's input, for tools (`--example`). */
  signalSchema(signal: string): unknown;
  inputSchema(method: string): unknown;
}

/**
 * The schema cannot be compiled (it is not JSON Schema 2020-12, a `$ref` leads nowhere, a
 * pattern is no regular expression, ...): a daemon refuses it at `create` with INVALID_SCHEMA.
 */
export class ContractSchemaError extends Error {
  override readonly name = 'ContractSchemaError';
}

interface Entry {
  readonly validate: ValidateFunction;
  /** The empty payload fits: the contract marks the signal as no value, or does not require it. */
  readonly acceptsNoValue: boolean;
}

/**
 * Compiles a published schema. Returns undefined when the schema is no contract
 * (`properties.signals.properties` is not an object): such a schema is stored for tools only.
 * Throws ContractSchemaError when it is a schema ajv cannot compile.
 */
export function compileContract(schema: unknown): CompiledContract | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    if (typeof schema === 'boolean') return undefined;
    throw new ContractSchemaError('a schema must be a JSON Schema object');
  }
  // The root is the contract as published; `$schema` is left out so that any draft's URI (or none)
  // is read as 2020-12, the draft zod writes, rather than refused as an unknown meta-schema.
  const { $schema: _ignored, ...root } = schema as Record<string, unknown>;
  const meta = metaValidator();
  if (!meta.validateSchema(root)) {
    throw new ContractSchemaError(
      `not JSON Schema 2020-12: ${meta.errorsText(meta.errors, { dataVar: 'schema' })}`,
    );
  }
  const ajv = newAjv(false);
  try {
    ajv.addSchema(root, ROOT);
  } catch (error) {
    throw new ContractSchemaError(describe(error));
  }
  const signals = objectAt(objectAt(objectAt(root, 'properties'), 'signals'), 'properties');
  if (signals === undefined) return undefined;
  const signalsNode = objectAt(objectAt(root, 'properties'), 'signals');
  const required = new Set(arrayAt(signalsNode, 'required'));
  const entries = new Map<string, Entry>();
  for (const [signal, signalSchema] of Object.entries(signals)) {
    entries.set(signal, {
      validate: compileAt(ajv, ['properties', 'signals', 'properties', signal]),
      acceptsNoValue: !required.has(signal) || marksNoValue(signalSchema),
    });
  }
  const methods = objectAt(objectAt(objectAt(root, 'properties'), 'methods'), 'properties') ?? {};
  const inputs = new Map<string, ValidateFunction>();
  return {
    signals: [...entries.keys()],
    methods: Object.keys(methods),
    checkSignal(signal, value) {
      const entry = entries.get(signal);
      if (entry === undefined) return { path: [], reason: unknownMember('signal', signal, this.signals) };
      if (value === undefined) {
        return entry.acceptsNoValue
          ? undefined
          : { path: [], reason: 'a payload is required (the empty payload is no value)' };
      }
      return entry.validate(value) ? undefined : issueOf(entry.validate.errors);
    },
    checkInput(method, value) {
      if (!Object.hasOwn(methods, method)) {
        return { path: [], reason: unknownMember('method', method, this.methods) };
      }
      let validate = inputs.get(method);
      if (validate === undefined) {
        validate = compileAt(ajv, ['properties', 'methods', 'properties', method, 'properties', 'input']);
        inputs.set(method, validate);
      }
      if (value === undefined)
        return marksNoValue(this.inputSchema(method))
          ? undefined
          : { path: [], reason: 'an input is required' };
      return validate(value) ? undefined : issueOf(validate.errors);
    },
    signalSchema: (signal) => (Object.hasOwn(signals, signal) ? signals[signal] : undefined),
    inputSchema: (method) => objectAt(objectAt(objectAt(methods, method), 'properties'), 'input'),
  };
}

/**
 * Compiled contracts by the JSON text of their schema, the least recently used dropped past
 * `maxEntries`: a thousand groups of one contract compile it once.
 */
export class ContractCache {
  readonly #entries = new Map<string, CompiledContract | undefined>();
  readonly #maxEntries: number;

  constructor(maxEntries = 256) {
    this.#maxEntries = maxEntries;
  }

  /** The compiled `schema`, whose JSON text is `text`; throws ContractSchemaError as compileContract. */
  get(text: string, schema: unknown): CompiledContract | undefined {
    if (this.#entries.has(text)) {
      const hit = this.#entries.get(text);
      this.#entries.delete(text);
      this.#entries.set(text, hit);
      return hit;
    }
    const compiled = compileContract(schema);
    this.#entries.set(text, compiled);
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    return compiled;
  }

  get size(): number {
    return this.#entries.size;
  }
}

const ROOT = 'chorus:contract';

/**
 * Checks schemas against the meta-schema. One for all: compiling the 2020-12 meta-schema takes
 * a few hundred ms, paid once (at the first contract), where a per-contract instance that skips
 * it costs about a millisecond. Each contract gets an instance of its own so that a dropped
 * contract leaves nothing behind in a shared one (ajv keeps every schema it compiled).
 */
let meta: Ajv2020 | undefined;

function metaValidator(): Ajv2020 {
  meta ??= newAjv(true);
  return meta;
}

function newAjv(validateSchema: boolean): Ajv2020 {
  const ajv = new Ajv2020({
    validateSchema,
    // The first problem is enough to refuse, and stopping there is faster.
    allErrors: false,
    // Contracts come from zod (`.meta()` adds keys of its own) or from any client: unknown keywords
    // and formats are ignored, not refused, as JSON Schema says of unknown keywords. zod writes a
    // `pattern` beside each string format, so formats are still checked where zod checks them.
    strict: false,
    validateFormats: false,
    logger: false,
    // Errors carry their schema, so that a failed `not` can be told from the no-value marker.
    // It costs nothing on a value that fits.
    verbose: true,
    // zod's patterns are JavaScript regular expressions, written for the `u`-less RegExp zod uses.
    unicodeRegExp: false,
  });
  ajv.addKeyword({
    keyword: BYTES_KEYWORD,
    schemaType: 'boolean',
    errors: false,
    validate: (marked: boolean, data: unknown) => !marked || data instanceof Uint8Array,
  });
  ajv.addKeyword({
    keyword: UNDEFINED_KEYWORD,
    schemaType: 'boolean',
    errors: false,
    validate: (marked: boolean, data: unknown) => !marked || data === undefined,
  });
  return ajv;
}

function compileAt(ajv: Ajv2020, path: readonly string[]): ValidateFunction {
  const pointer = path
    .map((key) => encodeURIComponent(key.replace(/~/g, '~0').replace(/\//g, '~1')))
    .join('/');
  try {
    return ajv.compile({ $ref: `${ROOT}#/${pointer}` });
  } catch (error) {
    throw new ContractSchemaError(`${path.filter((_, i) => i % 2 === 1).join('.')}: ${describe(error)}`);
  }
}

function marksNoValue(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false;
  const node = schema as Record<string, unknown>;
  if (node[UNDEFINED_KEYWORD] === true) return true;
  for (const key of ['anyOf', 'oneOf']) {
    const branches = node[key];
    if (Array.isArray(branches) && branches.some(marksNoValue)) return true;
  }
  return false;
}

function issueOf(errors: readonly ErrorObject[] | null | undefined): PayloadIssue {
  const error = errors?.[0];
  if (error === undefined) return { path: [], reason: 'does not fit the contract' };
  const path: (string | number)[] = pathOf(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      path.push(String(params['missingProperty']));
      return { path, reason: 'is required' };
    case 'additionalProperties':
      path.push(String(params['additionalProperty']));
      return { path, reason: 'is not in the contract' };
    case BYTES_KEYWORD:
      return { path, reason: 'must be bytes (a MessagePack bin)' };
    case UNDEFINED_KEYWORD:
      return { path, reason: 'must be left out (no value)' };
    case 'not':
      if ((error.parentSchema as Record<string, unknown> | undefined)?.[UNDEFINED_KEYWORD] === true)
        return { path, reason: 'must be left out (no value)' };
      return { path, reason: error.message ?? 'must not match' };
    default:
      return { path, reason: error.message ?? `fails ${error.keyword}` };
  }
}

/** A JSON Pointer (`/cells/0/x`) as keys and indexes (`['cells', 0, 'x']`). */
function pathOf(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => {
      const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
      return /^(0|[1-9][0-9]*)$/.test(key) ? Number(key) : key;
    });
}

function unknownMember(kind: string, name: string, known: readonly string[]): string {
  const list = known.length === 0 ? `it has no ${kind}s` : `its ${kind}s: ${known.join(', ')}`;
  return `the contract has no ${kind} '${name}' (${list})`;
}

function objectAt(node: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
  const value = (node as Record<string, unknown>)[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function arrayAt(node: unknown, key: string): string[] {
  if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return [];
  const value = (node as Record<string, unknown>)[key];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
