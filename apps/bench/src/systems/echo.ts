/*
 * The method-call workload's two ends, per system: an echo service (run in a subscriber process)
 * and a caller (in the bench process) that keeps `concurrency` calls in flight and checks that
 * every answer carries its own call's counter.
 *
 * - Chorus: a typed `Echo` method, zod on input and output at both ends (systems/chorus.ts).
 * - NATS: request/reply (`nc.request`, the client's shared reply inbox) to a callback
 *   subscription that responds with the request's bytes (an 8-byte counter).
 * - D-Bus: a method call `Echo(u) → u` on a well-known name through dbus-daemon, served by a
 *   dbus-next method handler, called with `bus.call`.
 */

import type { MessageBus } from 'dbus-next';
import type { SystemId } from './system.js';

export interface EchoService {
  close(): Promise<void>;
}

export interface CallResult {
  readonly calls: number;
  readonly seconds: number;
  /** Answers that did not carry their call's counter. */
  readonly wrong: number;
}

/** Systems with a request/reply to measure. */
export const callSystems: readonly SystemId[] = ['chorus', 'nats', 'dbus'];

const NATS_SUBJECT = 'bench.echo';
const DBUS_NAME = 'org.chorus.BenchEcho';
const DBUS_PATH = '/org/chorus/BenchEcho';
const DBUS_INTERFACE = 'org.chorus.BenchEcho';

export async function serveEcho(system: SystemId, address: string): Promise<EchoService> {
  switch (system) {
    case 'chorus':
      return (await import('./chorus.js')).serveEcho(address);
    case 'nats': {
      const { connect } = await import('nats');
      const nc = await connect({ servers: address, maxPingOut: 100, pingInterval: 60_000 });
      nc.subscribe(NATS_SUBJECT, {
        callback: (error, msg) => {
          if (error === null) msg.respond(msg.data);
        },
      });
      await nc.flush(); // the server has the subscription
      return { close: () => nc.close() };
    }
    case 'dbus': {
      const dbus = await import('dbus-next');
      const bus = await dbusConnect(dbus, address);
      const { Message, MessageType } = dbus;
      bus.addMethodHandler((msg: InstanceType<typeof Message>) => {
        if (msg.type !== MessageType.METHOD_CALL || msg.member !== 'Echo' || msg.path !== DBUS_PATH) {
          return false;
        }
        bus.send(Message.newMethodReturn(msg, 'u', [msg.body[0]]));
        return true;
      });
      await bus.requestName(DBUS_NAME, 4 /* DBUS_NAME_FLAG_DO_NOT_QUEUE */);
      return {
        close: async () => {
          bus.disconnect();
        },
      };
    }
    default:
      throw new Error(`${system} has no echo service in this bench`);
  }
}

export async function callEcho(
  system: SystemId,
  address: string,
  concurrency: number,
  durationMs: number,
): Promise<CallResult> {
  switch (system) {
    case 'chorus':
      return (await import('./chorus.js')).callEcho(address, concurrency, durationMs);
    case 'nats': {
      const { connect } = await import('nats');
      const nc = await connect({ servers: address, maxPingOut: 100, pingInterval: 60_000 });
      try {
        return await lanes(concurrency, durationMs, async (i) => {
          const request = new Uint8Array(8);
          new DataView(request.buffer).setFloat64(0, i, true);
          const reply = await nc.request(NATS_SUBJECT, request, { timeout: 30_000 });
          return (
            reply.data.byteLength === 8 &&
            new DataView(reply.data.buffer, reply.data.byteOffset, 8).getFloat64(0, true) === i
          );
        });
      } finally {
        await nc.close();
      }
    }
    case 'dbus': {
      const dbus = await import('dbus-next');
      const bus = await dbusConnect(dbus, address);
      const { Message } = dbus;
      try {
        return await lanes(concurrency, durationMs, async (i) => {
          const reply = await bus.call(
            new Message({
              destination: DBUS_NAME,
              path: DBUS_PATH,
              interface: DBUS_INTERFACE,
              member: 'Echo',
              signature: 'u',
              body: [i],
            }),
          );
          return reply !== null && reply.body[0] === i;
        });
      } finally {
        bus.disconnect();
      }
    }
    default:
      throw new Error(`${system} has no echo service in this bench`);
  }
}

/** `concurrency` loops calling `call(i)` (i unique per call) until `durationMs` has passed. */
export async function lanes(
  concurrency: number,
  durationMs: number,
  call: (i: number) => Promise<boolean>,
): Promise<CallResult> {
  let calls = 0;
  let wrong = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      for (let k = 0; performance.now() < deadline; k++) {
        if (!(await call(k * concurrency + lane))) wrong++;
        calls++;
      }
    }),
  );
  return { calls, seconds: (performance.now() - started) / 1000, wrong };
}

async function dbusConnect(dbus: typeof import('dbus-next'), address: string): Promise<MessageBus> {
  const bus = dbus.sessionBus({ busAddress: address });
  await new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error', reject);
  });
  return bus;
}
