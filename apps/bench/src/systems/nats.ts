/*
 * NATS: nats-server on loopback TCP, the `nats` client (callback subscriptions, the fastest mode).
 */

import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { NatsConnection } from 'nats';
import { rawPayload, readI, readT, stampedCopy } from '../payload.js';
import { canConnect, freePort, run, spawnProcess, waitUntil, which } from '../processes.js';
import type { Client, OnMessage, Publisher, SystemClient, SystemServer } from './system.js';
import { RoundTripWindow } from './window.js';

const require = createRequire(import.meta.url);

export function libraryVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

export const natsServer: SystemServer = {
  id: 'nats',
  label: 'NATS',
  peer: true,
  topics: true,
  async unavailable() {
    if ((await which('nats-server')) === undefined) return 'nats-server is not installed';
    if (libraryVersion('nats') === 'missing') return 'the nats package is not installed';
    return undefined;
  },
  async versions() {
    const out = await run((await which('nats-server')) ?? 'nats-server', ['--version']);
    return {
      'nats-server': out.trim().replace(/^nats-server:\s*/, ''),
      'nats (npm)': libraryVersion('nats'),
    };
  },
  async start(options) {
    const port = await freePort();
    const config = join(options.dir, 'nats.conf');
    // Generous slow-consumer bounds: the bench bounds how far the emitter runs ahead itself.
    await writeFile(
      config,
      `host: 127.0.0.1\nport: ${port}\nmax_pending: 268435456\nwrite_deadline: "60s"\nmax_payload: 1048576\n`,
    );
    const spawned = spawnProcess((await which('nats-server')) ?? 'nats-server', ['-c', config]);
    await waitUntil(spawned, 'nats-server', () => canConnect({ host: '127.0.0.1', port }));
    return { address: `127.0.0.1:${port}`, pid: spawned.child.pid, stop: () => spawned.stop('SIGTERM') };
  },
};

class NatsClient implements Client {
  readonly #nc: NatsConnection;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  async subscribe(topic: string, onMessage: OnMessage): Promise<void> {
    this.#nc.subscribe(topic, {
      callback: (error, msg) => {
        if (error === null) onMessage(readI(msg.data), readT(msg.data), 0, 0);
      },
    });
    await this.#nc.flush(); // the server has the subscription
  }

  async publisher(topic: string, payloadSize: number): Promise<Publisher> {
    const nc = this.#nc;
    const payload = rawPayload(payloadSize);
    const window = new RoundTripWindow(1024, () => nc.flush());
    return {
      send(i, t) {
        // nats.js keeps a reference to the bytes until it flushes: a fresh buffer each time.
        nc.publish(topic, stampedCopy(payload, i, t));
        return window.sent();
      },
      drain: () => window.drain(),
    };
  }

  async close(): Promise<void> {
    await this.#nc.close();
  }
}

export const natsClient: SystemClient = {
  async connect(address) {
    const { connect } = await import('nats');
    return new NatsClient(await connect({ servers: address, maxPingOut: 100, pingInterval: 60_000 }));
  },
};
