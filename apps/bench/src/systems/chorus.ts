/*
 * Chorus through its SDK, as an app would use it: typed contracts with zod validation on both
 * ends, `onFull: 'block'`, the daemon's default limits. The emitter publishes (`group.publish`,
 * fire-and-forget like NATS's publish, the SDK's window its backpressure); `chorus-emit` emits
 * with an answer per message instead (`group.emit`, pipelined).
 */

import { type Bus, connect, defaultConnectOptions, defineGroup, z } from '@chorus/client';
import { encodePayload } from '@chorus/protocol';
import type { Client, OnMessage, Publisher, SystemClient } from './system.js';

/** The signal every Chorus bench group carries. Schemas are built once, at module load. */
export const tickSchema = z.object({
  i: z.number().int().nonnegative(),
  t: z.number(),
  pad: z.instanceof(Uint8Array),
});

export type Tick = z.output<typeof tickSchema>;

/** A contract per group name (the name is part of the contract). */
export function tickContract(group: string) {
  return defineGroup(group, { signals: { Tick: tickSchema } });
}

/**
 * Padding that makes `{ i, t, pad }` encode to about `size` bytes (exactly for a counter that
 * needs a uint32 and a float time; a few bytes less for small counters).
 */
export function chorusPad(size: number): Uint8Array<ArrayBuffer> {
  const probe = (n: number) => encodePayload({ i: 0x10000, t: 0.5, pad: new Uint8Array(n) }).byteLength;
  let n = Math.max(0, size - probe(0));
  while (n > 0 && probe(n) > size) n--;
  return new Uint8Array(n);
}

/** How the bench's Chorus emitter sends. */
type SendMode = 'publish' | 'emit';

class ChorusClient implements Client {
  readonly #bus: Bus;
  /** The groups' `validate` option: whether the daemon checks each emit against the contract. */
  readonly #validate: boolean;
  readonly #mode: SendMode;
  /** The groups are federated (created on one daemon, joined on all of them). */
  readonly #federated: boolean;

  constructor(bus: Bus, options: { validate: boolean; mode?: SendMode; federated?: boolean }) {
    this.#bus = bus;
    this.#validate = options.validate;
    this.#mode = options.mode ?? 'publish';
    this.#federated = options.federated ?? false;
  }

  async subscribe(topic: string, onMessage: OnMessage): Promise<void> {
    const sub = await this.#join(topic);
    sub.on('Tick', (payload, meta) => onMessage(payload.i, payload.t, meta.seq, meta.groupSeq));
  }

  /** A federated group created on another daemon reaches this one a moment later: retried meanwhile. */
  async #join(topic: string) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#bus.join(tickContract(topic));
      } catch (error) {
        if (!this.#federated || attempt >= 100 || (error as { code?: string }).code !== 'UNKNOWN_GROUP')
          throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /** Joins a group by name without handlers (memberships for the scale test). */
  async join(group: string): Promise<void> {
    await this.#bus.join(group);
  }

  async publisher(topic: string, payloadSize: number): Promise<Publisher> {
    const group = await this.#bus.createGroup(tickContract(topic), {
      onFull: 'block',
      validate: this.#validate,
      ...(this.#federated ? { federated: true } : {}),
    });
    const pad = chorusPad(payloadSize);
    if (this.#mode === 'publish') {
      const bus = this.#bus;
      // Failures would come as publishError events; the bench counts on none (it verifies every delivery).
      bus.on('publishError', (error) => {
        throw error;
      });
      return {
        // The SDK's own window: a promise only when it is full.
        send: (i, t) => group.publish('Tick', { i, t, pad }),
        drain: () => bus.flush(),
      };
    }
    // A window as large as the SDK's own bound: when it is full, wait for the oldest emit.
    const window = defaultConnectOptions.maxInFlight;
    const inFlight: Promise<unknown>[] = new Array(window);
    let head = 0;
    let count = 0;
    return {
      send(i, t) {
        const emitted = group.emit('Tick', { i, t, pad });
        if (count < window) {
          inFlight[(head + count++) % window] = emitted;
          return undefined;
        }
        const oldest = inFlight[head] as Promise<unknown>;
        inFlight[head] = emitted;
        head = (head + 1) % window;
        return oldest.then(() => undefined);
      },
      async drain() {
        await Promise.all(inFlight.filter((p) => p !== undefined));
      },
    };
  }

  close(): Promise<void> {
    return this.#bus.close();
  }
}

export const chorusClient: SystemClient = {
  async connect(address) {
    return new ChorusClient(await connect({ address, client: 'bench' }), { validate: true });
  },
};

/** Chorus with an acknowledged `emit` per message (the SDK's emit window). */
export const chorusEmitClient: SystemClient = {
  async connect(address) {
    return new ChorusClient(await connect({ address, client: 'bench' }), { validate: true, mode: 'emit' });
  },
};

/** Chorus with the bench's groups created with `validate: false`. */
export const chorusNoValidateClient: SystemClient = {
  async connect(address) {
    return new ChorusClient(await connect({ address, client: 'bench' }), { validate: false });
  },
};

/** Chorus with federated groups: created on the first daemon, joined on all of them. */
export const chorusFederatedClient: SystemClient = {
  async connect(address) {
    return new ChorusClient(await connect({ address, client: 'bench' }), {
      validate: true,
      mode: 'emit',
      federated: true,
    });
  },
};

/** The service of the method-call workload: echoes a counter back. */
export const echoContract = defineGroup('bench.Echo', {
  methods: { Echo: { input: z.object({ i: z.number().int() }), output: z.object({ i: z.number().int() }) } },
});

/** Connects, takes the name `bench.Echo` and serves it; the returned client closes it all. */
export async function serveEcho(address: string): Promise<Client> {
  const bus = await connect({ address, client: 'bench-echo' });
  await bus.requestName(echoContract.name);
  bus.serve(echoContract, { Echo: (input) => ({ i: input.i }) });
  return {
    subscribe: () => Promise.reject(new Error('an echo service subscribes to nothing')),
    publisher: () => Promise.reject(new Error('an echo service publishes nothing')),
    close: () => bus.close(),
  };
}

/** Calls Echo `count`-wise with `concurrency` calls in flight for `durationMs`; verifies each answer. */
export async function callEcho(
  address: string,
  concurrency: number,
  durationMs: number,
): Promise<{ calls: number; seconds: number; wrong: number }> {
  const bus = await connect({ address, client: 'bench-caller' });
  try {
    await bus.waitForName(echoContract.name);
    let calls = 0;
    let wrong = 0;
    const started = performance.now();
    const deadline = started + durationMs;
    await Promise.all(
      Array.from({ length: concurrency }, async (_, lane) => {
        for (let k = 0; performance.now() < deadline; k++) {
          const i = k * concurrency + lane;
          const reply = await bus.call(echoContract, 'Echo', { i });
          if (reply.i !== i) wrong++;
          calls++;
        }
      }),
    );
    return { calls, seconds: (performance.now() - started) / 1000, wrong };
  } finally {
    await bus.close();
  }
}
