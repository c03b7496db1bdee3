/*
 * `connect()` for browsers: no default address, no unix sockets, no Node built-ins.
 */

import type { Bus } from './bus.js';
import { connectWith, type Platform } from './connect.js';
import type { ConnectOptions } from './options.js';

const browser: Platform = {
  defaultAddress: () => undefined,
  transports: {},
};

/**
 * Connects to the bus and completes the handshake. In a browser, pass `options.address`
 * (`ws://` / `wss://`) or `options.transport`. Groups in `options.join` are joined in the handshake.
 *
 * @example
 * ```ts
 * const bus = await connect({ address: 'wss://example.org/bus', join: [Battery] });
 * ```
 */
export function connect(options?: ConnectOptions): Promise<Bus> {
  return connectWith(browser, options);
}
