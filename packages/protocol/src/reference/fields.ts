/*
 * Hand-written field checks for decoded headers. Each reader takes the decoded map and a key,
 * returns the typed value, or throws a FieldIssue naming the key. Nested readers prepend their
 * segment as the issue bubbles up, so the path is only built when something is wrong.
 *
 * A field whose value is nil counts as absent: encoders in other languages often write nil for
 * an unset optional field.
 */

import { MAX_SERIAL } from '../constants.js';

/** A bad field: where (keys and indexes from the header root) and what is wrong. */
export class FieldIssue extends Error {
  readonly path: (string | number)[];

  constructor(path: (string | number)[], message: string) {
    super(message);
    this.name = 'FieldIssue';
    this.path = path;
  }

  /** `join[0].f[1].eq.level: expected ...` */
  describe(): string {
    let where = '';
    for (const segment of this.path) {
      where += typeof segment === 'number' ? `[${segment}]` : where === '' ? segment : `.${segment}`;
    }
    return `${where}: ${this.message}`;
  }
}

/** A decoded header map; `t` and `s` are declared because every dispatcher reads them. */
export interface HeaderMap {
  t?: unknown;
  s?: unknown;
  [key: string]: unknown;
}

/** Runs `read` with `segment` prepended to the path of any issue it throws. */
export function within<TValue>(segment: string | number, read: () => TValue): TValue {
  try {
    return read();
  } catch (error) {
    if (error instanceof FieldIssue) error.path.unshift(segment);
    throw error;
  }
}

/** Whether `value` is a decoded MessagePack map (a plain object, not an array, bin, ext or date). */
export function isMap(value: unknown): value is HeaderMap {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Whether `value` is a valid request serial (integer in 1..MAX_SERIAL). */
export function isSerial(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_SERIAL;
}

function fail(key: string, message: string): never {
  throw new FieldIssue([key], message);
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** Required serial `s`. */
export function readSerial(map: HeaderMap, key: string): number {
  const value = map[key];
  if (isSerial(value)) return value;
  return fail(key, present(value) ? `expected an integer in 1..${MAX_SERIAL}` : 'required');
}

/** Optional serial. */
export function readOptionalSerial(map: HeaderMap, key: string): number | undefined {
  return present(map[key]) ? readSerial(map, key) : undefined;
}

/** Required non-negative safe integer (sequence numbers, counts, versions). */
export function readCount(map: HeaderMap, key: string): number {
  const value = map[key];
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  return fail(key, present(value) ? 'expected a non-negative integer' : 'required');
}

/** Optional count. */
export function readOptionalCount(map: HeaderMap, key: string): number | undefined {
  return present(map[key]) ? readCount(map, key) : undefined;
}

/** Required non-empty string (names). */
export function readName(map: HeaderMap, key: string): string {
  const value = map[key];
  if (typeof value === 'string' && value !== '') return value;
  return fail(key, present(value) ? 'expected a non-empty string' : 'required');
}

/** Optional non-empty string. */
export function readOptionalName(map: HeaderMap, key: string): string | undefined {
  return present(map[key]) ? readName(map, key) : undefined;
}

/** Required string, possibly empty (free text). */
export function readText(map: HeaderMap, key: string): string {
  const value = map[key];
  if (typeof value === 'string') return value;
  return fail(key, present(value) ? 'expected a string' : 'required');
}

/** Optional string, possibly empty. */
export function readOptionalText(map: HeaderMap, key: string): string | undefined {
  return present(map[key]) ? readText(map, key) : undefined;
}

/** Optional boolean. */
export function readOptionalBoolean(map: HeaderMap, key: string): boolean | undefined {
  const value = map[key];
  if (!present(value)) return undefined;
  if (typeof value === 'boolean') return value;
  return fail(key, 'expected a boolean');
}

/** Required string among `allowed`. */
export function readEnum<TValue extends string>(
  map: HeaderMap,
  key: string,
  allowed: readonly TValue[],
): TValue {
  const value = map[key];
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as TValue;
  return fail(key, present(value) ? `expected one of ${allowed.join(', ')}` : 'required');
}

/** Optional string among `allowed`. */
export function readOptionalEnum<TValue extends string>(
  map: HeaderMap,
  key: string,
  allowed: readonly TValue[],
): TValue | undefined {
  return present(map[key]) ? readEnum(map, key, allowed) : undefined;
}

/** Required map. */
export function readMap(map: HeaderMap, key: string): HeaderMap {
  const value = map[key];
  if (isMap(value)) return value;
  return fail(key, present(value) ? 'expected a map' : 'required');
}

/** Optional map. */
export function readOptionalMap(map: HeaderMap, key: string): HeaderMap | undefined {
  return present(map[key]) ? readMap(map, key) : undefined;
}

/** Required array, each element read by `item` (which sees the element and its index). */
export function readArray<TItem>(map: HeaderMap, key: string, item: (value: unknown) => TItem): TItem[] {
  const value = map[key];
  if (!Array.isArray(value)) return fail(key, present(value) ? 'expected an array' : 'required');
  return within(key, () => {
    const items: TItem[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) items[i] = within(i, () => item(value[i]));
    return items;
  });
}

/** Optional array. */
export function readOptionalArray<TItem>(
  map: HeaderMap,
  key: string,
  item: (value: unknown) => TItem,
): TItem[] | undefined {
  return present(map[key]) ? readArray(map, key, item) : undefined;
}

/** An array element that must be a map. */
export function expectMap(value: unknown): HeaderMap {
  if (isMap(value)) return value;
  throw new FieldIssue([], 'expected a map');
}

/** Optional value of any type (`schema`, `data`). */
export function readOptionalAny(map: HeaderMap, key: string): unknown {
  const value = map[key];
  return present(value) ? value : undefined;
}
