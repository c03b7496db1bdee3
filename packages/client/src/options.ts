/*
 * Options of `connect()`: one defaults object, units in comments, validated once.
 */

import type { BusAddress } from './address.js';
import type { AnyGroupContract } from './contract.js';
import { InvalidArgumentError } from './errors.js';
import type { FilterInput } from './filter.js';
import type { Transport } from './transports/transport.js';

/**
 * Defaults of the tuning knobs of {@link ConnectOptions}.
 *
 * @example
 * ```ts
 * const bus = await connect({ maxInFlight: defaultConnectOptions.maxInFlight * 4 });
 * ```
 */
export const defaultConnectOptions = {
  /** Give up connecting (transport + handshake) after this long (ms). 0 = wait forever. */
  timeoutMs: 10_000,
  /** Emits sent and not yet answered by the daemon (count); further emits wait for room, in order. */
  maxInFlight: 1024,
  /**
   * Bytes of the frames of those emits, together (one emit alone may be larger, up to the daemon's
   * maxFrameBytes). With the count, what bounds the memory an emitter that outruns the daemon uses.
   */
  maxInFlightBytes: 8 * 1_048_576,
  /** Messages a subscription's iterator may have buffered before reading pauses (count). */
  maxBufferedMessages: 1024,
  /**
   * Messages a subscription holds before anyone consumes it (count): for an autojoined group,
   * until `bus.join()` claims it; for any group, until a handler or an iterator is attached.
   * Reading pauses at this bound; nothing is dropped. Except for an autojoined group never claimed:
   * it is left at this bound and reported (UNCLAIMED_JOIN), so a forgotten join stalls nobody.
   */
  maxHeldMessages: 1024,
  /** Largest frame accepted from the daemon (bytes, header + payload); a larger one is fatal. */
  maxIncomingFrameBytes: 16 * 1_048_576,
  /** Method calls sent and not yet answered (count); one more rejects with LIMIT_EXCEEDED at once. */
  maxPendingCalls: 1024,
  /** Deadline of a method call without `timeoutMs` (ms). 0 = no deadline. */
  callTimeoutMs: 25_000,
} as const;

/**
 * Defaults of {@link ReconnectOptions}.
 *
 * @example
 * ```ts
 * const bus = await connect({ reconnect: { ...defaultReconnectOptions, maxAttempts: 10 } });
 * ```
 */
export const defaultReconnectOptions = {
  /** Delay before the first attempt (ms); each further attempt doubles it, with jitter. */
  initialDelayMs: 100,
  /** Bound on the delay between two attempts (ms). */
  maxDelayMs: 5_000,
  /** Attempts before giving up (count, >= 1); `Infinity` = never give up. */
  maxAttempts: Number.POSITIVE_INFINITY,
} as const;

/**
 * How a bus reconnects after losing its connection (see `connect({ reconnect })`).
 *
 * @example
 * ```ts
 * const bus = await connect({ reconnect: { initialDelayMs: 50, maxDelayMs: 2000, maxAttempts: 20 } });
 * ```
 */
export interface ReconnectOptions {
  /** See {@link defaultReconnectOptions}. */
  initialDelayMs?: number | undefined;
  /** See {@link defaultReconnectOptions}. */
  maxDelayMs?: number | undefined;
  /** See {@link defaultReconnectOptions}. */
  maxAttempts?: number | undefined;
}

/** {@link ReconnectOptions} with the defaults applied. */
export type ReconnectSettings = { -readonly [K in keyof typeof defaultReconnectOptions]: number };

/**
 * A group to join in the handshake (`hello.join`): a contract or a name, optionally with filters.
 *
 * @example
 * ```ts
 * const join: AutoJoin[] = [Battery, 'org.example.Logs', { group: Power, filter: { signal: 'Low' } }];
 * ```
 */
export type AutoJoin =
  | AnyGroupContract
  | string
  | { readonly group: AnyGroupContract | string; readonly filter?: FilterInput | undefined };

/**
 * Opens a transport for a parsed address (to replace the built-in unix / WebSocket transports).
 *
 * @example
 * ```ts
 * const bus = await connect({ address: 'ws://bus.local/', transport: (address, signal) => myWs(address, signal) });
 * ```
 */
export type TransportFactory = (address: BusAddress, signal: AbortSignal) => Promise<Transport>;

/**
 * Options of `connect()`.
 *
 * @example
 * ```ts
 * const bus = await connect({ address: 'unix:path=/tmp/x.sock', join: [Battery], timeoutMs: 2000 });
 * ```
 */
export interface ConnectOptions {
  /**
   * `unix:path=/path/to/bus.sock` or `ws://...`/`wss://...`. Node default: `$CHORUS_BUS_ADDRESS`, else
   * `$XDG_RUNTIME_DIR/chorus/bus.sock`, else `/tmp/chorus-<uid>/bus.sock`. The browser has no default.
   */
  address?: string | undefined;
  /** A connected transport to use as is, or a factory called with the parsed address. */
  transport?: Transport | TransportFactory | undefined;
  /** Groups to join in the handshake; their messages are held until `bus.join()` claims them. */
  join?: readonly AutoJoin[] | undefined;
  /** Sent as `hello.token`. */
  token?: string | undefined;
  /** A free label sent as `hello.client` (shows up in the daemon's tools). */
  client?: string | undefined;
  /** See {@link defaultConnectOptions}. */
  timeoutMs?: number | undefined;
  /** Aborts the connection attempt (not the connection once established). */
  signal?: AbortSignal | undefined;
  /** See {@link defaultConnectOptions}. */
  maxInFlight?: number | undefined;
  /** See {@link defaultConnectOptions}. */
  maxInFlightBytes?: number | undefined;
  /** See {@link defaultConnectOptions}. */
  maxBufferedMessages?: number | undefined;
  /** See {@link defaultConnectOptions}. */
  maxHeldMessages?: number | undefined;
  /** See {@link defaultConnectOptions}. */
  maxIncomingFrameBytes?: number | undefined;
  /** See {@link defaultConnectOptions}. */
  maxPendingCalls?: number | undefined;
  /** See {@link defaultConnectOptions}. */
  callTimeoutMs?: number | undefined;
  /**
   * Become a monitor right after the handshake (`true`: every group; `{ groups }`: only these).
   * The stream is `bus.monitor`. A monitor can send nothing but pings, so `join` must be empty.
   */
  monitor?: boolean | { readonly groups?: readonly string[] | undefined } | undefined;
  /**
   * Reconnect when the connection is lost by anything but `bus.close()` (the daemon went away or
   * said `bye`, the socket broke, an eviction as SLOW_CONSUMER): `true` (the default) with
   * {@link defaultReconnectOptions}, an object to tune them, `false` to end the bus instead.
   * The bus then creates its groups again, requests its names again, rejoins its subscriptions
   * and reports what was missed as `gap` events. A `transport` given as an object (not a
   * factory) cannot be opened again: such a bus does not reconnect.
   */
  reconnect?: boolean | ReconnectOptions | undefined;
}

/** The tuning knobs, defaults applied. */
export type Settings = { -readonly [K in keyof typeof defaultConnectOptions]: number };

/** Applies the defaults; throws InvalidArgumentError for a limit that is not a positive integer. */
export function resolveSettings(options: ConnectOptions): Settings {
  const settings: Settings = { ...defaultConnectOptions };
  for (const key of Object.keys(defaultConnectOptions) as (keyof Settings)[]) {
    const value = options[key];
    if (value === undefined) continue;
    const min = key === 'timeoutMs' || key === 'callTimeoutMs' ? 0 : 1;
    if (!Number.isInteger(value) || value < min) {
      throw new InvalidArgumentError(`${key} must be an integer >= ${min}, got ${String(value)}`);
    }
    settings[key] = value;
  }
  return settings;
}

/**
 * The reconnection settings, or undefined when reconnecting is off. Throws InvalidArgumentError
 * for a delay that is not an integer >= 0, a `maxDelayMs` below `initialDelayMs`, or a
 * `maxAttempts` that is neither an integer >= 1 nor `Infinity`.
 */
export function resolveReconnect(options: ConnectOptions): ReconnectSettings | undefined {
  const { reconnect } = options;
  if (reconnect === false) return undefined;
  const settings: ReconnectSettings = { ...defaultReconnectOptions };
  if (reconnect === undefined || reconnect === true) return settings;
  for (const key of ['initialDelayMs', 'maxDelayMs'] as const) {
    const value = reconnect[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0) {
      throw new InvalidArgumentError(`reconnect.${key} must be an integer >= 0 (ms), got ${String(value)}`);
    }
    settings[key] = value;
  }
  const { maxAttempts } = reconnect;
  if (maxAttempts !== undefined) {
    if (maxAttempts !== Number.POSITIVE_INFINITY && (!Number.isInteger(maxAttempts) || maxAttempts < 1)) {
      throw new InvalidArgumentError(
        `reconnect.maxAttempts must be an integer >= 1 or Infinity, got ${String(maxAttempts)}`,
      );
    }
    settings.maxAttempts = maxAttempts;
  }
  if (settings.maxDelayMs < settings.initialDelayMs) {
    // Only the first delay given: the bound follows it rather than refusing it.
    if (reconnect.maxDelayMs === undefined) settings.maxDelayMs = settings.initialDelayMs;
    else
      throw new InvalidArgumentError(
        `reconnect.maxDelayMs (${settings.maxDelayMs}) is below reconnect.initialDelayMs (${settings.initialDelayMs})`,
      );
  }
  return settings;
}

/**
 * The groups a monitor watches (`groups` undefined: all), or undefined when the connection is no
 * monitor. Throws InvalidArgumentError for a monitor with `join` groups or a malformed group list.
 */
export function resolveMonitor(
  options: ConnectOptions,
): { readonly groups: readonly string[] | undefined } | undefined {
  const { monitor } = options;
  if (monitor === undefined || monitor === false) return undefined;
  if ((options.join?.length ?? 0) > 0) {
    throw new InvalidArgumentError('a monitor cannot join groups: leave out `join` or `monitor`');
  }
  return { groups: monitor === true ? undefined : checkMonitorGroups(monitor.groups) };
}

/** Validates the groups of a monitor: undefined (all), or a non-empty list of group names. */
export function checkMonitorGroups(groups: readonly string[] | undefined): readonly string[] | undefined {
  if (groups === undefined) return undefined;
  if (!Array.isArray(groups) || groups.length === 0) {
    throw new InvalidArgumentError(
      'monitor groups must be a non-empty list (leave it out to watch every group)',
    );
  }
  for (const group of groups) {
    if (typeof group !== 'string' || group === '') {
      throw new InvalidArgumentError('monitor groups must be non-empty strings');
    }
  }
  return groups;
}
