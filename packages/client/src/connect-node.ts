/// <reference types="node" />
/*
 * `connect()` for Node: default address from the environment, unix sockets.
 */

import { defaultAddress } from './address.js';
import type { Bus } from './bus.js';
import { connectWith, type Platform } from './connect.js';
import type { ConnectOptions } from './options.js';
import { connectUnix } from './transports/unix.js';

const node: Platform = {
  defaultAddress: () => defaultAddress(process.env, process.getuid?.() ?? 0),
  transports: {
    unix: (address, signal) => connectUnix(address.path, { signal }),
  },
};

/**
 * Connects to the bus and completes the handshake. The address is `options.address`, else
 * `$CHORUS_BUS_ADDRESS`, else the default socket (`$XDG_RUNTIME_DIR/chorus/bus.sock`, else
 * `/tmp/chorus-<uid>/bus.sock`). Groups in `options.join` are joined in the handshake.
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
