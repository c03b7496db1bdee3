/*
 * Comparing two alternatives of the same kind: the publisher's constraints must be at least as
 * tight as the subscriber's (bounds, lengths, patterns, items, properties). Each function reads
 * the publisher's node widely (a keyword it does not know narrows, so ignoring it is safe).
 */

import type { ContractIssue } from '../errors.js';
import type { Alternative } from './alternatives.js';
import { accepts, acceptsEverything, isJson, type Json } from './json-schema.js';

/** Compares a nested pair of nodes (items, properties) at `path`. */
export type Nested = (publisher: unknown, subscriber: unknown, path: string) => ContractIssue[];

interface Bound {
  readonly value: number;
  readonly exclusive: boolean;
}

export function compareNumbers(p: Alternative, s: Alternative, path: string): ContractIssue[] {
  const issues: ContractIssue[] = [];
  const integerIssue = s.integer && !p.integer;
  if (integerIssue) {
    issues.push({
      path,
      reason: 'the publisher may send non-integer numbers; the subscriber accepts integers only',
    });
  }
  // Bounds are compared on the publisher's values: for integers, `> 3` is `≥ 4`.
  const low = (node: Json) => bound(node, 'minimum', 'exclusiveMinimum', 'low', p.integer);
  const high = (node: Json) => bound(node, 'maximum', 'exclusiveMaximum', 'high', p.integer);
  for (const [side, pb, sb] of [
    ['low', low(p.node), low(s.node)],
    ['high', high(p.node), high(s.node)],
  ] as const) {
    if (sb === undefined) continue;
    // zod gives every int() the safe-integer range: noise next to the integer issue.
    if (integerIssue && Math.abs(sb.value) === Number.MAX_SAFE_INTEGER) continue;
    if (pb !== undefined && within(pb, sb, side)) continue;
    const [sent, needs] =
      side === 'low' ? (sb.exclusive ? ['≤', '>'] : ['<', '≥']) : sb.exclusive ? ['≥', '<'] : ['>', '≤'];
    issues.push({
      path,
      reason: `the publisher may send numbers ${sent} ${sb.value}; the subscriber needs ${needs} ${sb.value}`,
    });
  }
  const multiple = s.node['multipleOf'];
  if (typeof multiple === 'number' && multiple > 0) {
    const own = p.node['multipleOf'];
    const ok =
      (typeof own === 'number' && Number.isInteger(own / multiple)) ||
      (p.integer && Number.isInteger(1 / multiple));
    if (!ok)
      issues.push({
        path,
        reason: `the subscriber needs multiples of ${multiple}; the publisher does not promise them`,
      });
  }
  return issues;
}

function bound(
  node: Json,
  inclusiveKey: string,
  exclusiveKey: string,
  side: 'low' | 'high',
  integer: boolean,
): Bound | undefined {
  const inclusive = node[inclusiveKey];
  const exclusive = node[exclusiveKey];
  const found: Bound[] = [];
  if (typeof inclusive === 'number') found.push({ value: inclusive, exclusive: false });
  if (typeof exclusive === 'number') found.push({ value: exclusive, exclusive: true });
  const normal = found.map((b) => (integer ? integerBound(b, side) : b));
  let tightest: Bound | undefined;
  for (const b of normal) if (tightest === undefined || within(b, tightest, side)) tightest = b;
  return tightest;
}

function integerBound({ value, exclusive }: Bound, side: 'low' | 'high'): Bound {
  if (side === 'low')
    return { value: exclusive ? Math.floor(value) + 1 : Math.ceil(value), exclusive: false };
  return { value: exclusive ? Math.ceil(value) - 1 : Math.floor(value), exclusive: false };
}

// Is bound `a` at least as tight as `b`?
function within(a: Bound, b: Bound, side: 'low' | 'high'): boolean {
  if (a.value === b.value) return a.exclusive || !b.exclusive;
  return side === 'low' ? a.value > b.value : a.value < b.value;
}

export function compareStrings(p: Alternative, s: Alternative, path: string): ContractIssue[] {
  const issues: ContractIssue[] = [];
  const sMin = s.node['minLength'];
  const pMin = p.node['minLength'];
  if (typeof sMin === 'number' && sMin > (typeof pMin === 'number' ? pMin : 0)) {
    issues.push({ path, reason: `the publisher may send strings shorter than ${sMin}` });
  }
  const sMax = s.node['maxLength'];
  const pMax = p.node['maxLength'];
  if (typeof sMax === 'number' && !(typeof pMax === 'number' && pMax <= sMax)) {
    issues.push({ path, reason: `the publisher may send strings longer than ${sMax}` });
  }
  const format = s.node['format'];
  if (typeof format === 'string' && p.node['format'] !== format) {
    issues.push({ path, reason: `the subscriber needs format ${format}; the publisher does not promise it` });
  }
  // Patterns are compared as text: whether one regex implies another is not decidable here.
  const own = patternsOf(p.node);
  for (const pattern of patternsOf(s.node)) {
    if (!own.includes(pattern)) {
      issues.push({
        path,
        reason: `the subscriber needs the pattern /${pattern}/, which the publisher does not have`,
      });
    }
  }
  return issues;
}

/** A string node's patterns: its own and those of an `allOf` of patterns (zod's several regex()). */
export function patternsOf(node: Json): string[] {
  const patterns: string[] = [];
  if (typeof node['pattern'] === 'string') patterns.push(node['pattern']);
  const all = node['allOf'];
  if (Array.isArray(all)) {
    for (const part of all)
      if (isJson(part) && typeof part['pattern'] === 'string') patterns.push(part['pattern']);
  }
  return patterns;
}

/** True when `node.allOf` only lists patterns (read by compareStrings, not as an intersection). */
export function isPatternList(node: Json): boolean {
  const all = node['allOf'];
  return (
    Array.isArray(all) &&
    all.every(
      (part) => isJson(part) && Object.keys(part).every((key) => key === 'pattern' || key === 'description'),
    )
  );
}

export function compareArrays(p: Alternative, s: Alternative, path: string, nested: Nested): ContractIssue[] {
  const pa = arrayShape(p.node);
  const sa = arrayShape(s.node);
  if (pa === undefined || sa === undefined) {
    return [
      {
        path,
        reason: `cannot compare: the ${pa === undefined ? 'publisher' : 'subscriber'}'s items are a list (draft-07 tuple)`,
      },
    ];
  }
  const issues: ContractIssue[] = [];
  if (pa.min < sa.min) issues.push({ path, reason: `the publisher may send fewer than ${sa.min} items` });
  if (pa.max > sa.max) issues.push({ path, reason: `the publisher may send more than ${sa.max} items` });
  if (s.node['uniqueItems'] === true && p.node['uniqueItems'] !== true) {
    issues.push({ path, reason: 'the subscriber needs unique items; the publisher does not promise them' });
  }
  const positions = Math.max(pa.prefix.length, sa.prefix.length);
  for (let i = 0; i < positions && i < pa.max; i++) {
    const pi = pa.prefix[i] ?? pa.items;
    const si = sa.prefix[i] ?? sa.items;
    // A position past the subscriber's maximum was reported above.
    if (pi === false || si === false) continue;
    issues.push(...nested(pi, si, `${path}[${i}]`));
  }
  if (pa.max > positions && pa.items !== false && sa.items !== false) {
    issues.push(...nested(pa.items, sa.items, `${path}[]`));
  }
  return issues;
}

interface ArrayShape {
  readonly prefix: readonly unknown[];
  /** The schema of members past the prefix (`true` when any, `false` when none). */
  readonly items: unknown;
  readonly min: number;
  readonly max: number;
}

function arrayShape(node: Json): ArrayShape | undefined {
  const items = node['items'] ?? true;
  if (Array.isArray(items)) return undefined;
  const prefix = Array.isArray(node['prefixItems']) ? node['prefixItems'] : [];
  const minItems = node['minItems'];
  const maxItems = node['maxItems'];
  const max = Math.min(
    typeof maxItems === 'number' ? maxItems : Number.POSITIVE_INFINITY,
    items === false ? prefix.length : Number.POSITIVE_INFINITY,
  );
  return { prefix, items, min: typeof minItems === 'number' ? minItems : 0, max };
}

export function compareObjects(
  p: Alternative,
  s: Alternative,
  path: string,
  nested: Nested,
): ContractIssue[] {
  const po = objectShape(p.node, 'publisher');
  const so = objectShape(s.node, 'subscriber');
  const at = (key: string) => (path === '' ? key : `${path}.${key}`);
  const issues: ContractIssue[] = [];
  const keys = new Set([...Object.keys(po.properties), ...Object.keys(so.properties), ...so.required]);
  for (const key of keys) {
    const pk = Object.hasOwn(po.properties, key) ? po.properties[key] : po.additional;
    const sk = Object.hasOwn(so.properties, key) ? so.properties[key] : so.additional;
    // [GUARANTEE: compatibility] undefined is left out on the wire: presence is `required` alone.
    const sent = pk !== false;
    if (so.required.has(key) && !(sent && po.required.has(key))) {
      issues.push({
        path: at(key),
        reason: 'required by the subscriber, but the publisher may leave it out',
      });
    }
    if (!sent) continue;
    if (sk === false) {
      issues.push({
        path: at(key),
        reason: 'the publisher may send this property; the subscriber refuses unknown properties',
      });
      continue;
    }
    issues.push(...nested(pk, sk, at(key)));
  }
  if (po.additional !== false) {
    if (so.additional === false) {
      issues.push({
        path,
        reason: 'the publisher may send other properties; the subscriber refuses unknown properties',
      });
    } else {
      issues.push(...nested(po.additional, so.additional, at('*')));
    }
  }
  issues.push(...compareNames(p, s, po, path));
  const sMin = s.node['minProperties'];
  const pMin = Math.max(numberOr(p.node['minProperties'], 0), po.required.size);
  if (typeof sMin === 'number' && pMin < sMin) {
    issues.push({ path, reason: `the publisher may send fewer than ${sMin} properties` });
  }
  const sMax = s.node['maxProperties'];
  const pMax = Math.min(
    numberOr(p.node['maxProperties'], Number.POSITIVE_INFINITY),
    po.additional === false ? Object.keys(po.properties).length : Number.POSITIVE_INFINITY,
  );
  if (typeof sMax === 'number' && pMax > sMax) {
    issues.push({ path, reason: `the publisher may send more than ${sMax} properties` });
  }
  return issues;
}

interface ObjectShape {
  readonly properties: Record<string, unknown>;
  readonly required: ReadonlySet<string>;
  /** The schema of properties not listed: `true` when any, `false` when none. */
  readonly additional: unknown;
}

function objectShape(node: Json, side: 'publisher' | 'subscriber'): ObjectShape {
  const properties = isJson(node['properties']) ? node['properties'] : {};
  const required = Array.isArray(node['required'])
    ? node['required'].filter((k) => typeof k === 'string')
    : [];
  // [GUARANTEE: compatibility] A publisher sends the properties its contract declares: a plain
  // z.object (no additionalProperties in its schema) lets emit pass others through, but they are
  // no part of the contract. A subscriber's plain z.object accepts (and drops) any other.
  const additional = node['additionalProperties'] ?? side === 'subscriber';
  return { properties, required: new Set(required), additional };
}

// The subscriber's propertyNames must accept every name the publisher may send.
function compareNames(p: Alternative, s: Alternative, po: ObjectShape, path: string): ContractIssue[] {
  const names = s.node['propertyNames'];
  if (names === undefined || acceptsEverything(names) || isPlainString(names)) return [];
  if (JSON.stringify(names) === JSON.stringify(p.node['propertyNames'])) return [];
  const own = p.node['propertyNames'];
  const listed = isJson(own) && Array.isArray(own['enum']) ? own['enum'] : undefined;
  const sent = po.additional === false ? Object.keys(po.properties) : listed;
  if (sent === undefined) {
    return [{ path, reason: 'the publisher may send property names the subscriber refuses' }];
  }
  const issues: ContractIssue[] = [];
  for (const name of sent) {
    const verdict = accepts({ node: names, root: s.root }, name);
    if (verdict === true) continue;
    issues.push({
      path: path === '' ? String(name) : `${path}.${String(name)}`,
      reason:
        verdict === undefined
          ? 'cannot compare: whether the subscriber accepts this property name'
          : 'the subscriber refuses this property name',
    });
  }
  return issues;
}

function isPlainString(node: unknown): boolean {
  return isJson(node) && node['type'] === 'string' && Object.keys(node).length === 1;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}
