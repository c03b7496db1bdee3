/*
 * The type mapping between D-Bus and Chorus, one function per direction, one case per type code.
 * The table is README.md's "Type mapping"; every row has a case in types.test.ts.
 *
 *   D-Bus value (as @jellybrick/dbus-next gives it)  --fromDBus-->  Chorus payload value (msgpack-able)
 *   Chorus payload value                              --toDBus---->  D-Bus value (bigint, Buffer, Variant)
 */

import { Variant } from '@jellybrick/dbus-next';
import { z } from 'zod';
import { BridgeError, BridgeErrorCode } from './errors.js';
import { type BasicCode, type DBusType, formatType, parseSingle } from './signature.js';

/** The integer codes with the range of values each holds. */
export const INTEGER_RANGES = {
  y: [0, 255],
  n: [-32_768, 32_767],
  q: [0, 65_535],
  i: [-2_147_483_648, 2_147_483_647],
  u: [0, 4_294_967_295],
} as const satisfies Partial<Record<BasicCode, readonly [number, number]>>;

const OBJECT_PATH = /^\/$|^(\/[A-Za-z0-9_]+)+$/;
const SIGNATURE_TEXT = /^[ybnqiuxtdsoghva(){}]{0,255}$/;
const INT64_TEXT = /^-?[0-9]+$/;
const UINT64_TEXT = /^[0-9]+$/;

/**
 * The zod schema of a D-Bus type's Chorus form.
 *
 * @example
 * zodOf(parseSingle('a{sv}')); // z.record(z.string(), z.unknown())
 */
export function zodOf(type: DBusType): z.ZodType {
  switch (type.kind) {
    case 'basic':
      return basicZod(type.code);
    case 'variant':
      return z.unknown();
    case 'array':
      if (type.element.kind === 'basic' && type.element.code === 'y') return z.instanceof(Uint8Array);
      return z.array(zodOf(type.element));
    case 'dict':
      if (type.key === 'h') refuseFd();
      return z.record(z.string(), zodOf(type.value));
    case 'struct':
      return z.tuple(type.fields.map(zodOf) as [z.ZodType, ...z.ZodType[]]);
  }
}

function basicZod(code: BasicCode): z.ZodType {
  switch (code) {
    case 'y':
    case 'n':
    case 'q':
    case 'i':
    case 'u': {
      const [min, max] = INTEGER_RANGES[code];
      return z.number().int().min(min).max(max);
    }
    // Chorus payloads have no bigint: safe integers as numbers, the rest as decimal strings.
    case 'x':
      return z.union([
        z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
        z.string().regex(INT64_TEXT),
      ]);
    case 't':
      return z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().regex(UINT64_TEXT)]);
    case 'd':
      return z.number();
    case 'b':
      return z.boolean();
    case 's':
      return z.string();
    case 'o':
      return z.string().regex(OBJECT_PATH);
    case 'g':
      return z.string().regex(SIGNATURE_TEXT);
    case 'h':
      return refuseFd();
  }
}

/** The same schema as zodOf, as TypeScript source for a generated module (see codegen.ts). */
export function zodSource(type: DBusType): string {
  switch (type.kind) {
    case 'basic':
      return basicSource(type.code);
    case 'variant':
      return 'z.unknown()';
    case 'array':
      if (type.element.kind === 'basic' && type.element.code === 'y') return 'z.instanceof(Uint8Array)';
      return `z.array(${zodSource(type.element)})`;
    case 'dict':
      if (type.key === 'h') refuseFd();
      return `z.record(z.string(), ${zodSource(type.value)})`;
    case 'struct':
      return `z.tuple([${type.fields.map(zodSource).join(', ')}])`;
  }
}

function basicSource(code: BasicCode): string {
  switch (code) {
    case 'y':
    case 'n':
    case 'q':
    case 'i':
    case 'u': {
      const [min, max] = INTEGER_RANGES[code];
      return `z.number().int().min(${min}).max(${max})`;
    }
    case 'x':
      return `z.union([z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER), z.string().regex(${INT64_TEXT})])`;
    case 't':
      return `z.union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().regex(${UINT64_TEXT})])`;
    case 'd':
      return 'z.number()';
    case 'b':
      return 'z.boolean()';
    case 's':
      return 'z.string()';
    case 'o':
      return `z.string().regex(${OBJECT_PATH})`;
    case 'g':
      return `z.string().regex(${SIGNATURE_TEXT})`;
    case 'h':
      return refuseFd();
  }
}

/** True when a type (or a part of it) is a file descriptor, which the bridge refuses. */
export function hasFd(type: DBusType): boolean {
  return formatType(type).includes('h');
}

function refuseFd(): never {
  throw new BridgeError(
    BridgeErrorCode.UNSUPPORTED_TYPE,
    "D-Bus type 'h' (a file descriptor) cannot cross a Chorus bus: leave the member out or pass a path instead",
  );
}

/** A D-Bus value, as received, in its Chorus form (see the table in README.md). */
export function fromDBus(type: DBusType, value: unknown): unknown {
  switch (type.kind) {
    case 'basic':
      return basicFromDBus(type.code, value);
    case 'variant': {
      const variant = value as Variant;
      return fromDBus(parseSingle(variant.signature), variant.value);
    }
    case 'array': {
      if (type.element.kind === 'basic' && type.element.code === 'y') {
        const bytes = value as Uint8Array;
        // A plain Uint8Array, not a Buffer (msgpack encodes both as bin; tests compare exactly).
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength).slice();
      }
      return (value as unknown[]).map((item) => fromDBus(type.element, item));
    }
    case 'dict': {
      if (type.key === 'h') refuseFd();
      const out: Record<string, unknown> = {};
      for (const [key, item] of entriesOf(value)) out[String(key)] = fromDBus(type.value, item);
      return out;
    }
    case 'struct':
      return type.fields.map((field, i) => fromDBus(field, (value as unknown[])[i]));
  }
}

function basicFromDBus(code: BasicCode, value: unknown): unknown {
  if (code === 'h') return refuseFd();
  if (code === 'x' || code === 't') {
    const big = BigInt(value as bigint | number | string);
    const safe = big <= BigInt(Number.MAX_SAFE_INTEGER) && big >= BigInt(Number.MIN_SAFE_INTEGER);
    return safe ? Number(big) : big.toString();
  }
  return value;
}

function entriesOf(value: unknown): Iterable<[unknown, unknown]> {
  return value instanceof Map ? value.entries() : Object.entries(value as object);
}

/** A Chorus value in the form the D-Bus library sends as `type`; throws BAD_VALUE when it cannot. */
export function toDBus(type: DBusType, value: unknown): unknown {
  switch (type.kind) {
    case 'basic':
      return basicToDBus(type.code, value);
    case 'variant': {
      if (value instanceof Variant) return value;
      const inner = guessType(value);
      return new Variant(formatType(inner), toDBus(inner, value));
    }
    case 'array':
      if (type.element.kind === 'basic' && type.element.code === 'y') {
        if (!(value instanceof Uint8Array)) throw badValue(type, value);
        return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      }
      if (!Array.isArray(value)) throw badValue(type, value);
      return value.map((item) => toDBus(type.element, item));
    case 'dict': {
      if (type.key === 'h') refuseFd();
      if (typeof value !== 'object' || value === null) throw badValue(type, value);
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) out[key] = toDBus(type.value, item);
      return out;
    }
    case 'struct':
      if (!Array.isArray(value) || value.length !== type.fields.length) throw badValue(type, value);
      return type.fields.map((field, i) => toDBus(field, value[i]));
  }
}

function basicToDBus(code: BasicCode, value: unknown): unknown {
  switch (code) {
    case 'x':
    case 't':
      if (typeof value === 'number' || typeof value === 'string' || typeof value === 'bigint') {
        try {
          return BigInt(value);
        } catch {
          throw badValue({ kind: 'basic', code }, value);
        }
      }
      throw badValue({ kind: 'basic', code }, value);
    case 'h':
      return refuseFd();
    default: {
      const result = basicZod(code).safeParse(value);
      if (!result.success) throw badValue({ kind: 'basic', code }, value);
      return value;
    }
  }
}

/**
 * The D-Bus type a value of unknown type is sent as inside a variant: boolean → b, string → s,
 * an integer → i if it fits, else x; another number → d; bytes → ay; an array → av; an object → a{sv}.
 */
export function guessType(value: unknown): DBusType {
  if (typeof value === 'boolean') return { kind: 'basic', code: 'b' };
  if (typeof value === 'string') return { kind: 'basic', code: 's' };
  if (typeof value === 'bigint') return { kind: 'basic', code: 'x' };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return { kind: 'basic', code: 'd' };
    const [min, max] = INTEGER_RANGES.i;
    return {
      kind: 'basic',
      code: value >= min && value <= max ? 'i' : Number.isSafeInteger(value) ? 'x' : 'd',
    };
  }
  if (value instanceof Uint8Array) return { kind: 'array', element: { kind: 'basic', code: 'y' } };
  if (Array.isArray(value)) return { kind: 'array', element: { kind: 'variant' } };
  if (typeof value === 'object' && value !== null)
    return { kind: 'dict', key: 's', value: { kind: 'variant' } };
  throw new BridgeError(
    BridgeErrorCode.BAD_VALUE,
    `a ${value === null ? 'null' : typeof value} has no D-Bus form`,
  );
}

function badValue(type: DBusType, value: unknown): BridgeError {
  const shown = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value));
  return new BridgeError(
    BridgeErrorCode.BAD_VALUE,
    `${shown?.slice(0, 80)} cannot be sent as D-Bus type '${formatType(type)}'`,
  );
}
