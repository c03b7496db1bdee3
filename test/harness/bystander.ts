import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { emitMany, type Frame, RawClient, tickOf } from './raw-client.js';

/**
 * Two well-behaved clients that must not notice whatever else happens on the bus: a service
 * emitting a numbered stream into its own group, and a subscriber checking each message as it
 * arrives (bus seq increasing, group seq and number consecutive). A test starts one, abuses the
 * daemon with other connections, and calls `sync()` to prove the stream never stopped, lost or
 * reordered anything meanwhile.
 */
export class Bystander {
  readonly group: string;
  readonly service: RawClient;
  readonly subscriber: RawClient;
  /** Every broken promise seen, in order: empty is the guarantee. */
  readonly violations: string[] = [];
  /** Emits acknowledged (all of them are accepted: the subscriber keeps up). */
  acked = 0;
  /** Messages the subscriber received. */
  received = 0;
  #lastSeq = 0;
  #running = true;
  readonly #loop: Promise<void>;

  private constructor(
    group: string,
    service: RawClient,
    subscriber: RawClient,
    batch: number,
    intervalMs: number,
  ) {
    this.group = group;
    this.service = service;
    this.subscriber = subscriber;
    subscriber.onFrame = (frame) => this.#check(frame);
    this.#loop = this.#run(batch, intervalMs);
  }

  /** Creates `group`, joins it and starts the stream: `batch` signals every `intervalMs`. */
  static async start(
    socketPath: string,
    group: string,
    { batch = 4, intervalMs = 5 }: { batch?: number; intervalMs?: number } = {},
  ): Promise<Bystander> {
    const service = await RawClient.open(socketPath, { client: 'bystander-service' }, { record: false });
    await service.ok({ t: 'create', g: group });
    const subscriber = await RawClient.open(
      socketPath,
      { client: 'bystander-subscriber' },
      { record: false },
    );
    await subscriber.ok({ t: 'join', g: group });
    return new Bystander(group, service, subscriber, batch, intervalMs);
  }

  /** The unique names of the two connections. */
  get names(): string[] {
    return [this.service.name, this.subscriber.name];
  }

  /** Waits until the subscriber has everything acknowledged so far; fails on any violation. */
  async sync(what = 'bystander'): Promise<void> {
    const target = this.acked;
    for (const started = Date.now(); this.received < target && Date.now() - started < 30_000; ) {
      await sleep(5);
    }
    expect(this.violations, `${what}: violations`).toEqual([]);
    expect(this.received, `${what}: received at least what was acknowledged`).toBeGreaterThanOrEqual(target);
  }

  /** Stops the stream and checks the subscriber got exactly every acknowledged message. */
  async stop(what = 'bystander'): Promise<void> {
    this.#running = false;
    await this.#loop;
    await this.sync(what);
    await this.subscriber.ping();
    expect(this.received, `${what}: received exactly what was acknowledged`).toBe(this.acked);
    expect(this.acked, `${what}: the stream flowed`).toBeGreaterThan(0);
  }

  close(): void {
    this.#running = false;
    this.service.close();
    this.subscriber.close();
  }

  async #run(batch: number, intervalMs: number): Promise<void> {
    while (this.#running && !this.service.closed) {
      const first = this.acked;
      const replies = await emitMany(this.service, this.group, batch, { first, window: batch });
      for (const [k, reply] of replies.entries()) {
        const { message } = reply;
        if (message.t !== 'ok' || message.r?.['gseq'] !== first + k + 1) {
          this.violations.push(`emit ${first + k}: ${JSON.stringify(message)}`);
          this.#running = false;
          return;
        }
      }
      this.acked += batch;
      await sleep(intervalMs);
    }
  }

  #check(frame: Frame): void {
    const { message } = frame;
    if (message.t !== 'sig') {
      this.violations.push(`unexpected ${JSON.stringify(message)}`);
      return;
    }
    const i = tickOf(frame);
    if (message.g !== this.group || message.seq <= this.#lastSeq || message.gseq !== this.received + 1) {
      this.violations.push(
        `after ${this.received} (seq ${this.#lastSeq}): got ${message.g} seq ${message.seq} gseq ${message.gseq}`,
      );
    } else if (i !== this.received) {
      this.violations.push(`gseq ${message.gseq} carries i ${i}`);
    }
    this.received++;
    this.#lastSeq = message.seq;
  }
}
