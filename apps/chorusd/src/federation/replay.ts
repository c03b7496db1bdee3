import { anyFilterMatches, type Engine, type Filter, LazyFields } from '@chorus/core';
import { decodePayload, encodeFrame } from '@chorus/protocol';
import { consumerOpts, type JetStreamSubscription, type JsMsg, type MsgHdrs } from 'nats';
import type { Logger } from '../logger.js';
import type { Link } from './link.js';
import { Header } from './publisher.js';

/**
 * Replay to a reconnecting subscriber of a federated group: the group's messages it missed, read
 * back from the stream, delivered to its connection alone, right after its join's `ok` and before
 * any live message of the group.
 *
 * The seam: the bulk (the client's last `fseq`, A₀] is read while the daemon's applier goes on;
 * then the applier is held (nothing is applied) from before the tail (A₀, A] is read until the
 * membership exists (`joinReads` puts the two together), so the membership is live from A + 1:
 * nothing in between, nothing twice. Holding the applier pauses every federated group on this
 * daemon, so it is held for the tail alone (usually empty or a few messages); each read is bounded
 * by `timeoutMs` (then its range is reported as missed instead) and by `maxMessages`. A consumer that makes no
 * progress for `stallMs` (one placed on a dead node) is replaced, within the same `timeoutMs`.
 *
 * What is not replayed is reported, never silently skipped: the messages the stream no longer
 * holds (its limits removed them), the oldest ones beyond `maxMessages`, and those that do not fit
 * in the connection's queue (`maxQueueBytes`: replayed signals count against it like any signal).
 * They are always the oldest: the replayed ones are the most recent, so one range says it.
 */

const decodeFields = (payload: unknown): unknown => decodePayload(payload as Uint8Array);

/** One message read back from the stream for a replay. */
export interface ReplayedSignal {
  readonly fseq: number;
  readonly signal: string;
  /** The emitter, as the frame names it (`:1.N` here, `DAEMON:1.N` elsewhere). */
  readonly from: string;
  readonly payload: Uint8Array;
}

/** What a replay read: the messages to deliver, and the range before them that was missed. */
export interface ReplayRead {
  readonly signals: ReplayedSignal[];
  /** The group's messages after the client's `fseq` up to this one were not replayed (undefined: none). */
  readonly missedTo: number | undefined;
  /** How many, when known (undefined when the stream no longer holds some of them). */
  readonly missed: number | undefined;
}

export interface ReplaySource {
  readonly link: Link;
  readonly stream: string;
  readonly log: Logger;
  readonly maxMessages: number;
  readonly timeoutMs: number;
  /** A read that makes no progress for this long goes on with a fresh consumer. */
  readonly stallMs: number;
  /** The emitter of a stream message, as a frame's `from`. */
  from(headers: MsgHdrs | undefined): string;
  /** The emitter's connection as its `welcome.origin` named it (`join.own`). */
  origin(headers: MsgHdrs | undefined): string;
  /** The engine connection a stream message counts as sent by (for `from` filters and loopback). */
  sender(headers: MsgHdrs | undefined): number;
}

/** Whom a replay is for: the membership's filters, and whether it gets its own emits. */
export interface ReplayTarget {
  readonly connection: number;
  readonly subject: string;
  readonly filters: readonly Filter[];
  readonly loopback: boolean;
  /** The client's earlier connections (`join.own`): theirs are its own emits too. */
  readonly own: ReadonlySet<string>;
  /** The client's last `fseq`: the replay starts after it. */
  readonly after: number;
  /** The applier's position, held: the replay ends with it. */
  readonly upTo: number;
}

/**
 * One replay from two reads of consecutive ranges: the bulk, read while the applier went on, then
 * the tail, read with it held. What is not replayed is always the oldest, so: a tail that misses
 * something (trimmed, failed, removed by the stream) makes the whole bulk missed too; else the
 * two together, trimmed to the `max` most recent.
 */
export function joinReads(bulk: ReplayRead, tail: ReplayRead, max: number): ReplayRead {
  // Counted only when every missed part was counted.
  const bulkMissed = bulk.missedTo === undefined ? 0 : bulk.missed;
  if (tail.missedTo !== undefined) {
    const missed =
      tail.missed === undefined || bulkMissed === undefined
        ? undefined
        : tail.missed + bulkMissed + bulk.signals.length;
    return { signals: tail.signals, missedTo: tail.missedTo, missed };
  }
  const signals = bulk.signals.concat(tail.signals);
  const over = signals.length - max;
  if (over <= 0) return { signals, missedTo: bulk.missedTo, missed: bulk.missed };
  return {
    signals: signals.slice(over),
    missedTo: (signals[over - 1] as ReplayedSignal).fseq,
    missed: bulkMissed === undefined ? undefined : bulkMissed + over,
  };
}

/** Reads what `target` missed; a failure or a timeout reads nothing and reports it all missed. */
export async function readReplay(source: ReplaySource, target: ReplayTarget): Promise<ReplayRead> {
  if (target.after >= target.upTo) return { signals: [], missedTo: undefined, missed: undefined };
  const reader = new RangeReader(source, target);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), source.timeoutMs);
  });
  const reading = reader.read();
  // Settled late (after the timeout) or failing after it: nobody waits for it any more.
  reading.catch(() => undefined);
  try {
    const read = await Promise.race([reading, late]);
    if (read !== 'late') return read;
    source.log.warn('federated replay not read in time; reported as missed', {
      subject: target.subject,
      after: target.after,
      upTo: target.upTo,
      timeoutMs: source.timeoutMs,
    });
  } catch (error) {
    source.log.warn('federated replay failed; reported as missed', {
      subject: target.subject,
      error: String(error),
    });
  } finally {
    clearTimeout(timer);
    reader.stop();
  }
  return { signals: [], missedTo: target.upTo, missed: undefined };
}

/** The group's messages with `fseq` in (after, upTo], through an ordered consumer filtered on its subject. */
class RangeReader {
  readonly #source: ReplaySource;
  readonly #target: ReplayTarget;
  /** The most recent matching messages, oldest first (trimmed to maxMessages now and then). */
  #kept: ReplayedSignal[] = [];
  /** Matching messages read but no longer kept (the oldest), and the last of them. */
  #dropped = 0;
  #droppedTo: number | undefined;
  /** The last stream sequence received: an ordered consumer that resets may deliver it again. */
  #seen = 0;
  #subscription: JetStreamSubscription | undefined;
  /** Consumers made so far: messages of an earlier one are ignored. */
  #attempts = 0;
  /** When the read last made progress (a message, or a new consumer). */
  #progress = performance.now();
  #stopped = false;
  #finish: (() => void) | undefined;

  constructor(source: ReplaySource, target: ReplayTarget) {
    this.#source = source;
    this.#target = target;
  }

  async read(): Promise<ReplayRead> {
    const { link, stream } = this.#source;
    const { after, upTo } = this.#target;
    const info = await link.jsm.streams.info(stream);
    // Removed by the stream's limits: unknown whether any was this group's, so reported as missed.
    const first = info.state.first_seq;
    const goneTo = first > after + 1 ? Math.min(first - 1, upTo) : undefined;
    if (goneTo === upTo || this.#stopped) return { signals: [], missedTo: upTo, missed: undefined };
    let finished = false;
    const done = new Promise<void>((resolve) => {
      this.#finish = () => {
        finished = true;
        resolve();
      };
    });
    // [GUARANTEE: federation] a consumer that makes no progress (placed on a dead node, its
    // requests timing out) is replaced by a fresh one, from where the read got to; readReplay's
    // timeout bounds them all.
    while (!finished && !this.#stopped) {
      const attempt = ++this.#attempts;
      this.#attempt(Math.max(after + 1, first, this.#seen + 1)).catch((error) =>
        this.#source.log.debug('federated replay consumer failed', { attempt, error: String(error) }),
      );
      await this.#progressStops(done);
      if (finished || this.#stopped) break;
      this.#source.log.warn('federated replay made no progress; reading on with a fresh consumer', {
        subject: this.#target.subject,
        seen: this.#seen,
        upTo,
      });
      this.#drop();
    }
    return this.#result(goneTo);
  }

  /** One consumer, from `start`: it delivers to #receive; settles once it is known to be empty. */
  async #attempt(start: number): Promise<void> {
    const attempt = this.#attempts;
    this.#progress = performance.now();
    const opts = consumerOpts();
    opts.orderedConsumer();
    opts.startSequence(start);
    let received = 0;
    opts.callback((error, message) => {
      if (error !== null || message === null || attempt !== this.#attempts) return;
      received++;
      this.#receive(message);
    });
    const subscription = await this.#source.link.js.subscribe(this.#target.subject, opts);
    if (attempt !== this.#attempts || this.#stopped) {
      subscription.unsubscribe();
      return;
    }
    this.#subscription = subscription;
    // Nothing (more) to read: the consumer has delivered all it will.
    const consumer = await subscription.consumerInfo();
    if (
      attempt === this.#attempts &&
      consumer.num_pending === 0 &&
      received >= consumer.delivered.consumer_seq
    )
      this.#finish?.();
  }

  /** Resolves when the read is done, or when it made no progress for stallMs. */
  async #progressStops(done: Promise<void>): Promise<void> {
    const stallMs = this.#source.stallMs;
    let timer: NodeJS.Timeout | undefined;
    const check = (resolve: () => void): void => {
      const idle = performance.now() - this.#progress;
      if (idle >= stallMs) resolve();
      else timer = setTimeout(() => check(resolve), Math.max(10, stallMs - idle));
    };
    const stalled = new Promise<void>((resolve) => check(resolve));
    try {
      await Promise.race([done, stalled]);
    } finally {
      clearTimeout(timer);
    }
  }

  #drop(): void {
    try {
      this.#subscription?.unsubscribe();
    } catch {
      // on a dead node: ignored from now on anyway
    }
    this.#subscription = undefined;
  }

  stop(): void {
    this.#stopped = true;
    try {
      this.#subscription?.unsubscribe();
    } catch {
      // on a dead node: ignored from now on anyway
    }
    this.#finish?.();
  }

  #receive(message: JsMsg): void {
    if (this.#stopped || message.seq <= this.#seen) return;
    this.#seen = message.seq;
    this.#progress = performance.now();
    const { upTo } = this.#target;
    if (message.seq > upTo) {
      this.#finish?.();
      return;
    }
    this.#keep(message);
    if (message.seq === upTo || message.info.pending === 0) this.#finish?.();
  }

  #keep(message: JsMsg): void {
    const headers = message.headers;
    const signal = headers?.get(Header.signal) ?? '';
    const sender = this.#source.sender(headers);
    const { filters, loopback, connection, own } = this.#target;
    // As the engine would have decided for a live message: filters, and no own emits without
    // loopback, from this connection or an earlier one of the same client.
    // [GUARANTEE: federation] loopback holds across a reconnection.
    if (!loopback && (sender === connection || (own.size > 0 && own.has(this.#source.origin(headers)))))
      return;
    if (
      filters.length > 0 &&
      !anyFilterMatches(filters, signal, sender, new LazyFields(decodeFields, message.data))
    )
      return;
    this.#kept.push({
      fseq: message.seq,
      signal,
      from: this.#source.from(headers),
      // The consumer's buffer is shared: a queued payload must not pin it.
      payload: message.data.slice(),
    });
    const max = this.#source.maxMessages;
    if (this.#kept.length >= 2 * max) this.#trim(max);
  }

  #trim(max: number): void {
    const over = this.#kept.length - max;
    if (over <= 0) return;
    this.#dropped += over;
    this.#droppedTo = this.#kept[over - 1]?.fseq;
    this.#kept = this.#kept.slice(over);
  }

  #result(goneTo: number | undefined): ReplayRead {
    this.#trim(this.#source.maxMessages);
    const droppedTo = this.#droppedTo;
    const missedTo =
      goneTo === undefined ? droppedTo : droppedTo === undefined ? goneTo : Math.max(goneTo, droppedTo);
    return {
      signals: this.#kept,
      missedTo,
      missed: goneTo === undefined && this.#dropped > 0 ? this.#dropped : undefined,
    };
  }
}

/**
 * Makes `connection` a member of `group` and queues, in this order and in one go (nothing of
 * the group can be applied in between: the applier is held): the join's `ok` (with where the
 * membership starts in the stream, `fseq`, and what was missed), the group's retained values as on
 * any join, then the replayed signals that fit in the connection's queue.
 */
export function joinWithReplay(
  engine: Engine<Uint8Array>,
  request: { readonly serial: number; readonly group: string; readonly filters: Filter[] },
  connection: number,
  point: number,
  read: ReplayRead | undefined,
): void {
  let frames: Uint8Array[] = [];
  let missedTo = read?.missedTo;
  let missed = read?.missed;
  if (read !== undefined) {
    // Newest first, as long as they fit: what does not fit is the oldest, and missed.
    let room = engine.limits.maxQueueBytes - engine.queuedBytes(connection);
    const signals = read.signals.filter((s) => s.fseq <= point);
    let first = signals.length;
    for (let i = signals.length - 1; i >= 0; i--) {
      const s = signals[i] as ReplayedSignal;
      const frame = encodeFrame(
        // A replayed signal has no place in this daemon's bus order: seq and gseq 0, its fseq says where it is.
        { t: 'sig', seq: 0, gseq: 0, g: request.group, sig: s.signal, from: s.from, fseq: s.fseq },
        s.payload,
      );
      if (frame.byteLength > room) break;
      room -= frame.byteLength;
      frames.push(frame);
      first = i;
    }
    frames = frames.reverse();
    if (first > 0) {
      missedTo = Math.max(missedTo ?? 0, (signals[first - 1] as ReplayedSignal).fseq);
      if (missed !== undefined || read.missedTo === undefined) missed = (missed ?? 0) + first;
    }
  }
  engine.join(connection, request.group, request.filters, (result) => {
    const frame = encodeFrame({
      t: 'ok',
      s: request.serial,
      r: {
        startSeq: result.startSeq,
        startGroupSeq: result.startGroupSeq,
        fseq: point,
        ...(missedTo === undefined ? {} : { missedTo }),
        ...(missedTo === undefined || missed === undefined ? {} : { missed }),
      },
    });
    return { data: frame, size: frame.byteLength };
  });
  // [GUARANTEE: federation] replayed in stream order, after the ok, before any live signal of the group.
  for (const frame of frames) engine.post(connection, frame, frame.byteLength);
}
