/// <reference types="node" preserve="true" />
/*
 * `connect()` for Node: default address from the environment, unix sockets, and WebSockets through
 * the `ws` package (Node 20 has no global WebSocket; `ws` can also pause reading, which gives real
 * backpressure).
 */

import { WebSocket } from 'ws';
import { defaultAddress } from './address.js';
import type { Bus } from './bus.js';
import { connectWith, type Platform } from './connect.js';
import type { ConnectOptions } from './options.js';
import { connectUnix } from './transports/unix.js';
import { connectWebSocket } from './transports/websocket.js';

const node: Platform = {
  defaultAddress: () => defaultAddress(process.env, process.getuid?.() ?? 0),
  defaultToken: () => process.env['CHORUS_TOKEN'] || undefined,
  transports: {
    unix: (address, signal) => connectUnix(address.path, { signal }),
    websocket: (address, signal, token) =>
      connectWebSocket(address.url, {
        WebSocket,
        binaryType: 'nodebuffer',
        // Only for ws://: on the unix socket a token names an identity, and the WebSocket one is none.
        token: token ?? node.defaultToken?.(),
        signal,
      }),
  },
};

/**
 * Connects to the bus and completes the handshake. The address is `options.address`, else
 * `$CHORUS_BUS_ADDRESS`, else the default socket (`$XDG_RUNTIME_DIR/chorus/bus.sock`, else
 * `/tmp/chorus-<uid>/bus.sock`). A `ws://` address takes `options.token`, else `$CHORUS_TOKEN`.
 * Groups in `options.join` are joined in the handshake.
 * Rejects with ConnectError, TimeoutError, AbortError, or a BusError from the daemon.
 *
 * @example
 * ```ts
 * const bus = await connect({ join: [Battery], timeoutMs: 2000 });
 * const sub = await bus.join(Battery); // no round trip: autojoined
 * ```
 */
export function connect(options?: ConnectOptions): Promise<Bus> {
  return connectWith(node, options);
}
