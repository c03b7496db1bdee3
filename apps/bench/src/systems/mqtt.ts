/*
 * MQTT: mosquitto on loopback TCP, the `mqtt` client, QoS 0 (at most once: the cheapest level,
 * so a loss shows up in verification rather than being retried).
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { rawPayload, readI, readT, stampedCopy } from '../payload.js';
import { canConnect, freePort, run, spawnProcess, waitUntil, which } from '../processes.js';
import { libraryVersion } from './nats.js';
import type { Client, OnMessage, Publisher, SystemClient, SystemServer } from './system.js';

export const mqttServer: SystemServer = {
  id: 'mqtt',
  label: 'mosquitto',
  peer: true,
  topics: true,
  async unavailable() {
    if ((await which('mosquitto')) === undefined) return 'mosquitto is not installed';
    if (libraryVersion('mqtt') === 'missing') return 'the mqtt package is not installed';
    return undefined;
  },
  async versions() {
    const out = await run((await which('mosquitto')) ?? 'mosquitto', ['-h']);
    return {
      mosquitto: /mosquitto version (\S+)/.exec(out)?.[1] ?? '?',
      'mqtt (npm)': libraryVersion('mqtt'),
    };
  },
  async start(options) {
    const port = await freePort();
    const file = join(options.dir, 'mosquitto.conf');
    // No queue limits: the bench bounds how far the emitter runs ahead itself.
    await writeFile(
      file,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence false',
        'max_queued_messages 0',
        'max_queued_bytes 0',
        'set_tcp_nodelay true',
        'log_dest none',
        '',
      ].join('\n'),
    );
    const spawned = spawnProcess((await which('mosquitto')) ?? 'mosquitto', ['-c', file]);
    await waitUntil(spawned, 'mosquitto', () => canConnect({ host: '127.0.0.1', port }));
    return {
      address: `mqtt://127.0.0.1:${port}`,
      pid: spawned.child.pid,
      stop: () => spawned.stop('SIGTERM'),
    };
  },
};

class MqttBenchClient implements Client {
  readonly #client: MqttClient;
  readonly #handlers = new Map<string, OnMessage>();

  constructor(client: MqttClient) {
    this.#client = client;
    client.on('message', (topic, message) => {
      this.#handlers.get(topic)?.(readI(message), readT(message), 0, 0);
    });
  }

  async subscribe(topic: string, onMessage: OnMessage): Promise<void> {
    this.#handlers.set(topic, onMessage);
    await this.#client.subscribeAsync(topic, { qos: 0 });
  }

  async publisher(topic: string, payloadSize: number): Promise<Publisher> {
    const client = this.#client;
    const payload = rawPayload(payloadSize);
    const window = 256;
    const inFlight: Promise<unknown>[] = [];
    return {
      send(i, t) {
        inFlight.push(client.publishAsync(topic, stampedCopy(payload, i, t), { qos: 0 }));
        if (inFlight.length < window) return undefined;
        return (inFlight.shift() as Promise<unknown>).then(() => undefined);
      },
      async drain() {
        await Promise.all(inFlight);
      },
    };
  }

  async close(): Promise<void> {
    await this.#client.endAsync();
  }
}

export const mqttClient: SystemClient = {
  async connect(address) {
    const { connectAsync } = await import('mqtt');
    return new MqttBenchClient(await connectAsync(address, { reconnectPeriod: 0, clean: true }));
  },
};
