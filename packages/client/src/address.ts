/*
 * Bus addresses: `unix:path=/run/user/1000/chorus/bus.sock` (D-Bus style) and `ws://` / `wss://`
 * URLs. Parsing is pure so both the node and the browser entry share it.
 */

import { AddressError } from './errors.js';

/**
 * A parsed unix socket address.
 *
 * @example
 * ```ts
 * parseAddress('unix:path=/tmp/x.sock'); // { kind: 'unix', path: '/tmp/x.sock' }
 * ```
 */
export interface UnixAddress {
  readonly kind: 'unix';
  readonly path: string;
}

/**
 * A parsed WebSocket address.
 *
 * @example
 * ```ts
 * parseAddress('ws://localhost:7070/bus'); // { kind: 'websocket', url: 'ws://localhost:7070/bus' }
 * ```
 */
export interface WebSocketAddress {
  readonly kind: 'websocket';
  readonly url: string;
}

/**
 * Any parsed bus address; `kind` selects the transport.
 *
 * @example
 * ```ts
 * const address: BusAddress = parseAddress(text);
 * if (address.kind === 'unix') console.log(address.path);
 * ```
 */
export type BusAddress = UnixAddress | WebSocketAddress;

/**
 * Parses a bus address: `unix:path=…`, a plain absolute socket path (as chorusd's `--socket`
 * takes), or a `ws://`/`wss://` URL. Throws AddressError (BAD_ADDRESS) for anything else. In
 * `unix:` addresses, values may be %-escaped as in D-Bus (`unix:path=/tmp/a%2cb.sock`).
 *
 * @example
 * ```ts
 * const address = parseAddress(process.env.CHORUS_BUS_ADDRESS ?? 'unix:path=/tmp/chorus.sock');
 * ```
 */
export function parseAddress(address: string): BusAddress {
  if (/^wss?:\/\//i.test(address)) return { kind: 'websocket', url: address };
  if (address.startsWith('unix:')) {
    const keys = parseKeys(address, address.slice('unix:'.length));
    const path = keys.get('path');
    if (path === undefined || path === '')
      throw new AddressError(`'${address}': a unix address needs path=...`);
    return { kind: 'unix', path };
  }
  // A socket path as chorusd's --socket takes it: only an absolute one, so a typo is not a path.
  if (address.startsWith('/')) return { kind: 'unix', path: address };
  throw new AddressError(
    `'${address}': expected unix:path=/path/to/bus.sock, a socket path starting with '/', or a ws:// / wss:// URL`,
  );
}

function parseKeys(address: string, rest: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const pair of rest.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new AddressError(`'${address}': expected key=value pairs after 'unix:'`);
    try {
      keys.set(pair.slice(0, at), decodeURIComponent(pair.slice(at + 1)));
    } catch {
      throw new AddressError(`'${address}': bad %-escape`);
    }
  }
  return keys;
}

/**
 * What {@link defaultAddress} reads from the environment.
 *
 * @example
 * ```ts
 * const env: AddressEnvironment = { XDG_RUNTIME_DIR: '/run/user/1000' };
 * ```
 */
export interface AddressEnvironment {
  readonly CHORUS_BUS_ADDRESS?: string | undefined;
  readonly XDG_RUNTIME_DIR?: string | undefined;
}

/**
 * The address `connect()` uses without `options.address`: `$CHORUS_BUS_ADDRESS`, else the default
 * socket `$XDG_RUNTIME_DIR/chorus/bus.sock`, else `/tmp/chorus-<uid>/bus.sock` (as chorusd does).
 *
 * @example
 * ```ts
 * defaultAddress({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000); // 'unix:path=/run/user/1000/chorus/bus.sock'
 * ```
 */
export function defaultAddress(env: AddressEnvironment, uid: number): string {
  const explicit = env.CHORUS_BUS_ADDRESS;
  if (explicit !== undefined && explicit !== '') return explicit;
  const runtime = env.XDG_RUNTIME_DIR;
  const path =
    runtime !== undefined && runtime !== ''
      ? `${runtime.replace(/\/+$/, '')}/chorus/bus.sock`
      : `/tmp/chorus-${uid}/bus.sock`;
  return `unix:path=${escapeValue(path)}`;
}

// %-escaping as in D-Bus addresses, so a ',' or '=' in a directory name survives parseAddress.
function escapeValue(value: string): string {
  return encodeURIComponent(value).replace(/%2F/gi, '/');
}
