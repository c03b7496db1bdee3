/*
 * The subscriber processes, kept for the whole bench (starting ten Node processes per
 * measurement would cost more than many measurements), and one measurement's view of them.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sleep } from './clock.js';
import type { FromSubscriber, SubscriberResult, ToSubscriber } from './messages.js';
import type { SystemId } from './systems/system.js';

const subscriberMain = fileURLToPath(new URL('./subscriber.js', import.meta.url));

type Listener = (message: FromSubscriber) => void;

class Worker {
  readonly child: ChildProcess;
  readonly #listeners = new Set<Listener>();
  readonly exited: Promise<void>;

  constructor(profileDir: string | undefined) {
    this.child = fork(subscriberMain, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profileDir],
    });
    this.child.on('message', (message: FromSubscriber) => {
      for (const listener of this.#listeners) listener(message);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  send(message: ToSubscriber): void {
    this.child.send(message);
  }

  listen(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sends `message` and waits for the reply `op` of the same run. */
  request(message: ToSubscriber, op: FromSubscriber['op'], timeoutMs = 120_000): Promise<FromSubscriber> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        remove();
        reject(
          new Error(
            `subscriber process ${this.child.pid}: no '${op}' for '${message.op}' in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const remove = this.listen((reply) => {
        if (reply.run !== message.run) return;
        if (reply.op === op) {
          clearTimeout(timer);
          remove();
          resolve(reply);
        } else if (reply.op === 'failed') {
          clearTimeout(timer);
          remove();
          reject(new Error(`subscriber process ${this.child.pid}: ${reply.error}`));
        }
      });
      this.send(message);
    });
  }
}

let nextRun = 1;

export class SubscriberPool {
  readonly #workers: Worker[];

  private constructor(workers: Worker[]) {
    this.#workers = workers;
  }

  /** `profileDir`: each process writes a V8 CPU profile there when it exits (`--subscriber-cpu-prof`). */
  static start(size: number, profileDir?: string): SubscriberPool {
    return new SubscriberPool(Array.from({ length: size }, () => new Worker(profileDir)));
  }

  /** The subscriber processes' ids (for their CPU time). */
  pids(): number[] {
    return this.#workers.flatMap((worker) => (worker.child.pid === undefined ? [] : [worker.child.pid]));
  }

  get size(): number {
    return this.#workers.length;
  }

  /**
   * Opens `connections` (each with its topics) spread over the processes, one connection per
   * process first, and resolves once every subscription is in place.
   */
  async open(
    system: SystemId,
    address: string,
    connections: readonly (readonly string[])[],
    latency = false,
  ): Promise<Subscribers> {
    const run = nextRun++;
    const share: string[][][] = this.#workers.map(() => []);
    const indices: number[][] = this.#workers.map(() => []);
    connections.forEach((topics, index) => {
      share[index % this.#workers.length]?.push([...topics]);
      indices[index % this.#workers.length]?.push(index);
    });
    const used = this.#workers.filter((_, index) => (share[index]?.length ?? 0) > 0);
    const subscribers = new Subscribers(
      run,
      used,
      indices.filter((list) => list.length > 0),
    );
    try {
      await Promise.all(
        this.#workers.map((worker, index) => {
          const mine = share[index] ?? [];
          if (mine.length === 0) return undefined;
          return worker.request({ op: 'open', run, system, address, connections: mine, latency }, 'opened');
        }),
      );
    } catch (error) {
      await subscribers.close();
      throw error;
    }
    return subscribers;
  }

  /** Starts the echo service of the method-call workload in one subscriber process. */
  async serveEcho(system: SystemId, address: string): Promise<Subscribers> {
    const run = nextRun++;
    const worker = this.#workers[0] as Worker;
    await worker.request({ op: 'serve', run, system, address }, 'opened');
    return new Subscribers(run, [worker], [[0]]);
  }

  async stop(): Promise<void> {
    for (const worker of this.#workers) worker.child.disconnect();
    await Promise.race([Promise.all(this.#workers.map((w) => w.exited)), sleep(3000)]);
    for (const worker of this.#workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
  }
}

/** The subscriber connections of one measurement. */
export class Subscribers {
  readonly #run: number;
  readonly #workers: Worker[];
  /** Per process, per topic: the fewest messages any of its subscribers has. */
  readonly #progress: Map<Worker, Readonly<Record<string, number>>> = new Map();
  readonly #waiters = new Set<() => void>();
  readonly #removers: (() => void)[] = [];
  /** Per process, the indexes (in `open`'s list) of its connections, in order. */
  readonly #indices: number[][];

  constructor(run: number, workers: Worker[], indices: number[][]) {
    this.#run = run;
    this.#workers = workers;
    this.#indices = indices;
    for (const worker of workers) {
      this.#removers.push(
        worker.listen((message) => {
          if (message.run !== run || message.op !== 'progress') return;
          this.#progress.set(worker, message.min);
          for (const wake of this.#waiters) wake();
          this.#waiters.clear();
        }),
      );
    }
  }

  /** The fewest messages of `topic` any subscriber has received (as last reported). */
  slowest(topic: string): number {
    let min = Number.POSITIVE_INFINITY;
    for (const worker of this.#workers) {
      const value = this.#progress.get(worker)?.[topic];
      if (value !== undefined) min = Math.min(min, value);
      else if (this.#progress.size < this.#workers.length) return 0;
    }
    return min === Number.POSITIVE_INFINITY ? 0 : min;
  }

  /** Resolves at the next progress report (or after 100 ms). */
  nextProgress(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(wake, 100);
      function wake(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#waiters.add(wake);
    });
  }

  /** Chorus: connection k (its index in `open`'s list) joins `groupsOf(k)` by name. */
  async join(groupsOf: (connection: number) => string[]): Promise<void> {
    await Promise.all(
      this.#workers.map((worker, w) => {
        const groups = (this.#indices[w] ?? []).map(groupsOf);
        return worker.request({ op: 'join', run: this.#run, groups }, 'joined');
      }),
    );
  }

  /**
   * Tells the subscribers how many messages each topic carried and waits until all have them,
   * or until `timeoutMs`: then whatever arrived is reported (and verification fails).
   */
  async finish(counts: Readonly<Record<string, number>>, timeoutMs: number): Promise<SubscriberResult[]> {
    const done = this.#workers.map((worker) =>
      worker.request({ op: 'expect', run: this.#run, counts }, 'done', timeoutMs + 60_000),
    );
    const timer = setTimeout(() => {
      for (const worker of this.#workers) worker.send({ op: 'report', run: this.#run });
    }, timeoutMs);
    try {
      const replies = await Promise.all(done);
      return replies.map((reply) => (reply as Extract<FromSubscriber, { op: 'done' }>).result);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    for (const remove of this.#removers) remove();
    await Promise.all(
      this.#workers.map((worker) =>
        worker.request({ op: 'close', run: this.#run }, 'closed', 30_000).catch(() => undefined),
      ),
    );
  }
}
