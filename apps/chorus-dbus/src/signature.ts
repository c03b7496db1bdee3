/*
 * D-Bus type signatures, parsed into a tree: bytes in, a tree out, no IO.
 * See https://dbus.freedesktop.org/doc/dbus-specification.html#type-system
 */

import { BridgeError, BridgeErrorCode } from './errors.js';

/** The basic (fixed or string-like) D-Bus types, by their signature code. */
export const BASIC_CODES = 'ybnqiuxtdsogh';
export type BasicCode = 'y' | 'b' | 'n' | 'q' | 'i' | 'u' | 'x' | 't' | 'd' | 's' | 'o' | 'g' | 'h';

export type DBusType =
  | { readonly kind: 'basic'; readonly code: BasicCode }
  | { readonly kind: 'variant' }
  | { readonly kind: 'array'; readonly element: DBusType }
  | { readonly kind: 'dict'; readonly key: BasicCode; readonly value: DBusType }
  | { readonly kind: 'struct'; readonly fields: readonly DBusType[] };

/**
 * Parses a signature of any number of complete types (a method's in-args, say).
 *
 * @example
 * parseSignature('a{sv}u'); // [{ kind: 'dict', key: 's', value: { kind: 'variant' } }, { kind: 'basic', code: 'u' }]
 */
export function parseSignature(signature: string): DBusType[] {
  const types: DBusType[] = [];
  let at = 0;
  while (at < signature.length) {
    const [type, next] = parseOne(signature, at, 0);
    types.push(type);
    at = next;
  }
  return types;
}

/** Parses a signature that must be exactly one complete type (a property's, an argument's). */
export function parseSingle(signature: string): DBusType {
  const types = parseSignature(signature);
  if (types.length !== 1) throw bad(signature, 'expected exactly one complete type');
  return types[0] as DBusType;
}

/** The signature text of a type: the inverse of parseSingle. */
export function formatType(type: DBusType): string {
  switch (type.kind) {
    case 'basic':
      return type.code;
    case 'variant':
      return 'v';
    case 'array':
      return `a${formatType(type.element)}`;
    case 'dict':
      return `a{${type.key}${formatType(type.value)}}`;
    case 'struct':
      return `(${type.fields.map(formatType).join('')})`;
  }
}

// The spec's nesting limits (32 arrays + 32 structs); one combined bound is enough to stop runaway input.
const MAX_DEPTH = 64;

function parseOne(signature: string, at: number, depth: number): [DBusType, number] {
  if (depth > MAX_DEPTH) throw bad(signature, 'nested too deeply');
  const c = signature[at];
  if (c === undefined) throw bad(signature, 'ends in the middle of a type');
  if (BASIC_CODES.includes(c)) return [{ kind: 'basic', code: c as BasicCode }, at + 1];
  if (c === 'v') return [{ kind: 'variant' }, at + 1];
  if (c === 'a') {
    if (signature[at + 1] === '{') {
      const key = signature[at + 2];
      if (key === undefined || !BASIC_CODES.includes(key)) {
        throw bad(signature, `a dict entry's key must be a basic type (at ${at + 2})`);
      }
      const [value, next] = parseOne(signature, at + 3, depth + 1);
      if (signature[next] !== '}') throw bad(signature, `a dict entry has exactly two types (at ${next})`);
      return [{ kind: 'dict', key: key as BasicCode, value }, next + 1];
    }
    const [element, next] = parseOne(signature, at + 1, depth + 1);
    return [{ kind: 'array', element }, next];
  }
  if (c === '(') {
    const fields: DBusType[] = [];
    let next = at + 1;
    while (signature[next] !== ')') {
      if (next >= signature.length) throw bad(signature, 'a struct is not closed');
      const [field, after] = parseOne(signature, next, depth + 1);
      fields.push(field);
      next = after;
    }
    if (fields.length === 0) throw bad(signature, 'a struct needs at least one field');
    return [{ kind: 'struct', fields }, next + 1];
  }
  throw bad(signature, `unknown type code '${c}' at ${at}`);
}

function bad(signature: string, why: string): BridgeError {
  return new BridgeError(BridgeErrorCode.BAD_SIGNATURE, `D-Bus signature '${signature}': ${why}`);
}
