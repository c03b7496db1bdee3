import { randomBytes } from 'node:crypto';
import {
  type Accepted,
  AlreadyMemberError,
  assertGroupName,
  assertSignalName,
  type Engine,
  type EngineError,
  type Filter,
  GroupExistsError,
  isEngineError,
  NotOwnerError,
  NotPermittedError,
  UnknownGroupError,
} from '@chorus/core';
import { ErrorCode, type GroupOptions } from '@chorus/protocol';
import type { JsMsg } from 'nats';
import type { Logger } from '../logger.js';
import { RequestError } from '../request-error.js';
import { type ApplyResult, StreamApplier } from './applier.js';
import type { FederationConfig } from './config.js';
import { ensureStream, type Link, openLink, Subjects, sleep } from './link.js';
import { Header, StreamPublisher } from './publisher.js';
import {
  type ControlEvent,
  decodeControl,
  encodeControl,
  type FederatedGroup,
  type GroupOwner,
  GroupRegistry,
  sameOwner,
} from './registry.js';
import { joinReads, joinWithReplay, type ReplaySource, readReplay } from './replay.js';

/** What a federated message's frame says beyond a local one: where it came from, its stream sequence. */
export interface FederatedTag {
  /** `:1.N` for an emitter on this daemon, `DAEMON:1.N` for one elsewhere. */
  readonly from: string;
  readonly fseq: number;
}

/** The connection a federated request comes from. */
export interface FederationClient {
  readonly id: number;
}

/** What the federation needs of the daemon. */
export interface FederationHost {
  readonly engine: Engine<Uint8Array>;
  readonly log: Logger;
  /** The engine's time (the daemon's RunClock). */
  now(): number;
  /** The daemon is stopping: its owners' connections end, but their groups must live on. */
  closing(): boolean;
  /** The engine's meta of a group created with `schema`: its contract, compiled (throws when it cannot be). */
  contract(schema: unknown, validate: boolean | undefined): unknown;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * The daemon's side of a federation: federated groups exist on every daemon attached to the
 * same JetStream stream, and their signals go through the stream, whose one sequence is the
 * order every daemon applies them in. Requests on federated groups come here from sessions;
 * the stream comes back through one StreamApplier, which is the only path into the engine.
 *
 * In the engine, a federated group is owned by one connection of the daemon's own (`#conn`),
 * which is also the sender of every federated message: the engine knows nothing of NATS. The
 * real owner and the group's emitter rule are checked here, by the publishing daemon.
 */
export class Federation {
  readonly config: FederationConfig;
  readonly subjects: Subjects;
  /** This run of this daemon: connection numbers mean something only within one run. */
  readonly boot = randomBytes(6).toString('hex');
  /** Resolves once the stream is there, the groups are loaded and the applier runs. */
  readonly ready: Promise<void>;
  readonly #host: FederationHost;
  readonly #registry = new GroupRegistry();
  /** The engine connection that owns federated groups and sends their messages. */
  readonly #conn: number;
  #link: Link | undefined;
  #publisher: StreamPublisher | undefined;
  #applier: StreamApplier | undefined;
  #counter = 0;
  /** Our publications not applied yet, by message id: settled when the applier applies them. */
  readonly #waiting = new Map<string, Waiter<Accepted | undefined>>();
  /** The message id of the applied message the engine holds (onFull: 'block'), if any. */
  #blocked: string | undefined;
  #stopped = false;

  constructor(config: FederationConfig, host: FederationHost) {
    this.config = config;
    this.#host = host;
    this.subjects = new Subjects(config.stream);
    this.#conn = host.engine.connect().id;
    this.ready = this.#start();
    this.ready.catch((error) => host.log.error('federation not started', { error: String(error) }));
  }

  async #start(): Promise<void> {
    const { config, subjects } = this;
    const log = this.#host.log;
    const link = await openLink(config, log);
    this.#link = link;
    await ensureStream(link, config, Number.POSITIVE_INFINITY);
    this.#publisher = new StreamPublisher(link, config.publishTimeoutMs);
    // The groups as the stream has them now: the last control message of each group up to the
    // stream's last sequence; the applier takes over after it.
    const info = await link.jsm.streams.info(config.stream, { subjects_filter: subjects.control });
    const tail = info.state.last_seq;
    const last: JsMsgLike[] = [];
    for (const subject of Object.keys(info.state.subjects ?? {})) {
      const stored = await link.jsm.streams.getMessage(config.stream, { last_by_subj: subject });
      if (stored.seq <= tail) last.push({ seq: stored.seq, subject: stored.subject, data: stored.data });
    }
    last.sort((a, b) => a.seq - b.seq);
    for (const message of last) this.#applyControl(message.seq, message.subject, message.data, undefined);
    const applier = new StreamApplier({
      link,
      stream: config.stream,
      subject: subjects.all,
      after: tail,
      stallMs: config.stallMs,
      log,
      apply: (message) => this.#apply(message),
    });
    this.#applier = applier;
    applier.start();
    log.info('federation ready', {
      stream: config.stream,
      daemon: config.daemonId,
      groups: this.#registry.size,
      seq: tail,
    });
  }

  /** The last stream sequence this daemon applied (0 before the federation is ready). */
  get applied(): number {
    return this.#applier?.applied ?? 0;
  }

  /** Consumers re-created by the no-progress watchdog. */
  get restarts(): number {
    return this.#applier?.restarts ?? 0;
  }

  /** Whether `group` is a federated group this daemon carries. */
  has(group: string): boolean {
    const entry = this.#registry.get(group);
    return entry !== undefined && !entry.shadowed;
  }

  /** The engine connection that owns federated groups here. */
  get connection(): number {
    return this.#conn;
  }

  /**
   * A connection's identity in the stream, told to it in its welcome: daemon id, run and
   * connection number, as each of its emits' headers say. A unique name alone is ambiguous: the
   * numbers start again when the daemon does.
   */
  origin(connection: number): string {
    return originOf(this.config.daemonId, this.boot, connection);
  }

  /**
   * Where a membership of `group` made now starts in the stream: the last `fseq` it will not get
   * live (undefined for a group that is not federated here). A message held up in the engine
   * (`onFull: 'block'`) goes to those who join meanwhile, so it is not before the point.
   */
  point(group: string): number | undefined {
    const applier = this.#applier;
    if (applier === undefined || !this.has(group)) return undefined;
    return applier.applied - (applier.blocked ? 1 : 0);
  }

  // ---- requests from sessions ---------------------------------------------------------------

  /** `createGroup(G, { federated: true })`: answered once the create is in the stream and applied here. */
  async create(
    client: FederationClient,
    group: string,
    options: GroupOptions,
    schema: unknown,
  ): Promise<undefined> {
    assertGroupName(group);
    const { federated: _, ...o } = options;
    // [GUARANTEE: federation] 'reject' would have to refuse a message the stream already accepted.
    if (o.onFull === 'reject')
      throw new RequestError(
        ErrorCode.BAD_FIELD,
        "a federated group cannot have onFull 'reject': the stream accepts a message before any daemon sees its recipients; use 'block' or 'evict'",
        { path: ['o', 'onFull'] },
      );
    if (o.sendToPeer === true)
      throw new RequestError(ErrorCode.BAD_FIELD, 'a federated group cannot have sendToPeer', {
        path: ['o', 'sendToPeer'],
      });
    const existing = this.#registry.get(group);
    const engine = this.#host.engine;
    if (existing !== undefined && !this.#adoptable(existing)) throw new GroupExistsError(group);
    if (existing === undefined && engine.group(group) !== undefined) throw new GroupExistsError(group);
    const owner = this.#owner(client);
    await this.#publish(
      this.subjects.controlOf(group),
      encodeControl({ op: 'create', o, schema, owner }),
      {},
    );
    return undefined;
  }

  /**
   * The owner of a federated group created on this daemon by a run that ended without closing it
   * (killed, or stopped while the group's owner was connected) may create it again: it takes it
   * over, which is what the SDK's restore after a reconnect does.
   */
  #adoptable(existing: FederatedGroup): boolean {
    const { owner } = existing;
    return (
      !existing.shadowed &&
      owner.daemon === this.config.daemonId &&
      (owner.boot !== this.boot || !this.#host.engine.has(owner.conn))
    );
  }

  /**
   * `join` of a federated group. With `after` (the last `fseq` the client received, `join.fseq`),
   * the group's messages the stream holds after it are replayed to this connection right after
   * the `ok` (replay.ts); without it, an ordinary join whose `ok` says where it starts (`fseq`).
   * `join.own` names the client's earlier connections (their `welcome.origin`): without loopback,
   * what they emitted is not replayed, as it was not delivered to them live.
   */
  async join(
    client: FederationClient,
    serial: number,
    group: string,
    filters: Filter[],
    replay: { readonly fseq?: number | undefined; readonly own?: readonly string[] | undefined },
  ): Promise<void> {
    const after = replay.fseq;
    const request = { serial, group, filters };
    const applier = this.#applier;
    const link = this.#link;
    // Refused before anything is read: a join the engine would refuse must not hold the applier
    // for a replay first (a member repeating its join with join.fseq 0, again and again).
    if (this.#host.engine.members(group).includes(client.id)) throw new AlreadyMemberError(group);
    if (after === undefined || applier === undefined || link === undefined) {
      joinWithReplay(this.#host.engine, request, client.id, this.point(group) ?? 0, undefined);
      return;
    }
    if (applier.applied < after && (await this.#lastSeq(link)) < after) {
      // [GUARANTEE: federation] a position the stream never reached (it was created again, or the
      // client's fseq is not one): nothing to wait for, nothing to replay; all before is missed.
      const point = this.point(group) ?? 0;
      const read = { signals: [], missedTo: point, missed: undefined };
      joinWithReplay(this.#host.engine, request, client.id, point, read);
      this.#host.log.warn('join.fseq beyond the stream; reported as missed', { group, after, point });
      return;
    }
    // A daemon behind the client (it applied less than the client got, elsewhere or before a
    // restart) catches up first: the client would otherwise get again, live, what it had.
    const deadline = Date.now() + this.config.publishTimeoutMs;
    while (applier.applied < after && Date.now() < deadline && !this.#stopped) await sleep(20);
    const source = this.#replaySource(link);
    const target = {
      connection: client.id,
      subject: this.subjects.signal(group),
      filters,
      loopback: this.#registry.get(group)?.options.loopback === true,
      // Bounded: a hostile list costs nothing but the lookups of its own replay.
      own: new Set((replay.own ?? []).slice(0, MAX_OWN_ORIGINS)),
    };
    // The bulk is read while the applier goes on, so a subscriber far behind (or a client that
    // rejoins with an old fseq again and again) does not stop federated delivery on this daemon.
    // (A daemon still behind the client reads nothing before the client's fseq, in either part.)
    const bulkTo = Math.max(after, applier.applied);
    const bulk = await readReplay(source, { ...target, after, upTo: bulkTo });
    // [GUARANTEE: federation] held from before the tail is read until the membership exists: no
    // seam. The tail is what was applied during the bulk's read: usually nothing, or a few.
    applier.hold();
    try {
      const tail = await readReplay(source, { ...target, after: bulkTo, upTo: applier.applied });
      const read = joinReads(bulk, tail, this.config.maxReplayMessages);
      const point = this.point(group);
      if (point === undefined) throw new UnknownGroupError(group);
      joinWithReplay(this.#host.engine, request, client.id, point, read);
      this.#host.log.debug('federated replay', {
        conn: client.id,
        group,
        after,
        point,
        read: read.signals.length,
        missedTo: read.missedTo,
      });
    } finally {
      applier.release();
    }
  }

  /** The stream's last sequence; when NATS does not answer, unknown (infinite: nothing is concluded). */
  async #lastSeq(link: Link): Promise<number> {
    try {
      return (await link.jsm.streams.info(this.config.stream)).state.last_seq;
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  }

  #replaySource(link: Link): ReplaySource {
    return {
      link,
      stream: this.config.stream,
      log: this.#host.log,
      maxMessages: this.config.maxReplayMessages,
      timeoutMs: this.config.publishTimeoutMs,
      stallMs: this.config.stallMs,
      from: (headers) => this.#from(headers),
      origin: (headers) =>
        originOf(
          headers?.get(Header.daemon) ?? '',
          headers?.get(Header.boot) ?? '',
          headers?.get(Header.conn) ?? '',
        ),
      sender: (headers) => {
        // As the applier's emit: its origin when the emitter is connected here, in this run.
        const conn = Number(headers?.get(Header.conn));
        const ours =
          headers?.get(Header.daemon) === this.config.daemonId && headers.get(Header.boot) === this.boot;
        return ours && this.#host.engine.has(conn) ? conn : this.#conn;
      },
    };
  }

  /** A federated emit: answered when JetStream has it and this daemon applied it. */
  async emit(
    client: FederationClient,
    group: string,
    signal: string,
    payload: Uint8Array,
  ): Promise<Accepted> {
    const entry = this.#registry.get(group);
    if (entry === undefined || entry.shadowed) throw new UnknownGroupError(group);
    assertSignalName(signal);
    this.#checkEmitter(client, entry);
    const accepted = await this.#publish(this.subjects.signal(group), payload, {
      [Header.conn]: String(client.id),
      [Header.signal]: signal,
    });
    if (accepted === undefined) throw new UnknownGroupError(group);
    return accepted;
  }

  async close(client: FederationClient, group: string): Promise<undefined> {
    const entry = this.#registry.get(group);
    if (entry === undefined || entry.shadowed) throw new UnknownGroupError(group);
    if (!sameOwner(entry.owner, this.#owner(client))) throw new NotOwnerError(group);
    await this.#publish(
      this.subjects.controlOf(group),
      encodeControl({ op: 'close', owner: entry.owner }),
      {},
    );
    return undefined;
  }

  /** A connection ended: the federated groups it owns close everywhere (not when the daemon stops). */
  gone(client: FederationClient): void {
    if (this.#host.closing() || this.#stopped) return;
    for (const entry of this.#registry.ownedBy(this.config.daemonId, this.boot, client.id)) {
      this.#publish(
        this.subjects.controlOf(entry.name),
        encodeControl({ op: 'close', owner: entry.owner }),
        {},
      ).catch((error) =>
        this.#host.log.warn('federated group not closed', { group: entry.name, error: String(error) }),
      );
    }
  }

  /** The engine settled a blocked emit of `connection`; true if it was the federation's. */
  settled(connection: number, outcome: Accepted | EngineError): boolean {
    if (connection !== this.#conn) return false;
    const id = this.#blocked;
    this.#blocked = undefined;
    if (id !== undefined) this.#settle(id, outcome);
    this.#applier?.resume();
    return true;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#applier?.close();
    for (const waiter of this.#waiting.values())
      waiter.reject(new RequestError(ErrorCode.BUS_CLOSING, 'the bus is shutting down'));
    this.#waiting.clear();
    await this.#link?.nc.close().catch(() => {});
  }

  // ---- the stream, in order -----------------------------------------------------------------

  #owner(client: FederationClient): GroupOwner {
    return { daemon: this.config.daemonId, boot: this.boot, conn: client.id };
  }

  #checkEmitter(client: FederationClient, entry: FederatedGroup): void {
    // [GUARANTEE: access] the group's emitters rule, judged by the daemon the emitter is on.
    const emitters = entry.options.emitters ?? 'owner';
    if (emitters === 'anyone' || sameOwner(entry.owner, this.#owner(client))) return;
    if (emitters === 'members' && this.#host.engine.members(entry.name).includes(client.id)) return;
    throw new NotPermittedError(
      entry.name,
      emitters === 'owner'
        ? `only the owner may emit on '${entry.name}'`
        : `only the owner and members may emit on '${entry.name}'`,
    );
  }

  /** Publishes and waits until the applier applied it here: resolves with the engine's outcome. */
  async #publish(
    subject: string,
    data: Uint8Array,
    extra: Record<string, string>,
  ): Promise<Accepted | undefined> {
    if (this.#stopped) throw new RequestError(ErrorCode.BUS_CLOSING, 'the bus is shutting down');
    await this.#whenReady();
    const publisher = this.#publisher as StreamPublisher;
    const msgId = `${this.config.daemonId}.${this.boot}.${++this.#counter}`;
    const applied = new Promise<Accepted | undefined>((resolve, reject) => {
      this.#waiting.set(msgId, { resolve, reject });
    });
    try {
      const ack = await publisher.publish({
        subject,
        data,
        msgId,
        headers: { [Header.daemon]: this.config.daemonId, [Header.boot]: this.boot, ...extra },
      });
      this.#applier?.noteTail(ack.seq);
    } catch (error) {
      // Not acknowledged: the emitter is told so (it may still arrive; then nobody waits for it).
      this.#waiting.delete(msgId);
      throw error;
    }
    return applied;
  }

  async #whenReady(): Promise<void> {
    if (this.#applier !== undefined) return;
    const timeoutMs = this.config.publishTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RequestError(
              ErrorCode.FEDERATION_UNAVAILABLE,
              `the federation's NATS servers (${this.config.servers.join(', ')}) were not reachable within ${timeoutMs} ms; try again`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      await Promise.race([this.ready, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  #settle(msgId: string | undefined, outcome: Accepted | EngineError | undefined): void {
    if (msgId === undefined) return;
    const waiter = this.#waiting.get(msgId);
    if (waiter === undefined) return;
    this.#waiting.delete(msgId);
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }

  #ours(message: JsMsg): string | undefined {
    const headers = message.headers;
    if (headers?.get(Header.daemon) !== this.config.daemonId || headers.get(Header.boot) !== this.boot)
      return undefined;
    return headers.get('Nats-Msg-Id');
  }

  #from(headers: { get(key: string): string } | undefined): string {
    const daemon = headers?.get(Header.daemon) ?? '';
    const conn = headers?.get(Header.conn) ?? '0';
    const local = daemon === this.config.daemonId && headers?.get(Header.boot) === this.boot;
    return local ? `:1.${conn}` : `${daemon}:1.${conn}`;
  }

  /** One stream message, in stream order (the applier's callback). */
  #apply(message: JsMsg): ApplyResult {
    const target = this.subjects.parse(message.subject);
    const msgId = this.#ours(message);
    try {
      if (target?.kind === 'c') {
        this.#applyControl(message.seq, message.subject, message.data, msgId);
        return 'applied';
      }
      if (target?.kind !== 's') return 'applied';
      return this.#applySignal(message, target.group, msgId);
    } catch (error) {
      if (!isEngineError(error) && !(error instanceof RequestError))
        this.#host.log.error('federated message not applied', { seq: message.seq, error: String(error) });
      this.#settle(msgId, error as EngineError);
      return 'applied';
    }
  }

  #applySignal(message: JsMsg, group: string, msgId: string | undefined): ApplyResult {
    const entry = this.#registry.get(group);
    if (entry === undefined || entry.shadowed) throw new UnknownGroupError(group);
    const engine = this.#host.engine;
    const headers = message.headers;
    const signal = headers?.get(Header.signal) ?? '';
    const local = msgId !== undefined;
    const conn = Number(headers?.get(Header.conn));
    // The stream's buffer is shared by many messages: a queued payload must not pin it.
    const payload = message.data.slice();
    // [GUARANTEE: federation] applied in stream order inside this daemon's one bus order.
    const outcome = engine.emit(
      {
        sender: this.#conn,
        ...(local && engine.has(conn) ? { origin: conn } : {}),
        group,
        signal,
        payload,
        size: payload.byteLength + 128,
        tag: { from: this.#from(headers), fseq: message.seq } satisfies FederatedTag,
      },
      this.#host.now(),
    );
    if (outcome.status === 'blocked') {
      this.#blocked = msgId;
      return 'blocked';
    }
    this.#settle(msgId, outcome);
    return 'applied';
  }

  #applyControl(seq: number, subject: string, data: Uint8Array, msgId: string | undefined): void {
    const target = this.subjects.parse(subject);
    const event = decodeControl(data);
    if (target === undefined || event === undefined) return;
    const result = this.#control(seq, target.group, event);
    if (result instanceof Error) this.#settle(msgId, result as EngineError);
    else this.#settle(msgId, undefined);
  }

  #control(seq: number, name: string, event: ControlEvent): Error | undefined {
    const engine = this.#host.engine;
    const log = this.#host.log;
    const existing = this.#registry.get(name);
    if (event.op === 'close') {
      if (existing === undefined || !sameOwner(existing.owner, event.owner)) return new NotOwnerError(name);
      this.#registry.delete(name);
      if (!existing.shadowed) engine.closeGroup(this.#conn, name);
      return undefined;
    }
    if (existing !== undefined) {
      // A second create: the same daemon taking its group over after a restart, else refused.
      if (existing.owner.daemon !== event.owner.daemon) return new GroupExistsError(name);
      existing.owner = event.owner;
      existing.since = seq;
      return existing.shadowed ? new GroupExistsError(name) : undefined;
    }
    const shadowed = engine.group(name) !== undefined;
    if (shadowed) {
      log.error('a local group has the name of a federated group; it is not carried here', { group: name });
    } else {
      const { validate, ...options } = event.o;
      let meta: unknown;
      try {
        meta = this.#host.contract(event.schema, validate);
      } catch (error) {
        // Another daemon published what this one cannot compile: carried, but not checked here.
        log.error('a federated group has a schema this daemon cannot compile', {
          group: name,
          error: String(error),
        });
        meta = this.#host.contract(undefined, false);
      }
      engine.createGroup(
        this.#conn,
        name,
        { ...options, emitters: 'owner', sendToPeer: false, onFull: options.onFull ?? 'block' },
        meta,
      );
    }
    this.#registry.set({ name, options: event.o, owner: event.owner, since: seq, shadowed });
    return shadowed ? new GroupExistsError(name) : undefined;
  }
}

/** How many earlier connections a `join.own` may name (the SDK keeps its last 8). */
const MAX_OWN_ORIGINS = 16;

function originOf(daemon: string, boot: string, connection: number | string): string {
  return `${daemon}/${boot}/${connection}`;
}

interface JsMsgLike {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
}
