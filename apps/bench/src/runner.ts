/*
 * One measurement: emitters in this process, subscribers in the pool's processes, every message
 * verified on arrival. Throughput is counted when the last subscriber has the last message.
 */

import { nowUs, sleep, yieldToLoop } from './clock.js';
import type { SubscriberResult } from './messages.js';
import type { SubscriberPool, Subscribers } from './pool.js';
import { cpuTimeUs } from './processes.js';
import type { Client, Publisher, SystemClient, SystemId } from './systems/system.js';

export interface Verification {
  readonly ok: boolean;
  /** Streams checked (subscriber connection × topic). */
  readonly streams: number;
  /** Deliveries expected and received. */
  readonly expected: number;
  readonly received: number;
  /** The first few problems, for the report. */
  readonly problems: readonly string[];
}

export interface ThroughputResult {
  readonly messages: number;
  readonly deliveries: number;
  readonly seconds: number;
  readonly deliveriesPerSec: number;
  readonly messagesPerSec: number;
  /** Payload bytes delivered per second, MB (10^6). */
  readonly mbPerSec: number;
  /** CPU time per delivery, µs: what the load costs, whatever else runs on the machine. */
  readonly cpu: CpuCost;
  readonly verification: Verification;
}

export interface CpuCost {
  /** The broker process (undefined when its CPU time cannot be read). */
  readonly brokerUs: number | undefined;
  /** All subscriber processes together. */
  readonly subscribersUs: number;
  /** This process: the emitters. */
  readonly emittersUs: number;
}

export interface LatencyResult {
  readonly messages: number;
  readonly samples: number;
  /** The rate actually achieved, msg/s. */
  readonly rate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  readonly verification: Verification;
}

export interface Setup {
  readonly pool: SubscriberPool;
  readonly system: SystemId;
  readonly client: SystemClient;
  readonly address: string;
  /** Topics, one emitter connection each. */
  readonly topics: readonly string[];
  /** One entry per subscriber connection: the topics it subscribes to. */
  readonly subscribers: readonly (readonly string[])[];
  readonly payloadSize: number;
  /** The broker's process, for its CPU time. */
  readonly brokerPid?: number | undefined;
  /** Where subscribers connect, when not `address` (see Broker.subscriberAddress). */
  readonly subscriberAddress?: string | undefined;
}

/** Bytes any emitter may run ahead of its slowest subscriber, at most. */
const MAX_AHEAD_BYTES = 16 * 1024 * 1024;
/** Time of traffic an emitter may run ahead of its slowest subscriber, at most. */
const MAX_AHEAD_SECONDS = 0.2;
const MIN_AHEAD_MESSAGES = 2048;

/**
 * How far an emitter may run ahead of its slowest subscriber. The systems that have no
 * end-to-end flow control of their own (all but Chorus and the raw broker) would otherwise buffer
 * without bound; the bound is generous enough (and reported often enough) not to stall a pipe.
 */
class AheadLimit {
  readonly #maxMessages: number;
  #lastAt = nowUs();
  #lastSeen = 0;
  #rate = 0;

  constructor(payloadSize: number) {
    this.#maxMessages = Math.max(MIN_AHEAD_MESSAGES, Math.floor(MAX_AHEAD_BYTES / payloadSize));
  }

  limit(slowest: number): number {
    const now = nowUs();
    if (now - this.#lastAt >= 50_000) {
      this.#rate = ((slowest - this.#lastSeen) * 1e6) / (now - this.#lastAt);
      this.#lastAt = now;
      this.#lastSeen = slowest;
    }
    return Math.max(MIN_AHEAD_MESSAGES, Math.min(this.#maxMessages, this.#rate * MAX_AHEAD_SECONDS));
  }
}

interface Opened {
  readonly clients: Client[];
  readonly publishers: Publisher[];
  readonly subs: Subscribers;
}

async function open(setup: Setup, latency: boolean): Promise<Opened> {
  const clients: Client[] = [];
  const publishers: Publisher[] = [];
  try {
    // Publishers first: a Chorus group must exist before anyone joins it.
    for (const topic of setup.topics) {
      const client = await setup.client.connect(setup.address);
      clients.push(client);
      publishers.push(await client.publisher(topic, setup.payloadSize));
    }
    const address = setup.subscriberAddress ?? setup.address;
    const subs = await setup.pool.open(setup.system, address, setup.subscribers, latency);
    return { clients, publishers, subs };
  } catch (error) {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    throw error;
  }
}

async function close(opened: Opened): Promise<void> {
  await opened.subs.close();
  await Promise.all(opened.clients.map((c) => c.close().catch(() => undefined)));
}

function verify(
  results: readonly SubscriberResult[],
  counts: Readonly<Record<string, number>>,
): Verification {
  let expected = 0;
  let received = 0;
  let streams = 0;
  const problems: string[] = [];
  for (const result of results) {
    for (const stream of result.streams) {
      streams++;
      expected += counts[stream.topic] ?? 0;
      received += stream.received;
      if (stream.errors > 0 && problems.length < 5) {
        problems.push(`${stream.topic}: ${stream.errors} errors, first: ${stream.firstError ?? '?'}`);
      }
    }
  }
  const ok = problems.length === 0 && received === expected;
  if (!ok && problems.length === 0) problems.push(`received ${received} of ${expected} deliveries`);
  return { ok, streams, expected, received, problems };
}

function finishTimeout(durationMs: number): number {
  return Math.max(15_000, durationMs * 5);
}

/** Emits as fast as each system allows for `durationMs`, then waits for every delivery. */
export async function measureThroughput(setup: Setup, durationMs: number): Promise<ThroughputResult> {
  const opened = await open(setup, false);
  try {
    const cpuBefore = await cpuSnapshot(setup);
    const started = nowUs();
    const deadline = started + durationMs * 1000;
    const counts: Record<string, number> = {};
    await Promise.all(
      setup.topics.map(async (topic, index) => {
        const publisher = opened.publishers[index] as Publisher;
        const ahead = new AheadLimit(setup.payloadSize);
        let i = 0;
        for (;;) {
          let waited = false;
          for (let k = 0; k < 64; k++) {
            const wait = publisher.send(i++, nowUs());
            if (wait !== undefined) {
              await wait;
              waited = true;
            }
          }
          if (nowUs() >= deadline) break;
          for (;;) {
            const slowest = opened.subs.slowest(topic);
            if (i - slowest <= ahead.limit(slowest)) break;
            await opened.subs.nextProgress();
            waited = true;
          }
          // Fire-and-forget clients never wait: let the loop read the sockets now and then.
          if (!waited) await yieldToLoop();
        }
        await publisher.drain();
        counts[topic] = i;
      }),
    );
    const results = await opened.subs.finish(counts, finishTimeout(durationMs));
    const cpuAfter = await cpuSnapshot(setup);
    const verification = verify(results, counts);
    let last = started;
    for (const result of results) for (const stream of result.streams) last = Math.max(last, stream.lastAt);
    const seconds = (last - started) / 1e6;
    const messages = Object.values(counts).reduce((a, b) => a + b, 0);
    const deliveries = verification.expected;
    return {
      messages,
      deliveries,
      seconds,
      deliveriesPerSec: deliveries / seconds,
      messagesPerSec: messages / seconds,
      mbPerSec: (deliveries * setup.payloadSize) / seconds / 1e6,
      cpu: {
        brokerUs:
          cpuBefore.broker === undefined || cpuAfter.broker === undefined
            ? undefined
            : (cpuAfter.broker - cpuBefore.broker) / deliveries,
        subscribersUs: (cpuAfter.subscribers - cpuBefore.subscribers) / deliveries,
        emittersUs: (cpuAfter.emitters - cpuBefore.emitters) / deliveries,
      },
      verification,
    };
  } finally {
    await close(opened);
  }
}

async function cpuSnapshot(
  setup: Setup,
): Promise<{ broker: number | undefined; subscribers: number; emitters: number }> {
  const usage = process.cpuUsage();
  let subscribers = 0;
  for (const pid of setup.pool.pids()) subscribers += (await cpuTimeUs(pid)) ?? 0;
  return {
    broker: setup.brokerPid === undefined ? undefined : await cpuTimeUs(setup.brokerPid),
    subscribers,
    emitters: usage.user + usage.system,
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

/**
 * Emits at a fixed `rate` (msg/s, one topic) for `durationMs`; every subscriber keeps each
 * emit→receive time. Emits go out on a 1 ms timer, each stamped when it is actually sent.
 */
export async function measureLatency(setup: Setup, rate: number, durationMs: number): Promise<LatencyResult> {
  const opened = await open(setup, true);
  try {
    const topic = setup.topics[0] as string;
    const publisher = opened.publishers[0] as Publisher;
    const total = Math.round((rate * durationMs) / 1000);
    const started = nowUs();
    let i = 0;
    while (i < total) {
      const due = Math.min(total, Math.floor(((nowUs() - started) * rate) / 1e6) + 1);
      while (i < due) {
        const wait = publisher.send(i++, nowUs());
        if (wait !== undefined) await wait;
      }
      await sleep(1);
    }
    const elapsed = (nowUs() - started) / 1e6;
    await publisher.drain();
    const counts = { [topic]: total };
    const results = await opened.subs.finish(counts, finishTimeout(durationMs));
    const verification = verify(results, counts);
    const all = new Float64Array(results.reduce((n, r) => n + (r.latencies?.length ?? 0), 0));
    let offset = 0;
    for (const result of results) {
      if (result.latencies === undefined) continue;
      all.set(result.latencies, offset);
      offset += result.latencies.length;
    }
    all.sort();
    let sum = 0;
    for (const value of all) sum += value;
    return {
      messages: total,
      samples: all.length,
      rate: total / elapsed,
      p50Ms: percentile(all, 50) / 1000,
      p99Ms: percentile(all, 99) / 1000,
      p999Ms: percentile(all, 99.9) / 1000,
      maxMs: (all[all.length - 1] ?? Number.NaN) / 1000,
      meanMs: sum / Math.max(1, all.length) / 1000,
      verification,
    };
  } finally {
    await close(opened);
  }
}
