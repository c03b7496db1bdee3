/*
 * A subscriber process: opens connections to the system under test as the bench process asks,
 * verifies every message as it arrives (every one, in order, none twice; the group and bus
 * sequence numbers where the system has them) and reports when each stream is complete.
 */

import { nowUs } from './clock.js';
import type { FromSubscriber, StreamResult, SubscriberResult, ToSubscriber } from './messages.js';
import { clientOf } from './systems/index.js';
import type { Client } from './systems/system.js';

const PROGRESS_EVERY_MS = 10;

class Stream {
  readonly topic: string;
  next = 0;
  received = 0;
  errors = 0;
  firstError: string | undefined;
  lastAt = 0;

  constructor(topic: string) {
    this.topic = topic;
  }

  fail(what: string): void {
    this.errors++;
    this.firstError ??= what;
  }
}

class Run {
  readonly id: number;
  readonly clients: Client[] = [];
  readonly streams: Stream[] = [];
  latencies: Float64Array | undefined;
  latencyCount = 0;
  expected: Readonly<Record<string, number>> | undefined;
  reported = false;
  readonly #timer: NodeJS.Timeout;
  #lastProgress = '';

  constructor(id: number, latency: boolean) {
    this.id = id;
    if (latency) this.latencies = new Float64Array(1 << 16);
    this.#timer = setInterval(() => this.progress(), PROGRESS_EVERY_MS);
  }

  record(latency: number): void {
    let samples = this.latencies as Float64Array;
    if (this.latencyCount === samples.length) {
      const grown = new Float64Array(samples.length * 2);
      grown.set(samples);
      this.latencies = samples = grown;
    }
    samples[this.latencyCount++] = latency;
  }

  progress(): void {
    const min: Record<string, number> = {};
    for (const stream of this.streams) {
      const seen = min[stream.topic];
      min[stream.topic] = seen === undefined ? stream.received : Math.min(seen, stream.received);
    }
    const key = JSON.stringify(min);
    if (key === this.#lastProgress) return;
    this.#lastProgress = key;
    send({ op: 'progress', run: this.id, min });
  }

  complete(): boolean {
    const expected = this.expected;
    if (expected === undefined) return false;
    return this.streams.every((s) => s.received >= (expected[s.topic] ?? 0));
  }

  maybeDone(force = false): void {
    if (this.reported || (!force && !this.complete())) return;
    this.reported = true;
    this.progress();
    const expected = this.expected ?? {};
    const streams: StreamResult[] = this.streams.map((s) => {
      const want = expected[s.topic];
      if (want !== undefined && s.received < want) s.fail(`missing ${want - s.received} of ${want}`);
      return {
        topic: s.topic,
        received: s.received,
        errors: s.errors,
        firstError: s.firstError,
        lastAt: s.lastAt,
      };
    });
    const result: SubscriberResult = {
      streams,
      latencies: this.latencies?.slice(0, this.latencyCount),
    };
    send({ op: 'done', run: this.id, result });
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
  }
}

const runs = new Map<number, Run>();

function send(message: FromSubscriber): void {
  process.send?.(message);
}

async function open(message: Extract<ToSubscriber, { op: 'open' }>): Promise<void> {
  const run = new Run(message.run, message.latency);
  runs.set(run.id, run);
  const system = await clientOf(message.system);
  // A few connects at a time: a burst of hundreds overflows a listen backlog (EAGAIN).
  // Several brokers of one system (federated daemons): this process's connections take them in turn.
  const addresses = message.address.split('|');
  let next = 0;
  await inBatches(message.connections, 8, async (topics) => {
    const client = await system.connect(addresses[next++ % addresses.length] as string);
    run.clients.push(client);
    // [verification] the bus-wide sequence must rise on each connection: one order for all.
    let lastSeq = 0;
    for (const topic of topics) {
      const stream = new Stream(topic);
      run.streams.push(stream);
      await client.subscribe(topic, (i, t, seq, groupSeq) => {
        const now = nowUs();
        stream.received++;
        stream.lastAt = now;
        if (i !== stream.next) {
          stream.fail(
            i < stream.next
              ? `got ${i} after ${stream.next - 1} (repeat or reorder)`
              : `gap: got ${i}, expected ${stream.next}`,
          );
        }
        if (i >= stream.next) stream.next = i + 1;
        if (groupSeq !== 0 && groupSeq !== i + 1) stream.fail(`message ${i} has group sequence ${groupSeq}`);
        if (seq !== 0) {
          if (seq <= lastSeq) stream.fail(`bus sequence ${seq} after ${lastSeq}`);
          lastSeq = seq;
        }
        if (run.latencies !== undefined) run.record(now - t);
        if (run.expected !== undefined && !run.reported) run.maybeDone();
      });
    }
  });
}

async function inBatches<T>(
  items: readonly T[],
  size: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    await Promise.all(items.slice(start, start + size).map(fn));
  }
}

async function join(message: Extract<ToSubscriber, { op: 'join' }>): Promise<void> {
  const run = runs.get(message.run);
  if (run === undefined) throw new Error(`no run ${message.run}`);
  await Promise.all(
    run.clients.map(async (client, index) => {
      const join = (client as { join?: (group: string) => Promise<void> }).join;
      if (join === undefined) throw new Error('this system has no join by name');
      for (const group of message.groups[index] ?? []) await join.call(client, group);
    }),
  );
}

async function handle(message: ToSubscriber): Promise<void> {
  switch (message.op) {
    case 'open':
      await open(message);
      send({ op: 'opened', run: message.run });
      return;
    case 'serve': {
      const run = new Run(message.run, false);
      runs.set(run.id, run);
      const { serveEcho } = await import('./systems/echo.js');
      const service = await serveEcho(message.system, message.address);
      run.clients.push({
        subscribe: () => Promise.reject(new Error('an echo service subscribes to nothing')),
        publisher: () => Promise.reject(new Error('an echo service publishes nothing')),
        close: () => service.close(),
      });
      send({ op: 'opened', run: message.run });
      return;
    }
    case 'join':
      await join(message);
      send({ op: 'joined', run: message.run });
      return;
    case 'expect': {
      const run = runs.get(message.run);
      if (run === undefined) return;
      run.expected = message.counts;
      run.maybeDone();
      return;
    }
    case 'report':
      runs.get(message.run)?.maybeDone(true);
      return;
    case 'close': {
      const run = runs.get(message.run);
      runs.delete(message.run);
      await run?.close();
      send({ op: 'closed', run: message.run });
      return;
    }
  }
}

process.on('message', (message: ToSubscriber) => {
  handle(message).catch((error: unknown) => {
    send({
      op: 'failed',
      run: message.run,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  });
});
process.on('disconnect', () => process.exit(0));
