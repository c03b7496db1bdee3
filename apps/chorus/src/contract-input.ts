/*
 * What `chorus emit` and `chorus call` do with a group's published contract: check the JSON input
 * against it before sending (the daemon refuses a bad emit anyway; a service, a bad call input),
 * and build a skeleton input from it for `--example`.
 */

import { type Bus, ErrorCode, isChorusError } from '@chorus/client';
import {
  type CompiledContract,
  compileContract,
  type PayloadIssue,
} from '@chorus/protocol/contract-validator';
import { CliError, CliErrorCode } from './errors.js';

/** A group's published schema, and its contract compiled. */
export interface Published {
  readonly schema: unknown;
  readonly contract: CompiledContract;
}

/**
 * The contract `group` publishes; undefined when there is no such group, it is untyped, or its
 * schema is one the CLI cannot use (then the daemon decides alone).
 */
export async function publishedContract(bus: Bus, group: string): Promise<Published | undefined> {
  let schema: unknown;
  try {
    schema = await bus.getGroupSchema(group);
  } catch (error) {
    if (isChorusError(error, ErrorCode.UNKNOWN_GROUP) || isChorusError(error, ErrorCode.NOT_PERMITTED)) {
      return undefined;
    }
    throw error;
  }
  if (schema === null || schema === undefined) return undefined;
  try {
    const contract = compileContract(schema);
    return contract === undefined ? undefined : { schema, contract };
  } catch {
    return undefined;
  }
}

/** `--example`: the contract of `group`, or NO_CONTRACT (exit 1). */
export async function contractForExample(bus: Bus, group: string): Promise<Published> {
  const published = await publishedContract(bus, group);
  if (published === undefined) {
    throw new CliError(
      CliErrorCode.NO_CONTRACT,
      `${group} publishes no contract to build an example from (no such group, or created without one)`,
    );
  }
  return published;
}

/** Throws `INVALID_PAYLOAD: <path>: <reason>` (exit 1) for an issue; nothing for none. */
export function refuseIssue(issue: PayloadIssue | undefined, what: string): void {
  if (issue === undefined) return;
  throw new CliError(ErrorCode.INVALID_PAYLOAD, `${formatPath(issue.path, what)}: ${issue.reason}`);
}

/** `['cells', 0, 'x']` → `cells[0].x`; the root → `what` (`(payload)`). */
export function formatPath(path: readonly (string | number)[], what: string): string {
  if (path.length === 0) return what;
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : text === '' ? key : `.${key}`;
  return text;
}

type Json = Record<string, unknown>;

// Deep enough for any real payload; a recursive schema stops here.
const MAX_DEPTH = 8;

/**
 * A value that fits `schema` where it can be built from the schema alone: every required property
 * (all of them when the schema says none are), defaults and the first of enums, consts and
 * alternatives, minimums, `""` for strings. Bytes, which JSON cannot carry, are `"<bytes>"`.
 * Undefined for a schema that marks no value (emit without JSON).
 */
export function exampleOf(schema: unknown, root: unknown = schema, depth = 0): unknown {
  if (typeof schema !== 'object' || schema === null || depth > MAX_DEPTH) return null;
  const node = schema as Json;
  if (node['x-chorus-undefined'] === true) return undefined;
  if (node['x-chorus-bytes'] === true) return '<bytes>';
  if ('default' in node) return node['default'];
  if ('const' in node) return node['const'];
  if (Array.isArray(node['enum'])) return node['enum'][0];
  if (typeof node['$ref'] === 'string') return exampleOf(resolveRef(root, node['$ref']), root, depth + 1);
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const branches = node[key];
    if (Array.isArray(branches) && branches.length > 0) return exampleOf(branches[0], root, depth + 1);
  }
  const type = Array.isArray(node['type']) ? node['type'][0] : node['type'];
  switch (type) {
    case 'string':
      return '';
    case 'number':
    case 'integer':
      return typeof node['minimum'] === 'number' ? node['minimum'] : 0;
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'array': {
      const count = typeof node['minItems'] === 'number' ? node['minItems'] : 0;
      return Array.from({ length: count }, () => exampleOf(node['items'], root, depth + 1));
    }
    default: {
      const properties = node['properties'];
      if (typeof properties !== 'object' || properties === null) return type === 'object' ? {} : null;
      const required = Array.isArray(node['required']) ? (node['required'] as unknown[]) : undefined;
      const value: Json = {};
      for (const [key, property] of Object.entries(properties as Json)) {
        if (required !== undefined && !required.includes(key)) continue;
        const example = exampleOf(property, root, depth + 1);
        if (example !== undefined) value[key] = example;
      }
      return value;
    }
  }
}

function resolveRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const part of ref
    .slice(1)
    .split('/')
    .filter((p) => p !== '')) {
    const key = decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~');
    node = typeof node === 'object' && node !== null ? (node as Json)[key] : undefined;
  }
  return node;
}
