/*
 * The connect sequence shared by the node and the browser entry: pick and open a transport, run
 * the handshake, all under one timeout and one AbortSignal. Each entry supplies a Platform.
 */

import { type BusAddress, parseAddress, type UnixAddress, type WebSocketAddress } from './address.js';
import { type Bus, BusImpl, type Reconnector } from './bus.js';
import { checkAutoJoins } from './compat/contract-check.js';
import { connectFailureMessage } from './connect-failure.js';
import {
  AbortError,
  AddressError,
  type ChorusError,
  ConnectError,
  isChorusError,
  TimeoutError,
  UnsupportedTransportError,
} from './errors.js';
import { type ConnectOptions, resolveMonitor, resolveReconnect, resolveSettings } from './options.js';
import type { Transport, TransportOpener } from './transports/transport.js';

/** What differs between runtimes: the default address and the transports available. */
export interface Platform {
  /** The address used without `options.address`; undefined when the runtime has none. */
  defaultAddress(): string | undefined;
  /** The WebSocket token used without `options.token` (Node: `$CHORUS_TOKEN`). */
  defaultToken?(): string | undefined;
  /** A transport per address kind; a missing one means "not in this runtime". */
  readonly transports: {
    readonly unix?: TransportOpener<UnixAddress>;
    readonly websocket?: WebSocketOpener;
  };
}

/**
 * Opens a WebSocket transport. `token` is `options.token`: the daemon checks it at the upgrade,
 * before any frame, so it travels with the request (the node entry falls back to `$CHORUS_TOKEN`).
 */
export type WebSocketOpener = (
  address: WebSocketAddress,
  signal: AbortSignal,
  token: string | undefined,
) => Promise<Transport>;

/** `connect()` for a platform (the entries bind it). */
export async function connectWith(platform: Platform, options: ConnectOptions = {}): Promise<Bus> {
  const settings = resolveSettings(options);
  const monitor = resolveMonitor(options);
  const reconnect = resolveReconnect(options);
  // A transport handed over as an object cannot be opened again: only a factory or an address can.
  const reconnector: Reconnector | undefined =
    reconnect === undefined || (options.transport !== undefined && typeof options.transport !== 'function')
      ? undefined
      : {
          settings: reconnect,
          dial: (signal) =>
            untilAborted(openTransport(platform, options, signal), signal, (late) => {
              void late.close();
            }),
        };
  const { signal } = options;
  if (signal?.aborted) throw new AbortError('connect was aborted', { cause: signal.reason });

  // One controller for both ways of giving up, so each step listens to a single signal.
  const attempt = new AbortController();
  const onAbort = (): void => attempt.abort(new AbortError('connect was aborted', { cause: signal?.reason }));
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    settings.timeoutMs > 0
      ? setTimeout(
          () =>
            attempt.abort(
              new TimeoutError(`not connected within ${settings.timeoutMs} ms`, settings.timeoutMs),
            ),
          settings.timeoutMs,
        )
      : undefined;

  let transport: Transport | undefined;
  let bus: BusImpl | undefined;
  try {
    transport = await untilAborted(
      openTransport(platform, options, attempt.signal),
      attempt.signal,
      (late) => {
        void late.close();
      },
    );
    bus = new BusImpl(transport, settings, options.join ?? [], reconnector);
    const opened = await untilAborted(
      bus.handshake({ token: options.token, client: options.client, monitor }),
      attempt.signal,
    );
    // [GUARANTEE: compatibility] typed autojoins, checked as a join would be (connect fails).
    if (monitor === undefined) {
      await untilAborted(
        checkAutoJoins((group) => opened.getGroupSchema(group), options.join ?? []),
        attempt.signal,
      );
    }
    return opened;
  } catch (error) {
    const failure: ChorusError = attempt.signal.aborted
      ? (attempt.signal.reason as ChorusError)
      : asChorusError(error);
    if (bus !== undefined) void bus.abort(failure);
    else if (transport !== undefined) void transport.close().catch(() => undefined);
    throw failure;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

async function openTransport(
  platform: Platform,
  options: ConnectOptions,
  signal: AbortSignal,
): Promise<Transport> {
  const given = options.transport;
  if (given !== undefined && typeof given !== 'function') return given;
  const text = options.address ?? platform.defaultAddress();
  if (text === undefined)
    throw new AddressError('no bus address: pass options.address (or options.transport)');
  const address = parseAddress(text);
  try {
    if (given !== undefined) return await given(address, signal);
    return await openBuiltIn(platform, address, signal, options.token);
  } catch (cause) {
    if (isChorusError(cause) || signal.aborted) throw cause;
    const hadToken =
      options.token !== undefined || platform.defaultToken?.() !== undefined || /[?&]token=/.test(text);
    throw new ConnectError(connectFailureMessage(text, address, cause, hadToken), { cause, address: text });
  }
}

function openBuiltIn(
  platform: Platform,
  address: BusAddress,
  signal: AbortSignal,
  token: string | undefined,
): Promise<Transport> {
  switch (address.kind) {
    case 'unix': {
      const open = platform.transports.unix;
      if (open === undefined)
        throw new UnsupportedTransportError('unix sockets are not available here; use a ws:// address');
      return open(address, signal);
    }
    case 'websocket': {
      const open = platform.transports.websocket;
      if (open === undefined)
        throw new UnsupportedTransportError('no WebSocket in this runtime; pass options.transport');
      return open(address, signal, token);
    }
  }
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts. A value that
 * arrives after the abort goes to `onLate` (to be closed); a late rejection is dropped.
 */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, onLate?: (value: T) => void): Promise<T> {
  if (signal.aborted) {
    promise.then(onLate, () => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.then(onLate, () => undefined);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function asChorusError(error: unknown): ChorusError {
  if (isChorusError(error)) return error;
  return new ConnectError(`cannot connect: ${String(error)}`, { cause: error });
}
