import { consumerOpts, type JetStreamSubscription, type JsMsg } from 'nats';
import type { Logger } from '../logger.js';
import { type Link, sleep } from './link.js';

/** What applying one stream message did: done, or waiting for room (`onFull: 'block'`). */
export type ApplyResult = 'applied' | 'blocked';

/**
 * Reads the whole stream in sequence and hands each message to `apply` exactly once, in stream
 * order, from `after + 1` on: the daemon's one view of the federation.
 *
 * Its consumer is an ordered push consumer (nats.js), but the order is not left to it: a
 * message is applied only if its stream sequence is the next one, so the duplicates a consumer
 * reset re-delivers are skipped, and a subscription this applier gave up on is ignored.
 *
 * The watchdog: when the stream is known to hold messages beyond the last one applied and none
 * arrived for `stallMs`, the consumer is re-created from the last applied sequence. That is what
 * gets the daemon past a consumer placed on a node that died without the cluster noticing
 * (nats-server 2.9.10 after a SIGKILL; nats.js would retry it for ever), a frozen node, or a
 * stream leader that moved. Re-creating can never skip or repeat a message: see `#receive`.
 */
export class StreamApplier {
  readonly #link: Link;
  readonly #stream: string;
  readonly #subject: string;
  readonly #stallMs: number;
  readonly #log: Logger;
  readonly #apply: (message: JsMsg) => ApplyResult;
  /** The last stream sequence applied. */
  #applied: number;
  /** The highest stream sequence known to exist (acks of our publishes, stream info). */
  #tail = 0;
  #lastProgress = performance.now();
  #subscription: JetStreamSubscription | undefined;
  /** Bumped for every subscription: messages of an older one are dropped. */
  #generation = 0;
  /** Waiting for room (a blocked message): what the consumer delivers meanwhile is dropped. */
  #paused = false;
  /** Replays running (`hold`): nothing is applied until the last one is over. */
  #holds = 0;
  #closed = false;
  #checking = false;
  readonly #timer: NodeJS.Timeout;
  /** Consumers re-created because they made no progress (for tests and logs). */
  restarts = 0;

  constructor(options: {
    link: Link;
    stream: string;
    subject: string;
    after: number;
    stallMs: number;
    log: Logger;
    apply: (message: JsMsg) => ApplyResult;
  }) {
    this.#link = options.link;
    this.#stream = options.stream;
    this.#subject = options.subject;
    this.#stallMs = options.stallMs;
    this.#log = options.log;
    this.#apply = options.apply;
    this.#applied = options.after;
    this.#tail = options.after;
    this.#timer = setInterval(() => void this.#watch(), Math.max(100, Math.floor(options.stallMs / 3)));
    this.#timer.unref();
  }

  get applied(): number {
    return this.#applied;
  }

  /** The last message applied is held up in the engine (`onFull: 'block'`): it goes to members joining now. */
  get blocked(): boolean {
    return this.#paused;
  }

  /**
   * Nothing is applied until `release`: `applied` stays where it is, so a replay can read the
   * stream up to it and make a membership live from the next message, with no seam between the
   * two. What the consumer delivers meanwhile is dropped and read again after the release.
   */
  hold(): void {
    if (this.#holds++ === 0) this.#drop();
  }

  release(): void {
    if (this.#holds === 0 || --this.#holds > 0) return;
    this.#restart();
  }

  start(): void {
    void this.#subscribe();
  }

  /** A sequence the stream is known to hold (the ack of one of our publishes). */
  noteTail(seq: number): void {
    if (seq > this.#tail) this.#tail = seq;
  }

  /** The applier waits (a blocked message): what the consumer delivers meanwhile is dropped. */
  #pause(): void {
    this.#paused = true;
    this.#drop();
  }

  /** The blocked message went through (or failed): go on from the next sequence. */
  resume(): void {
    if (!this.#paused || this.#closed) return;
    this.#paused = false;
    this.#restart();
  }

  #restart(): void {
    if (this.#paused || this.#holds > 0 || this.#closed) return;
    this.#lastProgress = performance.now();
    void this.#subscribe();
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#drop();
  }

  #drop(): void {
    this.#generation++;
    const old = this.#subscription;
    this.#subscription = undefined;
    try {
      old?.unsubscribe();
    } catch {
      // a subscription on a dead node may fail to go; it is ignored from now on anyway
    }
  }

  async #subscribe(): Promise<void> {
    this.#drop();
    const generation = this.#generation;
    while (!this.#closed && generation === this.#generation) {
      const opts = consumerOpts();
      opts.orderedConsumer();
      opts.startSequence(this.#applied + 1);
      opts.callback((error, message) => {
        if (error !== null || message === null || generation !== this.#generation) return;
        this.#receive(message);
      });
      try {
        const subscription = await this.#link.js.subscribe(this.#subject, opts);
        if (generation !== this.#generation || this.#closed) {
          subscription.unsubscribe();
          return;
        }
        this.#subscription = subscription;
        this.#lastProgress = performance.now();
        return;
      } catch (error) {
        // No stream leader yet, or the node we asked is gone: try again shortly.
        this.#log.debug('federation consumer not created yet', { error: String(error) });
        await sleep(250);
      }
    }
  }

  #receive(message: JsMsg): void {
    if (this.#paused || this.#holds > 0 || this.#closed) return;
    const seq = message.seq;
    // [GUARANTEE: federation] exactly once, in stream order: a repeat is skipped.
    if (seq <= this.#applied) return;
    if (seq > this.#applied + 1) {
      // The consumer starts at applied + 1, so only the stream's own limits can have removed these.
      this.#log.error('federation stream no longer holds messages this daemon had not applied', {
        from: this.#applied + 1,
        to: seq - 1,
      });
    }
    this.#applied = seq;
    if (seq > this.#tail) this.#tail = seq;
    this.#lastProgress = performance.now();
    if (this.#apply(message) === 'blocked') this.#pause();
  }

  /** The no-progress watchdog (see the class comment). */
  async #watch(): Promise<void> {
    if (this.#paused || this.#holds > 0 || this.#closed || this.#checking) return;
    if (performance.now() - this.#lastProgress < this.#stallMs) return;
    this.#checking = true;
    try {
      if (this.#tail <= this.#applied) {
        try {
          const info = await this.#link.jsm.streams.info(this.#stream);
          this.noteTail(info.state.last_seq);
        } catch {
          // No answer (no leader, dead node): what we know of the tail must do.
        }
      }
      if (this.#paused || this.#holds > 0 || this.#closed) return;
      if (this.#tail > this.#applied && performance.now() - this.#lastProgress >= this.#stallMs) {
        this.restarts++;
        this.#log.warn('federation consumer made no progress; re-creating it', {
          applied: this.#applied,
          tail: this.#tail,
        });
        await this.#subscribe();
      } else if (this.#tail <= this.#applied) {
        this.#lastProgress = performance.now(); // idle, not stuck
      }
    } finally {
      this.#checking = false;
    }
  }
}
