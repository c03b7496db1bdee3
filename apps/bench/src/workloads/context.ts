/*
 * What every workload gets: the options of the run, the subscriber processes, the systems that
 * can run here, and a way to run a broker for the duration of a function.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SubscriberPool } from '../pool.js';
import { median, type Row, spreadOf } from '../results.js';
import { measureThroughput, type Setup } from '../runner.js';
import { clientOf } from '../systems/index.js';
import type { Broker, SystemClient, SystemId, SystemServer } from '../systems/system.js';

export interface BenchOptions {
  readonly quick: boolean;
  /** Length of one throughput measurement, ms. */
  readonly durationMs: number;
  /** Length of the latency measurement, ms. */
  readonly latencyMs: number;
  /** Throughput measurements per case; the median is reported. */
  readonly repeat: number;
  /** Extra node flags for the Chorus daemon (`--cpu-prof ...`). */
  readonly daemonFlags: readonly string[];
  /** Fan-out cases to run instead of the default matrix (`--cases 10x64,50x1024`). */
  readonly cases: readonly { readonly n: number; readonly size: number }[] | undefined;
}

export interface Context {
  readonly options: BenchOptions;
  readonly pool: SubscriberPool;
  /** Systems that run in this bench, in table order. */
  readonly systems: readonly SystemServer[];
  log(line: string): void;
}

export interface Running {
  readonly broker: Broker;
  readonly client: SystemClient;
  readonly system: SystemServer;
}

/** Starts `system`'s broker in a fresh temporary directory, runs `fn`, then stops and removes it. */
export async function withBroker<T>(
  context: Context,
  system: SystemServer,
  fn: (running: Running) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `chorus-bench-${system.id}-`));
  const broker = await system.start({
    dir,
    ...(system.id === 'chorus' ? { nodeFlags: context.options.daemonFlags } : {}),
  });
  try {
    const client = await clientOf(system.id);
    return await fn({ broker, client, system });
  } finally {
    await broker.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * An unmeasured fan-out, so that the first measurement does not pay for JIT warm-up (a fresh
 * chorusd needs several thousand messages before it runs at speed).
 */
export async function warmUp(context: Context, running: Running): Promise<void> {
  // Twice: the first measurement after a fresh start stays slow even after a long single run
  // (the subscriber processes' CPU per delivery is 3× the steady figure), the second does not.
  for (let round = 0; round < 2; round++) {
    const topic = `bench.warmup-${running.system.id}-${round}`;
    await measureThroughput(
      {
        pool: context.pool,
        system: running.system.id,
        client: running.client,
        address: running.broker.address,
        topics: [topic],
        subscribers: Array.from({ length: Math.min(10, context.pool.size) }, () => [topic]),
        payloadSize: 64,
      },
      context.options.quick ? 400 : 1000,
    );
  }
}

export function setupFor(
  context: Context,
  running: Running,
  topics: readonly string[],
  subscribers: readonly (readonly string[])[],
  payloadSize: number,
): Setup {
  return {
    pool: context.pool,
    system: running.system.id,
    client: running.client,
    address: running.broker.address,
    topics,
    subscribers,
    payloadSize,
    brokerPid: running.broker.pid,
    subscriberAddress: running.broker.subscriberAddress,
  };
}

/** Collects repeated figures per system and case, and turns them into rows. */
export class Figures {
  readonly #values = new Map<string, { values: number[]; extra: number[]; notes: string[] }>();

  add(key: string, system: SystemId, value: number | undefined, extra?: number, note?: string): void {
    const id = `${key}\u0000${system}`;
    let entry = this.#values.get(id);
    if (entry === undefined) {
      entry = { values: [], extra: [], notes: [] };
      this.#values.set(id, entry);
    }
    if (value !== undefined && Number.isFinite(value)) entry.values.push(value);
    if (extra !== undefined) entry.extra.push(extra);
    if (note !== undefined) entry.notes.push(note);
  }

  row(
    key: string,
    base: Omit<Row, 'values' | 'spread' | 'notes' | 'extra'>,
    systems: readonly SystemId[],
    extraUnit?: string,
  ): Row {
    const values: Row['values'] = {};
    const spread: Row['spread'] = {};
    const notes: Row['notes'] = {};
    const extra: Partial<Record<SystemId, number>> = {};
    for (const system of systems) {
      const entry = this.#values.get(`${key}\u0000${system}`);
      if (entry === undefined) continue;
      if (entry.notes.length > 0) notes[system] = entry.notes[0] as string;
      // A figure whose verification failed even once is not reported as a result.
      if (entry.notes.length > 0 || entry.values.length === 0) continue;
      values[system] = median(entry.values);
      spread[system] = spreadOf(entry.values);
      if (entry.extra.length > 0) extra[system] = median(entry.extra);
    }
    return {
      ...base,
      values,
      spread,
      notes,
      ...(extraUnit === undefined ? {} : { extra: { unit: extraUnit, values: extra } }),
    };
  }
}
