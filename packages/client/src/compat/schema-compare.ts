/*
 * Is every value the publisher's schema accepts also accepted by the subscriber's? The answer is a
 * list of places where it may not be (empty: compatible). Sound, not complete: whatever this
 * cannot decide is reported ("cannot compare: ..."), so "compatible" is never said wrongly for
 * the subset `z.toJSONSchema` produces (see json-schema.ts); a zod refinement has no JSON form
 * and is not seen at all.
 *
 * The wire decides two rules: a property whose value is undefined is left out, so "no value"
 * matters only for a whole payload (the empty payload) and a property's presence is its
 * `required`; and an array member that is undefined travels as nil, which the publisher's own
 * receivers would refuse, so it is not a value the publisher sends.
 */

import type { ContractIssue } from '../errors.js';
import { type Alternative, alternativesOf, kindLabel, withoutKeys } from './alternatives.js';
import {
  ANNOTATIONS,
  accepts,
  acceptsEverything,
  acceptsNothing,
  isJson,
  type Located,
  resolve,
  UNDERSTOOD,
  WIDENING,
} from './json-schema.js';
import { compareArrays, compareNumbers, compareObjects, compareStrings, isPatternList } from './kinds.js';

export type { Located } from './json-schema.js';

/** Whether a node is a whole value (a payload, an input) or inside one (where undefined is absent). */
export type Position = 'value' | 'nested';

/**
 * The places where a value valid for `publisher` may fail `subscriber` (both JSON Schemas, each
 * with its own `$defs`); empty when every such value passes.
 *
 * @example
 * ```ts
 * compareSchemas({ type: 'integer' }, { type: 'number' }); // []
 * compareSchemas({ type: 'number' }, { type: 'integer' });
 * // [{ path: '', reason: 'the publisher may send non-integer numbers; the subscriber accepts integers only' }]
 * ```
 */
export function compareSchemas(publisher: unknown, subscriber: unknown): ContractIssue[] {
  return new Comparison().includes(
    { node: publisher, root: publisher },
    { node: subscriber, root: subscriber },
    '',
    'value',
  );
}

/** One comparison: the pairs being compared, so a recursive schema is compared once. */
export class Comparison {
  // Coinduction: a pair met again while it is being compared is assumed to hold; if it does not,
  // the first visit reports why.
  readonly #assumed = new Map<unknown, Set<unknown>>();
  #depth = 0;

  /** Places where a value of `p` (at `path`) may fail `s`. */
  includes(p: Located, s: Located, path: string, position: Position): ContractIssue[] {
    const pr = resolve(p);
    if ('cannot' in pr) return [cannot(path, `the publisher's ${pr.cannot}`)];
    const sr = resolve(s);
    if ('cannot' in sr) return [cannot(path, `the subscriber's ${sr.cannot}`)];
    if (sr.siblings.length > 0)
      return [cannot(path, `the subscriber's $ref has sibling '${sr.siblings[0]}'`)];
    // A publisher's $ref siblings only narrow it: comparing without them is safe.
    const pNode = pr.node;
    const sNode = sr.node;
    if (acceptsEverything(sNode) || acceptsNothing(pNode)) return [];
    const seen = this.#assumed.get(pNode);
    if (seen?.has(sNode) === true) return [];
    if (this.#depth > 64) return [cannot(path, 'the schemas nest too deeply')];
    const pairs = seen ?? new Set<unknown>();
    pairs.add(sNode);
    this.#assumed.set(pNode, pairs);
    this.#depth++;
    try {
      return dedupe(
        this.#includesResolved({ node: pNode, root: p.root }, { node: sNode, root: s.root }, path, position),
      );
    } finally {
      this.#depth--;
      pairs.delete(sNode);
    }
  }

  #includesResolved(p: Located, s: Located, path: string, position: Position): ContractIssue[] {
    const pNode = p.node === true ? {} : p.node;
    const sNode = s.node;
    if (sNode === false) return [{ path, reason: 'the subscriber accepts nothing here' }];
    if (!isJson(pNode)) return [cannot(path, 'the publisher’s schema is not an object')];
    if (!isJson(sNode)) return [cannot(path, 'the subscriber’s schema is not an object')];
    const widening = Object.keys(pNode).find((key) => WIDENING.has(key));
    if (widening !== undefined) return [cannot(path, `the publisher's schema uses '${widening}'`)];
    const unknown = Object.keys(sNode).find((key) => !UNDERSTOOD.has(key) && !ANNOTATIONS.has(key));
    if (unknown !== undefined) {
      const why = sNode['x-chorus-unrepresentable'];
      return [cannot(path, typeof why === 'string' ? why : `the subscriber's schema uses '${unknown}'`)];
    }
    // A publisher's intersection holds values of each part: one part included is enough.
    if (Array.isArray(pNode['allOf']) && !isPatternList(pNode)) {
      const parts = [withoutKeys(pNode, ['allOf']), ...pNode['allOf']];
      let best: ContractIssue[] | undefined;
      for (const part of parts) {
        const issues = this.includes({ node: part, root: p.root }, s, path, position);
        if (issues.length === 0) return [];
        if (best === undefined || issues.length < best.length) best = issues;
      }
      return best ?? [];
    }
    // A subscriber's intersection needs each part.
    if (Array.isArray(sNode['allOf']) && !isPatternList(sNode)) {
      const parts = [withoutKeys(sNode, ['allOf']), ...sNode['allOf']];
      return parts.flatMap((part) => this.includes(p, { node: part, root: s.root }, path, position));
    }
    if (acceptsEverything(pNode)) {
      return [{ path, reason: 'the publisher may send any value here; the subscriber accepts fewer' }];
    }
    const pAlternatives = alternativesOf(p, 'publisher');
    if ('cannot' in pAlternatives) return [cannot(path, pAlternatives.cannot)];
    const sAlternatives = alternativesOf(s, 'subscriber');
    if ('cannot' in sAlternatives) return [cannot(path, sAlternatives.cannot)];
    const issues: ContractIssue[] = [];
    for (const alternative of pAlternatives.list) {
      // Inside a value, undefined is a property left out (judged by `required`) or an array
      // member the publisher's own receivers refuse: not something that arrives.
      if (alternative.kind === 'undefined' && position === 'nested') continue;
      issues.push(...this.#alternativeIncluded(alternative, sAlternatives.list, s, path));
    }
    return issues;
  }

  #alternativeIncluded(
    alternative: Alternative,
    candidates: readonly Alternative[],
    s: Located,
    path: string,
  ): ContractIssue[] {
    const values = finiteValues(alternative);
    if (values !== undefined) {
      const issues: ContractIssue[] = [];
      for (const value of values) {
        const verdict = accepts(s, value);
        if (verdict === undefined) issues.push(cannot(path, `whether the subscriber accepts ${show(value)}`));
        else if (!verdict)
          issues.push({
            path,
            reason: `the publisher may send ${show(value)}, which the subscriber refuses`,
          });
      }
      return issues;
    }
    const same = candidates.filter((candidate) => candidate.kind === alternative.kind);
    if (same.length === 0) {
      if (alternative.kind === 'undefined') {
        return [
          { path, reason: 'the publisher may send no value (the empty payload); the subscriber needs one' },
        ];
      }
      const expected = [...new Set(candidates.map(kindLabel))].join(' or ') || 'nothing';
      return [
        {
          path,
          reason: `the publisher may send ${kindLabel(alternative)}; the subscriber expects ${expected}`,
        },
      ];
    }
    let best: ContractIssue[] | undefined;
    for (const candidate of same) {
      const issues = this.#sameKind(alternative, candidate, path);
      if (issues.length === 0) return [];
      if (best === undefined || issues.length < best.length) best = issues;
    }
    return best ?? [];
  }

  #sameKind(p: Alternative, s: Alternative, path: string): ContractIssue[] {
    if (s.values !== undefined) {
      const shown = s.values.map(show).join(', ');
      return [{ path, reason: `the subscriber accepts only ${shown}; the publisher may send others` }];
    }
    const nested = (pNode: unknown, sNode: unknown, at: string): ContractIssue[] =>
      this.includes({ node: pNode, root: p.root }, { node: sNode, root: s.root }, at, 'nested');
    switch (p.kind) {
      case 'number':
        return compareNumbers(p, s, path);
      case 'string':
        return compareStrings(p, s, path);
      case 'array':
        return compareArrays(p, s, path, nested);
      case 'object':
        return compareObjects(p, s, path, nested);
      default:
        // bytes, undefined: nothing more to compare.
        return [];
    }
  }
}

/** The values of an alternative that has finitely many (an enum, a const, null, a boolean). */
function finiteValues(alternative: Alternative): readonly unknown[] | undefined {
  if (alternative.values !== undefined) return alternative.values;
  if (alternative.kind === 'null') return [null];
  if (alternative.kind === 'boolean') return [true, false];
  return undefined;
}

export function cannot(path: string, what: string): ContractIssue {
  return { path, reason: `cannot compare: ${what}` };
}

export function show(value: unknown): string {
  return value === undefined ? 'no value' : JSON.stringify(value);
}

function dedupe(issues: ContractIssue[]): ContractIssue[] {
  const seen = new Set<string>();
  return issues.filter(({ path, reason }) => {
    const key = `${path}\u0000${reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
