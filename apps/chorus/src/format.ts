/*
 * Values shown to people (durations, sizes, counts) and values written as JSON. Payloads come
 * from MessagePack, which has more than JSON: bytes, big integers, dates, maps.
 */

/** `850ms`, `12s`, `5m 3s`, `2h 5m`, `3d 4h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.floor(ms)}ms`;
  const seconds = Math.floor(ms / 1000);
  const units: [number, string][] = [
    [Math.floor(seconds / 86_400), 'd'],
    [Math.floor(seconds / 3600) % 24, 'h'],
    [Math.floor(seconds / 60) % 60, 'm'],
    [seconds % 60, 's'],
  ];
  const first = units.findIndex(([value]) => value > 0);
  return units
    .slice(first, first + 2)
    .filter(([value], index) => index === 0 || value > 0)
    .map(([value, unit]) => `${value}${unit}`)
    .join(' ');
}

/** `512 B`, `1.5 KiB`, `8.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `1,234,567`: thousands grouped, locale-independent. */
export function formatCount(count: number): string {
  if (!Number.isFinite(count)) return '-';
  return String(Math.trunc(count)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * A JSON value for anything a payload can hold: bytes become `{"$bytes": "<base64>"}`, big
 * integers a number when exact (else a string), dates ISO strings, maps objects, `undefined`
 * `null` (at the top) or nothing (in an object). Cycles cannot come from a decoder.
 */
export function toJson(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value !== 'object')
    return typeof value === 'function' || typeof value === 'symbol' ? null : value;
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map(toJson);
  const out: Record<string, unknown> = {};
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  for (const [key, item] of entries) {
    if (item !== undefined) out[String(key)] = toJson(item);
  }
  return out;
}

/** One line of JSON. */
export function compactJson(value: unknown): string {
  return JSON.stringify(toJson(value));
}

/** Indented JSON, for people. */
export function prettyJson(value: unknown): string {
  return JSON.stringify(toJson(value), null, 2);
}
