/*
 * Membership filters: the SDK's spelled-out form and its wire form (`{ sig, from, eq }`).
 */

import type { Filter as WireFilter } from '@chorus/protocol';
import type { AnyGroupContract, SignalName } from './contract.js';

/**
 * A value a payload field can be compared with in {@link SignalFilter}`.fields`.
 *
 * @example
 * ```ts
 * const fields: Record<string, FieldValue> = { source: 'ac', critical: true };
 * ```
 */
export type FieldValue = string | number | boolean | null;

/**
 * Which signals of a group a membership receives. Every condition given must hold; an array of
 * filters matches when any of them does.
 *
 * @example
 * ```ts
 * const sub = await bus.join(Battery, { filter: { signal: 'LevelChanged', fields: { source: 'ac' } } });
 * ```
 */
export interface SignalFilter<TContract extends AnyGroupContract = AnyGroupContract> {
  /** Only this signal. */
  signal?: SignalName<TContract>;
  /** Only from this sender (a unique name such as `:1.7`). */
  sender?: string;
  /** Equality on top-level fields of the payload. */
  fields?: Readonly<Record<string, FieldValue>>;
}

/**
 * One filter or several (any may match).
 *
 * @example
 * ```ts
 * const filter: FilterInput<typeof Battery> = [{ signal: 'LevelChanged' }, { sender: ':1.9' }];
 * ```
 */
export type FilterInput<TContract extends AnyGroupContract = AnyGroupContract> =
  | SignalFilter<TContract>
  | readonly SignalFilter<TContract>[];

/**
 * The wire form of a filter input; undefined when there is none (the membership receives all).
 * An empty array also means "no filter": read literally ("any of none matches") it would be a
 * membership that receives nothing, which nobody asks for on purpose.
 */
export function toWireFilters(input: FilterInput | undefined): WireFilter[] | undefined {
  if (input === undefined) return undefined;
  const filters: readonly SignalFilter[] = isFilterList(input) ? input : [input];
  if (filters.length === 0) return undefined;
  return filters.map((filter) => {
    const wire: WireFilter = {};
    if (filter.signal !== undefined) wire.sig = filter.signal;
    if (filter.sender !== undefined) wire.from = filter.sender;
    if (filter.fields !== undefined) wire.eq = { ...filter.fields };
    return wire;
  });
}

function isFilterList(input: FilterInput): input is readonly SignalFilter[] {
  return Array.isArray(input);
}

/** Whether two wire filter lists are the same (order matters, as it does on the wire). */
export function sameFilters(a: WireFilter[] | undefined, b: WireFilter[] | undefined): boolean {
  return canonical(a) === canonical(b);
}

function canonical(filters: WireFilter[] | undefined): string {
  if (filters === undefined) return '';
  return JSON.stringify(
    filters.map((f) => [
      f.sig ?? null,
      f.from ?? null,
      f.eq === undefined ? null : Object.entries(f.eq).sort(),
    ]),
  );
}

/**
 * Whether a signal passes wire filters as the daemon would judge it (no filter: everything).
 * `eq` compares top-level fields of the decoded payload, which must be a map.
 */
export function matchesFilters(
  filters: WireFilter[] | undefined,
  signal: { readonly sig: string; readonly from: string },
  payload: unknown,
): boolean {
  if (filters === undefined || filters.length === 0) return true;
  return filters.some((filter) => {
    if (filter.sig !== undefined && filter.sig !== signal.sig) return false;
    if (filter.from !== undefined && filter.from !== signal.from) return false;
    if (filter.eq === undefined) return true;
    if (typeof payload !== 'object' || payload === null) return false;
    const fields = payload as Record<string, unknown>;
    return Object.entries(filter.eq).every(
      ([key, value]) => Object.hasOwn(fields, key) && fields[key] === value,
    );
  });
}
