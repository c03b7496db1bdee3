/*
 * What the comparison needs to know about a JSON Schema node: which keywords only annotate, which
 * it understands, how a local `$ref` resolves, and whether a finite value is accepted. Covers the
 * subset `z.toJSONSchema` produces plus the Chorus markers (@chorus/protocol's contract-schema.ts);
 * anything else is "cannot tell" (undefined), never a guess.
 */

import { BYTES_KEYWORD, UNDEFINED_KEYWORD, UNREPRESENTABLE_KEYWORD } from '@chorus/protocol';

export type Json = Record<string, unknown>;

/** A schema node and the document its `$ref`s resolve in. */
export interface Located {
  readonly node: unknown;
  readonly root: unknown;
}

/** Keywords that never change which values a schema accepts. */
export const ANNOTATIONS: ReadonlySet<string> = new Set([
  '$schema',
  '$id',
  'id',
  '$comment',
  '$defs',
  'definitions',
  'title',
  'description',
  'default',
  'examples',
  'readOnly',
  'writeOnly',
  'deprecated',
  'contentEncoding',
  'contentMediaType',
]);

/** Keywords the comparison understands (beyond annotations). */
export const UNDERSTOOD: ReadonlySet<string> = new Set([
  'type',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'allOf',
  'not',
  '$ref',
  BYTES_KEYWORD,
  UNDEFINED_KEYWORD,
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'minProperties',
  'maxProperties',
]);

/**
 * Keywords that make a schema accept *more* than it would without them: a publisher's schema
 * cannot be read as a superset when it has one, so it cannot be compared.
 */
export const WIDENING: ReadonlySet<string> = new Set([
  'patternProperties',
  'additionalItems',
  '$dynamicRef',
  '$recursiveRef',
  UNREPRESENTABLE_KEYWORD,
]);

export function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when the node accepts every value: `true`, or only annotations. */
export function acceptsEverything(node: unknown): boolean {
  if (node === true) return true;
  return isJson(node) && Object.keys(node).every((key) => ANNOTATIONS.has(key));
}

/** True when the node accepts no value at all (`false`, `{ not: {} }`), the no-value marker aside. */
export function acceptsNothing(node: unknown): boolean {
  if (node === false) return true;
  return isJson(node) && node[UNDEFINED_KEYWORD] !== true && acceptsEverything(node['not']);
}

/**
 * Follows `$ref` (local ones: `#`, `#/$defs/Name`, any JSON pointer into the document) until a
 * node without one. Sibling keywords of a `$ref` that constrain are returned as `siblings`.
 */
export function resolve(located: Located): { node: unknown; siblings: string[] } | { cannot: string } {
  let { node } = located;
  const siblings: string[] = [];
  for (let hops = 0; isJson(node) && typeof node['$ref'] === 'string'; hops++) {
    if (hops > 32) return { cannot: 'a $ref chain too long' };
    const ref = node['$ref'];
    for (const key of Object.keys(node)) if (key !== '$ref' && !ANNOTATIONS.has(key)) siblings.push(key);
    const target = pointer(located.root, ref);
    if (target === undefined) return { cannot: `the $ref ${ref} does not resolve in its document` };
    node = target;
  }
  return { node, siblings };
}

function pointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  let node = root;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const key = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isJson(node)) node = node[key];
    else return undefined;
  }
  return node;
}

/** The JSON Schema type name of a value (`integer` for whole numbers), `bytes` for a Uint8Array. */
export function typeOfValue(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/**
 * Whether `node` accepts the primitive `value` (an enum member, a const): true, false, or
 * undefined when this cannot tell (a format, a pattern that does not compile, an unknown keyword).
 */
export function accepts(located: Located, value: unknown, depth = 0): boolean | undefined {
  const resolved = resolve(located);
  if ('cannot' in resolved || resolved.siblings.length > 0 || depth > 32) return undefined;
  const { node } = resolved;
  if (typeof node === 'boolean') return node;
  if (!isJson(node)) return undefined;
  const at = (inner: unknown): Located => ({ node: inner, root: located.root });
  const results: (boolean | undefined)[] = [];
  for (const [key, rule] of Object.entries(node)) {
    if (ANNOTATIONS.has(key)) continue;
    results.push(keywordAccepts(key, rule, node, value, (inner) => accepts(at(inner), value, depth + 1)));
  }
  if (results.includes(false)) return false;
  return results.includes(undefined) ? undefined : true;
}

function keywordAccepts(
  key: string,
  rule: unknown,
  node: Json,
  value: unknown,
  sub: (inner: unknown) => boolean | undefined,
): boolean | undefined {
  const type = typeOfValue(value);
  switch (key) {
    case BYTES_KEYWORD:
      return value instanceof Uint8Array;
    case UNDEFINED_KEYWORD:
      return value === undefined;
    case 'not':
      return node[UNDEFINED_KEYWORD] === true && value === undefined ? true : negate(sub(rule));
    case 'type': {
      const types = Array.isArray(rule) ? rule : [rule];
      return types.includes(type) || (type === 'integer' && types.includes('number'));
    }
    case 'enum':
      return Array.isArray(rule) ? rule.some((member) => Object.is(member, value)) : undefined;
    case 'const':
      return Object.is(rule, value);
    case 'anyOf':
    case 'oneOf': {
      if (!Array.isArray(rule)) return undefined;
      const each = rule.map(sub);
      if (each.includes(undefined)) return undefined;
      const hits = each.filter((hit) => hit === true).length;
      return key === 'anyOf' ? hits > 0 : hits === 1;
    }
    case 'allOf': {
      if (!Array.isArray(rule)) return undefined;
      const each = rule.map(sub);
      return each.includes(false) ? false : each.includes(undefined) ? undefined : true;
    }
    default:
      return typedKeywordAccepts(key, rule, value);
  }
}

function typedKeywordAccepts(key: string, rule: unknown, value: unknown): boolean | undefined {
  if (typeof value === 'number') {
    if (typeof rule !== 'number') return NUMBER_KEYWORDS.has(key) ? undefined : notFor(key);
    switch (key) {
      case 'minimum':
        return value >= rule;
      case 'maximum':
        return value <= rule;
      case 'exclusiveMinimum':
        return value > rule;
      case 'exclusiveMaximum':
        return value < rule;
      case 'multipleOf':
        return Number.isInteger(value / rule);
    }
    return notFor(key);
  }
  if (typeof value === 'string') {
    switch (key) {
      // zod counts UTF-16 code units, and it is zod that validates on receipt.
      case 'minLength':
        return typeof rule === 'number' ? value.length >= rule : undefined;
      case 'maxLength':
        return typeof rule === 'number' ? value.length <= rule : undefined;
      case 'pattern':
        return matches(rule, value);
      case 'format':
        return undefined;
    }
    return notFor(key);
  }
  return notFor(key);
}

const NUMBER_KEYWORDS = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']);

// A keyword of another type does not apply to this value; an unknown keyword cannot be judged.
function notFor(key: string): boolean | undefined {
  return UNDERSTOOD.has(key) ? true : undefined;
}

function negate(result: boolean | undefined): boolean | undefined {
  return result === undefined ? undefined : !result;
}

function matches(pattern: unknown, value: string): boolean | undefined {
  if (typeof pattern !== 'string') return undefined;
  try {
    return new RegExp(pattern).test(value);
  } catch {
    return undefined;
  }
}
