/*
 * Redis pub/sub: redis-server on a Unix socket (no persistence, no pub/sub output-buffer limit:
 * the bench bounds how far the emitter runs ahead itself), the `ioredis` client.
 */

import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { rawPayload, readI, readT, stampedCopy } from '../payload.js';
import { canConnect, run, spawnProcess, waitUntil, which } from '../processes.js';
import { libraryVersion } from './nats.js';
import type { Client, OnMessage, Publisher, SystemClient, SystemServer } from './system.js';

export const redisServer: SystemServer = {
  id: 'redis',
  label: 'Redis',
  peer: true,
  topics: true,
  async unavailable() {
    if ((await which('redis-server')) === undefined) return 'redis-server is not installed';
    if (libraryVersion('ioredis') === 'missing') return 'the ioredis package is not installed';
    return undefined;
  },
  async versions() {
    const out = await run((await which('redis-server')) ?? 'redis-server', ['--version']);
    return {
      'redis-server': /v=(\S+)/.exec(out)?.[1] ?? out.trim(),
      'ioredis (npm)': libraryVersion('ioredis'),
    };
  },
  async start(options) {
    const socket = join(options.dir, 'redis.sock');
    const spawned = spawnProcess((await which('redis-server')) ?? 'redis-server', [
      '--port',
      '0',
      '--unixsocket',
      socket,
      '--unixsocketperm',
      '700',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      options.dir,
      '--client-output-buffer-limit',
      'pubsub 0 0 0',
      '--loglevel',
      'warning',
    ]);
    await waitUntil(spawned, 'redis-server', () => canConnect({ path: socket }));
    return { address: socket, pid: spawned.child.pid, stop: () => spawned.stop('SIGTERM') };
  },
};

class RedisClient implements Client {
  readonly #connect: () => Promise<Redis>;
  readonly #connections: Redis[] = [];
  #subscriber: Redis | undefined;
  readonly #handlers = new Map<string, OnMessage>();

  constructor(connect: () => Promise<Redis>) {
    this.#connect = connect;
  }

  async subscribe(topic: string, onMessage: OnMessage): Promise<void> {
    // A connection in subscriber mode can only subscribe: one per client, for all its topics.
    if (this.#subscriber === undefined) {
      const subscriber = await this.#connect();
      this.#connections.push(subscriber);
      this.#subscriber = subscriber;
      subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
        this.#handlers.get(channel.toString())?.(readI(message), readT(message), 0, 0);
      });
    }
    this.#handlers.set(topic, onMessage);
    await this.#subscriber.subscribe(topic);
  }

  async publisher(topic: string, payloadSize: number): Promise<Publisher> {
    const redis = await this.#connect();
    this.#connections.push(redis);
    const payload = rawPayload(payloadSize);
    const window = 256;
    const inFlight: Promise<unknown>[] = [];
    return {
      send(i, t) {
        inFlight.push(redis.publish(topic, stampedCopy(payload, i, t)));
        if (inFlight.length < window) return undefined;
        return (inFlight.shift() as Promise<unknown>).then(() => undefined);
      },
      async drain() {
        await Promise.all(inFlight);
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.#connections.map((redis) => redis.quit().catch(() => undefined)));
  }
}

export const redisClient: SystemClient = {
  async connect(address) {
    const { Redis } = await import('ioredis');
    return new RedisClient(async () => {
      const redis = new Redis({ path: address, lazyConnect: true, enableAutoPipelining: true });
      await redis.connect();
      return redis;
    });
  },
};
