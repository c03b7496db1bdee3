/*
 * A schema node as a list of alternatives of one kind each: `{ type: ['string', 'null'] }` is a
 * string alternative and a null one, `anyOf` lists its branches', an enum groups its values by
 * kind. A publisher's node may be read more widely than it is (keywords that only narrow are
 * ignored); a subscriber's must be read exactly, or not at all ("cannot").
 */

import { BYTES_KEYWORD, UNDEFINED_KEYWORD, UNREPRESENTABLE_KEYWORD } from '@chorus/protocol';
import {
  ANNOTATIONS,
  acceptsNothing,
  isJson,
  type Json,
  type Located,
  resolve,
  typeOfValue,
} from './json-schema.js';

export type Kind = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object' | 'bytes' | 'undefined';

/** One kind of value a node accepts, with the node whose keywords constrain it. */
export interface Alternative {
  readonly kind: Kind;
  readonly node: Json;
  readonly root: unknown;
  /** A number alternative that accepts integers only. */
  readonly integer: boolean;
  /** When the alternative accepts only these values (an enum, a const). */
  readonly values?: readonly unknown[];
}

export type Side = 'publisher' | 'subscriber';

const JSON_KINDS: readonly Kind[] = ['null', 'boolean', 'number', 'string', 'array', 'object'];

/** The alternatives of a resolved node, or why they cannot be told. */
export function alternativesOf(located: Located, side: Side): { list: Alternative[] } | { cannot: string } {
  const { node, root } = located;
  if (node === true) return { list: everyKind({}, root, side) };
  if (!isJson(node) || acceptsNothing(node)) return { list: [] };
  const one = (kind: Kind): { list: Alternative[] } => ({ list: [{ kind, node, root, integer: false }] });
  if (node[BYTES_KEYWORD] === true) return one('bytes');
  if (node[UNDEFINED_KEYWORD] === true) return one('undefined');
  if (node[UNREPRESENTABLE_KEYWORD] !== undefined) {
    if (side === 'subscriber') return { cannot: String(node[UNREPRESENTABLE_KEYWORD]) };
    return { list: everyKind({}, root, side) };
  }
  const branches = branchesOf(node, root, side);
  if (branches !== undefined) {
    if ('cannot' in branches) return branches;
    const list: Alternative[] = [];
    for (const branch of branches.list) {
      const resolved = resolve({ node: branch, root });
      if ('cannot' in resolved) return { cannot: `the ${side}'s ${resolved.cannot}` };
      if (side === 'subscriber' && (resolved.siblings.length > 0 || hasKey(resolved.node, 'allOf'))) {
        return { cannot: "the subscriber's union has a branch that combines schemas" };
      }
      const inner = alternativesOf({ node: resolved.node, root }, side);
      if ('cannot' in inner) return inner;
      list.push(...inner.list);
    }
    return { list };
  }
  const types = typesOf(node);
  if (types === 'invalid') return { cannot: `the ${side}'s 'type' is not a list of JSON types` };
  const values = valuesOf(node);
  if (values !== undefined) return valueAlternatives(node, root, types, values, side);
  if (types === undefined) return { list: everyKind(node, root, side) };
  const list: Alternative[] = [];
  for (const type of types) {
    if (type === 'integer' && types.includes('number')) continue;
    const kind = (type === 'integer' ? 'number' : type) as Kind;
    list.push({ kind, node, root, integer: type === 'integer' });
  }
  return { list };
}

/** `an integer`, `a string`, `bytes`, `no value`, ... for reasons. */
export function kindLabel(alternative: Pick<Alternative, 'kind' | 'integer'>): string {
  if (alternative.kind === 'number') return alternative.integer ? 'an integer' : 'a number';
  switch (alternative.kind) {
    case 'array':
    case 'object':
      return `an ${alternative.kind}`;
    case 'null':
    case 'bytes':
      return alternative.kind;
    case 'undefined':
      return 'no value';
    default:
      return `a ${alternative.kind}`;
  }
}

/** A copy of `node` without `keys`. */
export function withoutKeys(node: Json, keys: readonly string[]): Json {
  const copy: Json = {};
  for (const [key, value] of Object.entries(node)) if (!keys.includes(key)) copy[key] = value;
  return copy;
}

// A node without `type`: any value, so every kind. A publisher's may also be bytes or no value;
// a subscriber's is only trusted with the JSON kinds and bytes (no value is judged elsewhere).
function everyKind(node: Json, root: unknown, side: Side): Alternative[] {
  const kinds: Kind[] = [...JSON_KINDS, 'bytes', ...(side === 'publisher' ? (['undefined'] as const) : [])];
  return kinds.map((kind) => ({ kind, node, root, integer: false }));
}

function branchesOf(
  node: Json,
  root: unknown,
  side: Side,
): { list: unknown[] } | { cannot: string } | undefined {
  const anyOf = node['anyOf'];
  const oneOf = node['oneOf'];
  if (anyOf === undefined && oneOf === undefined) return undefined;
  if (side === 'publisher') {
    // Either list (and ignoring the siblings) is at least as wide as the node: safe to read.
    const list = Array.isArray(anyOf) ? anyOf : oneOf;
    return Array.isArray(list) ? { list } : { cannot: "the publisher's anyOf/oneOf is not a list" };
  }
  const extra = Object.keys(node).find((key) => key !== 'anyOf' && key !== 'oneOf' && !ANNOTATIONS.has(key));
  if (extra !== undefined || (anyOf !== undefined && oneOf !== undefined)) {
    return { cannot: `the subscriber's union also has '${extra ?? 'anyOf'}'` };
  }
  if (Array.isArray(anyOf)) return { list: anyOf };
  if (!Array.isArray(oneOf)) return { cannot: "the subscriber's oneOf is not a list" };
  // oneOf refuses a value two branches accept; read as anyOf only when no two can (a tag).
  if (oneOf.length > 1 && !tagged(oneOf, root)) {
    return { cannot: "the subscriber's oneOf branches may overlap (no tag property tells them apart)" };
  }
  return { list: oneOf };
}

// zod's discriminated unions: every branch an object requiring a property whose const/enum
// values no other branch has.
function tagged(branches: readonly unknown[], root: unknown): boolean {
  const objects = branches.map((branch) => resolve({ node: branch, root }));
  const nodes = objects.map((resolved) => ('cannot' in resolved ? undefined : resolved.node));
  if (!nodes.every(isJson)) return false;
  const first = nodes[0] as Json;
  const candidates = Object.keys(isJson(first['properties']) ? first['properties'] : {});
  return candidates.some((tag) => {
    const seen = new Set<unknown>();
    for (const branch of nodes as Json[]) {
      const required = branch['required'];
      const properties = branch['properties'];
      if (!Array.isArray(required) || !required.includes(tag) || !isJson(properties)) return false;
      const values = isJson(properties[tag]) ? valuesOf(properties[tag] as Json) : undefined;
      if (values === undefined) return false;
      for (const value of values) {
        if (seen.has(value)) return false;
        seen.add(value);
      }
    }
    return true;
  });
}

function typesOf(node: Json): string[] | undefined | 'invalid' {
  const type = node['type'];
  if (type === undefined) return undefined;
  const list = Array.isArray(type) ? type : [type];
  const known = [...JSON_KINDS, 'integer'];
  return list.every((one) => typeof one === 'string' && known.includes(one)) ? (list as string[]) : 'invalid';
}

function valuesOf(node: Json): unknown[] | undefined {
  const listed = Array.isArray(node['enum']) ? (node['enum'] as unknown[]) : undefined;
  if (!('const' in node)) return listed;
  const constant = node['const'];
  return listed === undefined ? [constant] : listed.filter((value) => Object.is(value, constant));
}

function valueAlternatives(
  node: Json,
  root: unknown,
  types: string[] | undefined,
  values: readonly unknown[],
  side: Side,
): { list: Alternative[] } | { cannot: string } {
  const byKind = new Map<Kind, unknown[]>();
  for (const value of values) {
    const type = typeOfValue(value);
    if (type === 'array' || type === 'object') return { cannot: `the ${side}'s enum has an array or object` };
    const fits =
      types === undefined || types.includes(type) || (type === 'integer' && types.includes('number'));
    if (!fits) continue;
    const kind = (type === 'integer' ? 'number' : type) as Kind;
    byKind.set(kind, [...(byKind.get(kind) ?? []), value]);
  }
  return {
    list: [...byKind].map(([kind, members]) => ({ kind, node, root, integer: false, values: members })),
  };
}

function hasKey(node: unknown, key: string): boolean {
  return isJson(node) && key in node;
}
