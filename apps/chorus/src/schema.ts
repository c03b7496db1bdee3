/*
 * A group's published schema, made readable. The SDK publishes `z.toJSONSchema` of
 *
 *   z.object({ signals: z.object({ Sig: payload }), methods: z.object({ M: z.object({ input, output }) }) })
 *
 * so signals sit at properties.signals.properties.Sig and methods at
 * properties.methods.properties.M.properties.{input,output}; the bus's own org.chorus.Bus schema
 * has the same shape. describeContract() digests that into rows (one per field, nested fields as
 * dotted paths), and renderContract() prints them.
 */

import { BYTES_KEYWORD, UNDEFINED_KEYWORD } from '@chorus/client';
import type { Style } from './style.js';
import { type Colour, renderTable } from './table.js';

type Json = Record<string, unknown>;

/** One row: a field at `path` (`percent`, `cells[].volts`, `tags.*`), or the value itself (`''`). */
export interface FieldDoc {
  readonly path: string;
  readonly type: string;
  readonly optional: boolean;
  /** Constraints, default, format, description. */
  readonly notes: readonly string[];
}

/** A payload, an input or an output. */
export interface ValueDoc {
  /** The type of the value itself (`object` when it has fields). */
  readonly type: string;
  /** For objects with properties: one row per field, nested ones flattened. */
  readonly fields: readonly FieldDoc[];
  readonly notes: readonly string[];
}

export interface SignalDoc {
  readonly name: string;
  /** The signal may be emitted without a payload. */
  readonly optional: boolean;
  readonly payload: ValueDoc;
}

export interface MethodDoc {
  readonly name: string;
  /** Undefined when the schema does not say (the bus's own schema publishes inputs only). */
  readonly input: ValueDoc | undefined;
  readonly output: ValueDoc | undefined;
}

export interface ContractDoc {
  readonly signals: readonly SignalDoc[];
  readonly methods: readonly MethodDoc[];
}

// Nested fields beyond this depth are summarised by their type (schemas can be recursive).
const MAX_DEPTH = 6;
const MAX_PATTERN_CHARS = 40;

/** The contract in a published schema, or undefined when the schema has another shape. */
export function describeContract(schema: unknown): ContractDoc | undefined {
  if (!isObject(schema)) return undefined;
  const properties = objectAt(schema, 'properties');
  const signals = properties === undefined ? undefined : objectAt(properties, 'signals');
  const methods = properties === undefined ? undefined : objectAt(properties, 'methods');
  if (signals === undefined && methods === undefined) return undefined;
  // Without a `required` list (the bus's own schema has none) nothing can be said either way.
  const listed = Array.isArray(signals?.['required']);
  return {
    signals: entriesOf(signals).map(([name, payload]) => ({
      name,
      optional: listed && !requiredOf(signals).has(name),
      payload: describeValue(payload),
    })),
    methods: entriesOf(methods).map(([name, method]) => {
      const parts = isObject(method) ? objectAt(method, 'properties') : undefined;
      const input = parts?.['input'];
      const output = parts?.['output'];
      return {
        name,
        input: input === undefined ? undefined : describeValue(input),
        output: output === undefined ? undefined : describeValue(output),
      };
    }),
  };
}

/** A value's type and, for an object with properties, its fields. */
export function describeValue(schema: unknown): ValueDoc {
  const fields: FieldDoc[] = [];
  if (isObject(schema) && hasProperties(schema)) collectFields(schema, '', 1, fields);
  return { type: typeName(schema), fields, notes: notesOf(schema) };
}

function collectFields(schema: Json, prefix: string, depth: number, out: FieldDoc[]): void {
  const required = requiredOf(schema);
  for (const [name, field] of entriesOf(schema)) {
    const path = prefix + name;
    out.push({ path, type: typeName(field), optional: !required.has(name), notes: notesOf(field) });
    if (depth >= MAX_DEPTH || !isObject(field)) continue;
    const inner = nestedObject(field);
    if (inner !== undefined) collectFields(inner.schema, `${path}${inner.suffix}.`, depth + 1, out);
  }
}

/** The object schema whose fields are shown under a field: its own, its items', its values'. */
function nestedObject(field: Json): { schema: Json; suffix: string } | undefined {
  if (hasProperties(field)) return { schema: field, suffix: '' };
  const items = field['items'];
  if (isObject(items) && hasProperties(items)) return { schema: items, suffix: '[]' };
  const values = field['additionalProperties'];
  if (isObject(values) && hasProperties(values)) return { schema: values, suffix: '.*' };
  return undefined;
}

/** A short type: `number`, `string | null`, `"ac" | "battery"`, `object[]`, `record<string, number>`. */
export function typeName(schema: unknown, depth = 0): string {
  if (schema === true) return 'any';
  if (schema === false) return 'never';
  if (!isObject(schema) || depth > MAX_DEPTH) return 'any';
  // The SDK's markers for the wire values JSON has no word for (see @chorus/client's README).
  if (schema[BYTES_KEYWORD] === true) return 'bytes';
  if (schema[UNDEFINED_KEYWORD] === true) return 'no value';
  const ref = schema['$ref'];
  if (typeof ref === 'string') return ref === '#' ? 'self' : (ref.split('/').pop() ?? ref);
  if ('const' in schema) return JSON.stringify(schema['const']);
  const values = schema['enum'];
  if (Array.isArray(values)) return union(values.map((value) => JSON.stringify(value)));
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options)) return union(options.map((option) => typeName(option, depth + 1)));
  }
  const all = schema['allOf'];
  if (Array.isArray(all)) return all.map((part) => typeName(part, depth + 1)).join(' & ');
  const type = schema['type'];
  if (Array.isArray(type)) return union(type.map((one) => baseType(schema, String(one), depth)));
  if (typeof type === 'string') return baseType(schema, type, depth);
  if (hasProperties(schema)) return 'object';
  return 'any';
}

function baseType(schema: Json, type: string, depth: number): string {
  if (type === 'array') {
    const tuple = schema['prefixItems'];
    if (Array.isArray(tuple)) return `[${tuple.map((item) => typeName(item, depth + 1)).join(', ')}]`;
    const items = schema['items'];
    if (items === undefined) return 'any[]';
    const inner = typeName(items, depth + 1);
    return inner.includes(' ') ? `(${inner})[]` : `${inner}[]`;
  }
  if (type === 'object' && !hasProperties(schema)) {
    const values = schema['additionalProperties'];
    if (isObject(values)) {
      const keys = schema['propertyNames'];
      return `record<${isObject(keys) ? typeName(keys, depth + 1) : 'string'}, ${typeName(values, depth + 1)}>`;
    }
  }
  return type;
}

function union(parts: string[]): string {
  return [...new Set(parts)].join(' | ');
}

/** Constraints worth telling, in the order people read them. */
export function notesOf(schema: unknown): string[] {
  if (!isObject(schema)) return [];
  const notes: string[] = [];
  const integer = schema['type'] === 'integer';
  const bound = (key: string, label: string): void => {
    const value = schema[key];
    if (typeof value !== 'number') return;
    // zod gives every int() the safe-integer range; saying so is noise.
    if (integer && Math.abs(value) === Number.MAX_SAFE_INTEGER) return;
    notes.push(`${label} ${value}`);
  };
  bound('minimum', '≥');
  bound('exclusiveMinimum', '>');
  bound('maximum', '≤');
  bound('exclusiveMaximum', '<');
  bound('multipleOf', 'multiple of');
  range(notes, schema, 'minLength', 'maxLength', 'length');
  range(notes, schema, 'minItems', 'maxItems', 'items');
  range(notes, schema, 'minProperties', 'maxProperties', 'fields');
  const format = schema['format'];
  if (typeof format === 'string') notes.push(`format ${format}`);
  const pattern = schema['pattern'];
  // A format already says what its (long) pattern checks.
  if (typeof pattern === 'string' && typeof format !== 'string') {
    notes.push(
      `pattern /${pattern.length > MAX_PATTERN_CHARS ? `${pattern.slice(0, MAX_PATTERN_CHARS)}…` : pattern}/`,
    );
  }
  if ('default' in schema) notes.push(`default ${JSON.stringify(schema['default'])}`);
  if (schema['deprecated'] === true) notes.push('deprecated');
  const description = schema['description'];
  if (typeof description === 'string' && description !== '') notes.push(description);
  return notes;
}

function range(notes: string[], schema: Json, minKey: string, maxKey: string, label: string): void {
  const min = schema[minKey];
  const max = schema[maxKey];
  if (typeof min === 'number' && typeof max === 'number') {
    notes.push(min === max ? `${label} ${min}` : `${label} ${min}..${max}`);
  } else if (typeof min === 'number') {
    notes.push(`${label} ≥ ${min}`);
  } else if (typeof max === 'number') {
    notes.push(`${label} ≤ ${max}`);
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectAt(value: Json, key: string): Json | undefined {
  const inner = value[key];
  return isObject(inner) ? inner : undefined;
}

function entriesOf(value: Json | undefined): [string, unknown][] {
  const properties = value === undefined ? undefined : objectAt(value, 'properties');
  return properties === undefined ? [] : Object.entries(properties);
}

function hasProperties(schema: Json): boolean {
  const properties = objectAt(schema, 'properties');
  return properties !== undefined && Object.keys(properties).length > 0;
}

function requiredOf(schema: Json | undefined): Set<string> {
  const required = schema?.['required'];
  return new Set(Array.isArray(required) ? required.filter((name) => typeof name === 'string') : []);
}

/** The contract as lines: a `Signals` and a `Methods` section, each entry with its fields. */
export function renderContract(contract: ContractDoc, style: Style): string[] {
  const lines: string[] = [];
  lines.push(style.bold(`Signals (${contract.signals.length})`));
  if (contract.signals.length === 0) lines.push(style.dim('  (none)'));
  for (const signal of contract.signals) {
    lines.push(`  ${style.cyan(signal.name)}${signal.optional ? style.dim('  (payload optional)') : ''}`);
    lines.push(...renderValue(signal.payload, style, 4));
  }
  lines.push('');
  lines.push(style.bold(`Methods (${contract.methods.length})`));
  if (contract.methods.length === 0) lines.push(style.dim('  (none)'));
  for (const method of contract.methods) {
    lines.push(`  ${style.cyan(method.name)}`);
    for (const [label, value] of [
      ['input', method.input],
      ['output', method.output],
    ] as const) {
      if (value === undefined) {
        lines.push(`    ${label.padEnd(6)}  ${style.dim('(not published)')}`);
      } else if (value.fields.length === 0) {
        lines.push(`    ${label.padEnd(6)}  ${valueSummary(value, style)}`);
      } else {
        lines.push(`    ${label}`);
        lines.push(...renderValue(value, style, 6));
      }
    }
  }
  return lines;
}

/** A value's rows (one per field), or its type on one line when it has no fields. */
export function renderValue(value: ValueDoc, style: Style, indent: number): string[] {
  if (value.fields.length === 0) return [`${' '.repeat(indent)}${valueSummary(value, style)}`];
  const colours: Colour[] = ['bold', 'green', 'dim'];
  return renderTable(
    colours.map((colour) => ({ header: '', colour })),
    value.fields.map((field) => [
      `${field.path}${field.optional ? '?' : ''}`,
      field.type,
      field.notes.join(', '),
    ]),
    style,
    { header: false, indent },
  );
}

function valueSummary(value: ValueDoc, style: Style): string {
  if (value.type === 'object') return style.dim('{} (no fields)');
  const notes = value.notes.length > 0 ? `  ${style.dim(value.notes.join(', '))}` : '';
  return `${style.green(value.type)}${notes}`;
}
