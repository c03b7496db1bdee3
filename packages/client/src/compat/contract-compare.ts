/*
 * The compatibility rules for contracts, on their JSON Schemas (the group's published one, and
 * this app's computed the same way, by @chorus/protocol's contractJsonSchema). Direction matters:
 * what one side sends must be accepted by the other.
 *
 *   join:  every signal the subscriber declares is declared by the publisher, and each payload
 *          the publisher may emit is accepted by the subscriber (publisher ⊆ subscriber).
 *   call:  the service declares the method; the caller's input is accepted by the service
 *          (caller input ⊆ service input) and the service's output by the caller
 *          (service output ⊆ caller output).
 */

import type { ContractIssue } from '../errors.js';
import { alternativesOf, type Side } from './alternatives.js';
import { acceptsEverything, isJson, type Json, type Located, resolve } from './json-schema.js';
import { Comparison, cannot } from './schema-compare.js';

/**
 * Where a published schema does not fit a subscriber's contract schema (both in the shape
 * `createGroup` publishes): every signal the subscriber declares, compared.
 *
 * @example
 * ```ts
 * compareJoin(await bus.getGroupSchema(Battery.name), Battery.jsonSchema()); // [] when compatible
 * ```
 */
export function compareJoin(published: unknown, subscriber: unknown): ContractIssue[] {
  const own = partsOf(subscriber, 'signals');
  const theirs = partsOf(published, 'signals');
  if (own === undefined) return [cannot('', "this app's contract schema is not in the shape of a contract")];
  if (theirs === undefined) return [cannot('', 'the published schema is not in the shape of a contract')];
  const comparison = new Comparison();
  const issues: ContractIssue[] = [];
  for (const [signal, schema] of Object.entries(own)) {
    const path = `signals.${signal}`;
    if (!Object.hasOwn(theirs, signal)) {
      issues.push({ path, reason: 'the subscriber handles this signal; the publisher does not declare it' });
      continue;
    }
    const sent = { node: theirs[signal], root: published };
    const expected = { node: schema, root: subscriber };
    issues.push(
      ...presence(
        sent,
        required(published, 'signals', signal),
        expected,
        required(subscriber, 'signals', signal),
        path,
      ),
    );
    issues.push(...comparison.includes(sent, expected, path, 'nested'));
  }
  return issues;
}

/**
 * Where `method` as the service publishes it does not fit the caller's contract schema: the
 * caller's input must be accepted by the service, the service's output by the caller.
 *
 * @example
 * ```ts
 * compareCall(await bus.getGroupSchema(Battery.name), Battery.jsonSchema(), 'GetLevel'); // []
 * ```
 */
export function compareCall(published: unknown, caller: unknown, method: string): ContractIssue[] {
  const path = `methods.${method}`;
  const own = methodOf(caller, method);
  const theirs = partsOf(published, 'methods');
  if (own === undefined) return [cannot(path, "this app's contract schema has no such method")];
  if (theirs === undefined) return [cannot('', 'the published schema is not in the shape of a contract')];
  if (!Object.hasOwn(theirs, method)) {
    return [{ path, reason: 'the caller calls this method; the service does not declare it' }];
  }
  const service = methodOf(published, method);
  if (service === undefined) return [cannot(path, 'the published method has no input and output')];
  const comparison = new Comparison();
  // [GUARANTEE: compatibility] the caller sends the input: caller ⊆ service.
  const input = pair(
    { node: own.input, root: caller },
    own.inputRequired,
    { node: service.input, root: published },
    service.inputRequired,
  );
  // The service sends the output: service ⊆ caller.
  const output = pair(
    { node: service.output, root: published },
    service.outputRequired,
    { node: own.output, root: caller },
    own.outputRequired,
  );
  return [...input(`${path}.input`), ...output(`${path}.output`)];

  function pair(sent: Located, sentRequired: boolean, expected: Located, expectedRequired: boolean) {
    return (at: string) => [
      ...presence(sent, sentRequired, expected, expectedRequired, at),
      ...comparison.includes(sent, expected, at, 'nested'),
    ];
  }
}

/**
 * A whole value may be no value at all (the empty payload): when its key is optional in the
 * contract (`Sig: z.object({}).optional()`), or its schema admits undefined (`z.undefined()`).
 */
function presence(
  sent: Located,
  sentRequired: boolean,
  expected: Located,
  expectedRequired: boolean,
  path: string,
): ContractIssue[] {
  const mayBeNone = !sentRequired || admitsNoValue(sent, 'publisher');
  const acceptsNone = !expectedRequired || admitsNoValue(expected, 'subscriber');
  if (!mayBeNone || acceptsNone) return [];
  return [{ path, reason: 'the publisher may send no value (the empty payload); the subscriber needs one' }];
}

function admitsNoValue(located: Located, side: Side): boolean {
  const resolved = resolve(located);
  if ('cannot' in resolved) return side === 'publisher';
  if (acceptsEverything(resolved.node)) return true;
  const alternatives = alternativesOf({ node: resolved.node, root: located.root }, side);
  if ('cannot' in alternatives) return side === 'publisher';
  return alternatives.list.some((alternative) => alternative.kind === 'undefined');
}

/** Whether `name` is required in `schema.properties[part]` (a signal, or a method's input/output). */
function required(schema: unknown, part: 'signals' | 'methods', name: string): boolean {
  if (!isJson(schema) || !isJson(schema['properties'])) return true;
  const section = schema['properties'][part];
  return isJson(section) && Array.isArray(section['required']) && section['required'].includes(name);
}

/** `schema.properties[part].properties`: the signals (or methods) of a contract schema. */
function partsOf(schema: unknown, part: 'signals' | 'methods'): Json | undefined {
  if (!isJson(schema) || !isJson(schema['properties'])) return undefined;
  const section = schema['properties'][part];
  if (!isJson(section)) return undefined;
  const properties = section['properties'] ?? {};
  return isJson(properties) ? properties : undefined;
}

interface MethodParts {
  readonly input: unknown;
  readonly output: unknown;
  readonly inputRequired: boolean;
  readonly outputRequired: boolean;
}

function methodOf(schema: unknown, method: string): MethodParts | undefined {
  const methods = partsOf(schema, 'methods');
  const entry = methods === undefined || !Object.hasOwn(methods, method) ? undefined : methods[method];
  if (!isJson(entry) || !isJson(entry['properties'])) return undefined;
  const { input, output } = entry['properties'];
  if (input === undefined || output === undefined) return undefined;
  const listed = Array.isArray(entry['required']) ? entry['required'] : [];
  return {
    input,
    output,
    inputRequired: listed.includes('input'),
    outputRequired: listed.includes('output'),
  };
}
