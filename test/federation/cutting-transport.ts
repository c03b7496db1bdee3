/*
 * A subscriber whose connection the test cuts at an exact frame, and whose reconnection it holds
 * back: for the federation's replay tests, where what matters is which frames of a rejoin arrived
 * before the loss.
 */
import { createConnection, type Socket } from 'node:net';
import { type Bus, type ConnectOptions, connect, socketTransport, type Transport } from '@chorus/client';
import { parseServerHeader, type ServerMessage } from '@chorus/protocol';
import type { RunningDaemon } from '../harness/daemon.js';

export interface CuttableBus {
  readonly bus: Bus;
  /** Cuts the connection now; it reconnects once `let()` is called. */
  cut(): void;
  /**
   * The next connection breaks right after the first frame for which `stop` is true (that frame
   * and those before it reach the SDK, nothing after); it reconnects once `let()` is called.
   */
  cutAfter(stop: (message: ServerMessage) => boolean): void;
  let(): void;
}

const u32 = (bytes: Uint8Array, pos: number): number =>
  (((bytes[pos] as number) << 24) |
    ((bytes[pos + 1] as number) << 16) |
    ((bytes[pos + 2] as number) << 8) |
    (bytes[pos + 3] as number)) >>>
  0;

/** Passes whole frames through; after the first one `stop` matches, the stream breaks. */
function breakAfter(
  inner: Transport,
  stop: (message: ServerMessage) => boolean,
  onBreak: () => void,
): Transport {
  return {
    write: (bytes) => inner.write(bytes),
    pause: () => inner.pause(),
    resume: () => inner.resume(),
    close: () => inner.close(),
    async *[Symbol.asyncIterator]() {
      let buffer = new Uint8Array(0);
      for await (const chunk of inner) {
        const joined = new Uint8Array(buffer.length + chunk.length);
        joined.set(buffer);
        joined.set(chunk, buffer.length);
        let pos = 0;
        while (joined.length - pos >= 8) {
          const header = u32(joined, pos);
          const size = 8 + header + u32(joined, pos + 4);
          if (joined.length - pos < size) break;
          const message = parseServerHeader(joined.subarray(pos + 8, pos + 8 + header));
          pos += size;
          if (stop(message)) {
            yield joined.slice(0, pos);
            onBreak();
            void inner.close();
            throw new Error('connection cut by the test');
          }
        }
        if (pos > 0) yield joined.slice(0, pos);
        buffer = joined.slice(pos);
      }
    },
  };
}

export async function cuttableBus(daemon: RunningDaemon, options: ConnectOptions = {}): Promise<CuttableBus> {
  let socket: Socket | undefined;
  let gate: Promise<void> = Promise.resolve();
  let open = (): void => {};
  let stop: ((message: ServerMessage) => boolean) | undefined;
  const hold = (): void => {
    gate = new Promise((resolve) => {
      open = resolve;
    });
  };
  const bus = await connect({
    address: daemon.address,
    reconnect: { initialDelayMs: 50, maxDelayMs: 400 },
    ...options,
    transport: async (address) => {
      await gate;
      if (address.kind !== 'unix') throw new Error('a unix address was expected');
      const dialed = await new Promise<Socket>((resolve, reject) => {
        const s = createConnection(address.path);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
      socket = dialed;
      const transport = socketTransport(dialed);
      const until = stop;
      stop = undefined;
      return until === undefined ? transport : breakAfter(transport, until, hold);
    },
  });
  return {
    bus,
    cut() {
      hold();
      socket?.destroy();
    },
    cutAfter(until) {
      stop = until;
    },
    let() {
      open();
    },
  };
}
