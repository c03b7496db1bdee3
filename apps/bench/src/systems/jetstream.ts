/*
 * Plain JetStream, the baseline of the federation workload: a publisher awaiting each message's
 * ack (up to a window in flight) and one ordered push consumer per subscriber, on a replicated
 * file stream as Chorus's federation uses.
 */

import type { NatsConnection } from 'nats';
import { rawPayload, readI, readT, stampedCopy } from '../payload.js';
import { REPLICAS } from './nats-cluster.js';
import type { Client, OnMessage, Publisher, SystemClient } from './system.js';

const STREAM = 'BENCH';

class JetStreamClient implements Client {
  readonly #nc: NatsConnection;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  async subscribe(topic: string, onMessage: OnMessage): Promise<void> {
    const { consumerOpts } = await import('nats');
    const opts = consumerOpts();
    opts.orderedConsumer();
    opts.deliverNew();
    opts.callback((error, msg) => {
      if (error === null && msg !== null) onMessage(readI(msg.data), readT(msg.data), 0, 0);
    });
    await this.#nc.jetstream().subscribe(topic, opts);
  }

  async publisher(topic: string, payloadSize: number): Promise<Publisher> {
    await this.#stream();
    const js = this.#nc.jetstream();
    const payload = rawPayload(payloadSize);
    // As many acks awaited at once as the Chorus SDK has emits in flight.
    const window = 1024;
    const inFlight: Promise<unknown>[] = [];
    let head = 0;
    return {
      send(i, t) {
        const acked = js.publish(topic, stampedCopy(payload, i, t));
        if (inFlight.length < window) {
          inFlight.push(acked);
          return undefined;
        }
        const oldest = inFlight[head] as Promise<unknown>;
        inFlight[head] = acked;
        head = (head + 1) % window;
        return oldest.then(() => undefined);
      },
      async drain() {
        await Promise.all(inFlight);
      },
    };
  }

  /** The stream of the bench's subjects: created once (retried while the cluster settles). */
  async #stream(): Promise<void> {
    const { RetentionPolicy, StorageType } = await import('nats');
    const jsm = await this.#nc.jetstreamManager();
    for (let attempt = 0; ; attempt++) {
      try {
        await jsm.streams.info(STREAM);
        return;
      } catch {
        try {
          await jsm.streams.add({
            name: STREAM,
            subjects: ['bench.>'],
            retention: RetentionPolicy.Limits,
            storage: StorageType.File,
            num_replicas: REPLICAS,
          });
          return;
        } catch (error) {
          if (attempt >= 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    }
  }

  async close(): Promise<void> {
    await this.#nc.close();
  }
}

export const jetStreamClient: SystemClient = {
  async connect(address) {
    const { connect } = await import('nats');
    return new JetStreamClient(
      await connect({ servers: address.split(','), maxPingOut: 100, pingInterval: 60_000 }),
    );
  },
};
