/*
 * `connect()` for browsers: no default address, no unix sockets, no Node built-ins; WebSockets
 * through the global `WebSocket`.
 */

import type { Bus } from './bus.js';
import { connectWith, type Platform } from './connect.js';
import { UnsupportedTransportError } from './errors.js';
import type { ConnectOptions } from './options.js';
import { connectWebSocket, type WebSocketConstructor } from './transports/websocket.js';

const browser: Platform = {
  defaultAddress: () => undefined,
  transports: {
    websocket: (address, signal, token) => {
      const { WebSocket } = globalThis as { WebSocket?: WebSocketConstructor };
      if (WebSocket === undefined)
        throw new UnsupportedTransportError('this runtime has no global WebSocket; pass options.transport');
      return connectWebSocket(address.url, { WebSocket, token, signal });
    },
  },
};

/**
 * Connects to the bus and completes the handshake. In a browser, pass `options.address`
 * (`ws://` / `wss://`, with `options.token`: it travels as `?token=` in the URL, since a browser
 * cannot set headers on a WebSocket) or `options.transport`. Groups in `options.join` are joined
 * in the handshake.
 *
 * @example
 * ```ts
 * const token = new URL(location.href).searchParams.get('token') ?? undefined;
 * const bus = await connect({ address: `ws://${location.host}`, token, join: [Battery] });
 * ```
 */
export function connect(options?: ConnectOptions): Promise<Bus> {
  return connectWith(browser, options);
}
