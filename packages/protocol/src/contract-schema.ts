/*
 * The JSON Schema a group publishes for its contract (`create`'s `schema`, answered by
 * GetGroupSchema and ListGroups), computed one way for every group: the SDK's `createGroup` and the
 * daemon's own `org.chorus.Bus` both call this function, so tools read them alike. It is
 * `z.toJSONSchema` (input side, what travels on the wire: what emit and call accept, what services
 * return; receivers run the transforms) of
 *
 *   z.object({ signals: z.object({ Sig: payload }), methods: z.object({ M: z.object({ input, output }) }) })
 *
 * with two Chorus markers for the wire values JSON has no word for (a JSON Schema validator can be
 * taught each as a custom keyword; a validator that was not accepts any value there for bytes,
 * and refuses every present value for "no value", which is what they mean):
 *
 *   bytes     { "x-chorus-bytes": true }                      a MessagePack bin, a Uint8Array
 *   no value  { "not": {}, "x-chorus-undefined": true }       the empty payload / a property left out
 *
 * Anything else without a JSON form (a z.custom, a transform as the wire form, a date, a bigint,
 * a map, ...) is a problem with its path: publishing `{}` in its place would claim the group
 * accepts what the contract refuses, and comparing contracts would then be wrong.
 */

import { z } from 'zod';

/** The key that marks a bytes value (`Uint8Array`, a MessagePack bin) in a published schema. */
export const BYTES_KEYWORD = 'x-chorus-bytes';
/** The key that marks "no value" (the empty payload, a property left out) in a published schema. */
export const UNDEFINED_KEYWORD = 'x-chorus-undefined';
/**
 * Marks, in the schema a contract is compared with (never in a published one), a place whose
 * schema has no JSON form: the comparison reports it as "cannot compare".
 */
export const UNREPRESENTABLE_KEYWORD = 'x-chorus-unrepresentable';

/**
 * One place of a contract and what is wrong there: `path` is dotted from the contract's root
 * (`signals.LevelChanged.percent`, `methods.GetLevel.output.cells[].volts`; `[]` an array's items,
 * `[0]` a tuple member, `.*` a record's values).
 *
 * @example
 * ```ts
 * const issue: ContractIssue = { path: 'signals.Tick.at', reason: 'a Date has no JSON Schema form (...)' };
 * ```
 */
export interface ContractIssue {
  readonly path: string;
  readonly reason: string;
}

/** The outcome of {@link contractJsonSchema}: the schema, and the places it could not describe. */
export interface ContractJsonSchema {
  readonly schema: Record<string, unknown>;
  /** Empty when the schema describes the whole contract. */
  readonly problems: readonly ContractIssue[];
}

type ZodInternals = {
  _zod: { def: { type: string; values?: unknown[] }; bag?: { Class?: unknown } };
};

// zod node type → why it has no JSON form (and what to use instead).
const UNREPRESENTABLE: Readonly<Record<string, string>> = {
  custom: 'a z.custom() or z.instanceof() has no JSON Schema form (for bytes use z.instanceof(Uint8Array))',
  transform: 'a transform as the wire form has no JSON Schema form (transform a typed value instead)',
  date: 'a Date has no JSON Schema form (send an ISO string, z.iso.datetime(), or a number)',
  bigint: 'a bigint has no JSON Schema form (send a number or a string)',
  symbol: 'a symbol cannot travel on the bus',
  nan: 'NaN has no JSON Schema form',
  map: 'a Map has no JSON Schema form (use z.record())',
  set: 'a Set has no JSON Schema form (use z.array())',
  function: 'a function cannot travel on the bus',
  promise: 'a promise cannot travel on the bus',
};

/**
 * The JSON Schema of a contract's signals and methods, with the Chorus markers, and the places
 * that have no JSON form. Those places hold {@link UNREPRESENTABLE_KEYWORD}: such a schema is
 * never published (the SDK's createGroup refuses it), but a subscriber's may be compared, and the
 * comparison then says it cannot compare there.
 *
 * @example
 * ```ts
 * const { schema, problems } = contractJsonSchema(
 *   { LevelChanged: z.object({ percent: z.number() }) },
 *   { GetLevel: { input: z.object({}), output: z.object({ percent: z.number() }) } },
 * );
 * ```
 */
export function contractJsonSchema(
  signals: Readonly<Record<string, z.ZodType>>,
  methods: Readonly<Record<string, { readonly input: z.ZodType; readonly output: z.ZodType }>>,
): ContractJsonSchema {
  const problems: ContractIssue[] = [];
  const methodObjects: Record<string, z.ZodType> = {};
  for (const [method, { input, output }] of Object.entries(methods))
    methodObjects[method] = z.object({ input, output });
  const contract = z.object({ signals: z.object(signals), methods: z.object(methodObjects) });
  const schema = z.toJSONSchema(contract, {
    // io 'input': the wire carries what emit and call accept (and what services return);
    // receivers run the transforms.
    io: 'input',
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema, path }) => {
      const internals = zodSchema as unknown as ZodInternals;
      const { type, values } = internals._zod.def;
      const json = jsonSchema as Record<string, unknown>;
      if (type === 'custom' && internals._zod.bag?.Class === Uint8Array) {
        json[BYTES_KEYWORD] = true;
      } else if (type === 'undefined' || type === 'void') {
        json['not'] = {};
        json[UNDEFINED_KEYWORD] = true;
      } else if (
        type === 'literal' &&
        values?.some((value) => value === undefined || typeof value === 'bigint') === true
      ) {
        problem(json, path, 'a literal undefined or bigint has no JSON Schema form (use .optional())');
      } else if (UNREPRESENTABLE[type] !== undefined) {
        problem(json, path, UNREPRESENTABLE[type]);
      }
    },
  }) as Record<string, unknown>;
  return { schema, problems };

  function problem(json: Record<string, unknown>, path: (string | number)[], reason: string): void {
    json[UNREPRESENTABLE_KEYWORD] = reason;
    problems.push({ path: readablePath(path), reason });
  }
}

/**
 * A JSON Schema path as a reader writes it: `properties.signals.properties.A.properties.cells.items`
 * → `signals.A.cells[]`; tuple members `[0]`, record values `.*`; union branches are left out.
 */
function readablePath(path: readonly (string | number)[]): string {
  let text = '';
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    const next = path[i + 1];
    if ((key === 'properties' || key === '$defs') && next !== undefined) {
      text += `${key === '$defs' ? '.$defs' : ''}.${String(next)}`;
      i++;
    } else if (key === 'prefixItems' && next !== undefined) {
      text += `[${String(next)}]`;
      i++;
    } else if ((key === 'anyOf' || key === 'oneOf' || key === 'allOf') && next !== undefined) {
      i++;
    } else if (key === 'items') {
      text += '[]';
    } else if (key === 'additionalProperties') {
      text += '.*';
    } else if (key !== 'not') {
      text += `.${String(key)}`;
    }
  }
  return text.startsWith('.') ? text.slice(1) : text;
}
