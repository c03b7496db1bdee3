import { Buffer } from 'node:buffer';
import { Engine } from '@chorus/core';
import { decodePayload, ErrorCode, encodeFrame, encodePayload } from '@chorus/protocol';
import { CallRouter } from './call-router.js';
import { type Access, type DaemonLimits, defaultDaemonLimits } from './config.js';
import { Counters } from './counters.js';
import { createLogger, type Logger } from './logger.js';
import { type Action, defaultRules, Policy } from './policy.js';
import { RunClock } from './run-clock.js';
import { Session, type SessionSocket, type TransportKind } from './session.js';

export interface DaemonOptions {
  readonly limits?: Partial<DaemonLimits>;
  readonly log?: Logger;
  /** Policy and named tokens; default: the built-in rules and no named token. */
  readonly access?: Access;
}

/**
 * The bus: one engine, the sessions that drive it, and the write scheduling that turns the
 * engine's queues into socket writes. Listeners hand it sockets; it knows nothing of sockets
 * beyond `SessionSocket`, so tests can give it any duplex.
 */
export class Daemon {
  readonly engine: Engine<Uint8Array>;
  readonly calls: CallRouter;
  readonly limits: DaemonLimits;
  /** The engine's time: how long the daemon ran, freezes not counted (see RunClock). */
  readonly clock: RunClock;
  readonly startedAt = Date.now();
  readonly log: Logger;
  readonly counters = new Counters();
  /** Sessions that said hello, by engine connection id. */
  readonly #byId = new Map<number, Session>();
  /** Every live session, including those still waiting for hello. */
  readonly #sessions = new Set<Session>();
  /** Sessions with queued items to write; flushed once per event-loop turn, so writes batch. */
  readonly #dirty = new Set<Session>();
  #flushScheduled = false;
  /** True while #flushAll runs: the only time a batch's chunks may be kept for the next session. */
  #flushing = false;
  /**
   * The last batch written in this flush pass, kept for the next session: a fan-out queues the
   * same message objects, encoded once, to every member, so their batches are usually the same.
   *
   *   #batchFrames  [f1, f2, f3, BIG, f4]      frames as taken, compared by identity, in order
   *   #batchChunks  [f1+f2+f3, BIG, f4]        what was written for them (#batchShared: joined
   *                                            for sharing, see chunksOf)
   *
   * Holds at most one batch and is released at the end of the pass. A chunk is never written to
   * after it was handed to a socket, which may hold it until it is flushed.
   */
  #batchFrames: readonly Uint8Array[] | undefined;
  #batchChunks: readonly Uint8Array[] | undefined;
  #batchShared = false;
  readonly #ticker: NodeJS.Timeout;
  #closing = false;
  #access: Access;
  /** Bumped on every policy change, so sessions know their cached decisions are stale. */
  #accessVersion = 0;
  readonly #perIdentity = new Map<string, number>();
  /** Sessions counted in #perIdentity: a WebSocket from its upgrade, a Unix-socket one from hello. */
  readonly #counted = new Set<Session>();
  /** Sessions waiting for hello, by pool: `ws:IDENTITY`, or `unix` for the Unix socket. */
  readonly #helloPending = new Map<Session, string>();
  readonly #helloPendingByPool = new Map<string, number>();
  #onIdle: (() => void) | undefined;

  constructor(options: DaemonOptions = {}) {
    this.limits = Object.freeze({ ...defaultDaemonLimits, ...options.limits });
    this.log = options.log ?? createLogger('silent');
    this.#access = options.access ?? {
      policy: new Policy({ rules: defaultRules, groupsRequireName: false }),
      tokens: new Map(),
    };
    this.engine = new Engine<Uint8Array>({
      limits: this.limits,
      // Field filters decode a payload only when they need it, with one decoder for all.
      decodeFields: decodePayload,
      busPayload: (value) => {
        const payload = encodePayload(value);
        return { payload, size: payload.byteLength + 64 };
      },
      hooks: {
        readable: (id) => {
          const session = this.#byId.get(id);
          if (session !== undefined) this.scheduleFlush(session);
        },
        evicted: (id) => this.#byId.get(id)?.evicted(),
        settled: (id, outcome) => this.#byId.get(id)?.settled(outcome),
      },
    });
    this.calls = new CallRouter(this.engine, this.limits.maxPendingCalls);
    const period = Math.max(50, Math.min(1000, Math.floor(this.limits.stallTimeoutMs / 4)));
    // [GUARANTEE: backpressure] stalls are judged in the time the daemon ran. The ticker observes
    // the clock every `period` ms, so a running daemon never leaves a longer gap (plus slack for
    // late timers); a longer one is a freeze and counts zero. That is why the tick that runs first
    // after a resume (timers run before the IO that would show the recipients' progress) cannot
    // evict for the freeze: its clock reads what it read before the freeze.
    this.clock = new RunClock(() => performance.now(), period + Math.max(period, 250));
    this.#ticker = setInterval(() => {
      const evicted = this.engine.tick(this.clock.now());
      if (evicted.length > 0) this.log.warn('stalled recipients evicted', { count: evicted.length });
    }, period);
    this.#ticker.unref();
  }

  get access(): Access {
    return this.#access;
  }

  get accessVersion(): number {
    return this.#accessVersion;
  }

  /**
   * Replaces the policy and tokens at once (SIGHUP); connections keep their identity, and lose
   * at once the memberships and monitors the new policy no longer allows.
   */
  setAccess(access: Access): void {
    this.#access = access;
    this.#accessVersion++;
    // [GUARANTEE: access] a revoked right stops working now, not at the next connection.
    for (const session of [...this.#byId.values()]) session.accessChanged();
  }

  /** The identity a token stands for: a named token's name, or undefined if unknown. */
  identityOf(token: string): string | undefined {
    return this.#access.tokens.get(token);
  }

  /** Whether the policy lets `session` do `action` on `name`; a denial is counted and logged. */
  permits(session: Session, action: Action, name: string): boolean {
    // [GUARANTEE: access] the last matching rule decides; a denial is counted and logged.
    const allowed = this.allows(session.identity, session.transport, action, name);
    if (!allowed) {
      this.counters.count('policyDenials');
      this.log.info('policy denied', { conn: session.name, identity: session.identity, action, name });
    }
    return allowed;
  }

  /** The policy's answer alone, not counted: for filtering what a client sees rather than refusing it. */
  allows(identity: string, transport: TransportKind, action: Action, name: string): boolean {
    return this.#access.policy.decide(identity, transport, action, name).allowed;
  }

  /**
   * Counts `session` against its identity's limit, once (a WebSocket already is, from its
   * upgrade); false when the identity is at its limit. The count ends when the session does.
   */
  admit(session: Session): boolean {
    if (this.#counted.has(session)) return true;
    if (this.#atIdentityLimit(session.identity)) return false;
    this.#perIdentity.set(session.identity, (this.#perIdentity.get(session.identity) ?? 0) + 1);
    this.#counted.add(session);
    return true;
  }

  #atIdentityLimit(identity: string): boolean {
    return (this.#perIdentity.get(identity) ?? 0) >= this.limits.maxConnectionsPerIdentity;
  }

  /** Which limit a WebSocket upgrade for `identity` would exceed now, if any. */
  wsAdmission(identity: string): 'maxConnectionsPerIdentity' | 'maxHelloPending' | undefined {
    if (this.#atIdentityLimit(identity)) return 'maxConnectionsPerIdentity';
    if ((this.#helloPendingByPool.get(`ws:${identity}`) ?? 0) >= this.limits.maxHelloPending)
      return 'maxHelloPending';
    return undefined;
  }

  #release(session: Session): void {
    if (this.#counted.delete(session)) {
      const count = (this.#perIdentity.get(session.identity) ?? 1) - 1;
      if (count <= 0) this.#perIdentity.delete(session.identity);
      else this.#perIdentity.set(session.identity, count);
    }
    this.#helloDone(session);
  }

  /** `session` no longer waits for hello (it said it, or it is gone). */
  #helloDone(session: Session): void {
    const pool = this.#helloPending.get(session);
    if (pool === undefined) return;
    this.#helloPending.delete(session);
    const count = (this.#helloPendingByPool.get(pool) ?? 1) - 1;
    if (count <= 0) this.#helloPendingByPool.delete(pool);
    else this.#helloPendingByPool.set(pool, count);
  }

  get closing(): boolean {
    return this.#closing;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Takes a new connection from a listener; a WebSocket's `identity` comes from its upgrade. */
  accept(socket: SessionSocket, transport: TransportKind, identity?: string): Session | undefined {
    const { limits } = this;
    // [GUARANTEE: memory] past maxConnections (or while closing) a connection is told why and closed.
    if (this.#closing) return this.#refuse(socket, transport, 'closing');
    if (this.#sessions.size >= limits.maxConnections)
      return this.#refuse(socket, transport, 'maxConnections');
    // [GUARANTEE: memory] connections waiting for hello have their own bound, per WebSocket identity
    // and for the Unix socket: no one can hold every slot with connections that never say hello.
    const pool = transport === 'ws' ? `ws:${identity ?? 'ws'}` : 'unix';
    const pending = this.#helloPendingByPool.get(pool) ?? 0;
    if (pending >= limits.maxHelloPending) return this.#refuse(socket, transport, 'maxHelloPending');
    // A WebSocket's identity is known: it counts against maxConnectionsPerIdentity from now on.
    if (transport === 'ws' && this.#atIdentityLimit(identity ?? 'ws'))
      return this.#refuse(socket, transport, 'maxConnectionsPerIdentity');
    const session = new Session(this, socket, transport, identity);
    if (transport === 'ws') this.admit(session);
    this.counters.count('accepted');
    this.#sessions.add(session);
    this.#helloPending.set(session, pool);
    this.#helloPendingByPool.set(pool, pending + 1);
    return session;
  }

  #refuse(
    socket: SessionSocket,
    transport: TransportKind,
    reason: 'closing' | 'maxConnections' | 'maxHelloPending' | 'maxConnectionsPerIdentity',
  ): undefined {
    this.counters.count('refused');
    const [code, msg] =
      reason === 'closing'
        ? [ErrorCode.BUS_CLOSING, 'the bus is shutting down']
        : [ErrorCode.LIMIT_EXCEEDED, `limit ${reason} (${this.limits[reason]}) exceeded`];
    socket.end(encodeFrame({ t: 'err', code, msg, fatal: true }));
    setTimeout(() => socket.destroy(), 1000).unref();
    this.log.warn('connection refused', { reason, transport });
    return undefined;
  }

  /** The session of a connection id, if it said hello and is still open. */
  session(id: number): Session | undefined {
    return this.#byId.get(id);
  }

  /** For `ListConnections`. */
  describeConnections(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const session of this.#byId.values()) {
      const info = this.engine.connection(session.id);
      if (info === undefined) continue;
      out.push({
        name: session.name,
        transport: session.transport,
        identity: session.identity,
        groups: info.memberships,
        owned: info.owned,
        names: info.names,
        queuedBytes: info.queuedBytes,
        monitor: info.monitor,
        pendingCalls: this.calls.pendingFor(session.id),
      });
    }
    return out;
  }

  /** For `GetStats`: counters since start, per group and in total. */
  describeStats(): Record<string, unknown> {
    const engine = this.engine.stats();
    const groups: Record<string, unknown> = {};
    for (const group of this.engine.groups()) groups[group.name] = group.stats;
    return {
      total: {
        messages: engine.messages,
        deliveries: engine.deliveries,
        bytes: engine.bytes,
        evictions: engine.evictions,
        errors: this.counters.errors,
      },
      groups,
      connections: engine.connections,
      names: engine.names,
      monitors: engine.monitors,
      pendingCalls: this.calls.size,
      seq: engine.seq,
      uptimeMs: Date.now() - this.startedAt,
      daemon: this.counters.stats(),
      wsRejections: this.counters.wsRejections(),
    };
  }

  /** A session completed its hello and has an engine connection. */
  register(session: Session): void {
    this.#byId.set(session.id, session);
    this.#helloDone(session);
  }

  /** A session's socket closed. */
  forget(session: Session): void {
    // [GUARANTEE: isolation] a closed connection leaves nothing: engine state, identity count, calls.
    this.#sessions.delete(session);
    this.#dirty.delete(session);
    this.#release(session);
    if (session.id !== 0) {
      this.#byId.delete(session.id);
      this.engine.disconnect(session.id);
      this.calls.gone(session.id);
    }
    this.log.debug('connection closed', { conn: session.name || undefined });
    if (this.#sessions.size === 0) this.#onIdle?.();
  }

  scheduleFlush(session: Session): void {
    this.#dirty.add(session);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flushAll());
  }

  #flushAll(): void {
    this.#flushScheduled = false;
    this.#flushing = true;
    try {
      // Flushing takes from queues, which can unblock emits and make other sessions dirty:
      // keep going until nothing is left for this turn.
      for (const session of this.#dirty) {
        this.#dirty.delete(session);
        session.flush();
      }
    } finally {
      this.#flushing = false;
      this.#batchFrames = undefined;
      this.#batchChunks = undefined;
    }
  }

  /**
   * What to write for a batch of frames, in order. Writable's cost is per chunk, a copy's per
   * byte: small frames are always joined into one chunk; larger ones only when a second session
   * of this flush pass has the same batch (the same objects, in the same order), so that one copy
   * serves them all; the largest are always written as they are.
   */
  chunksOf(frames: readonly Uint8Array[]): readonly Uint8Array[] {
    const last = this.#batchFrames;
    // [GUARANTEE: encode once] identical objects are identical bytes: frames are never mutated.
    if (last !== undefined && sameFrames(last, frames)) {
      if (!this.#batchShared) {
        this.#batchChunks = joinFrames(frames, MAX_SHARED_JOIN_BYTES);
        this.#batchShared = true;
      }
      return this.#batchChunks as readonly Uint8Array[];
    }
    const chunks = joinFrames(frames, MAX_JOIN_BYTES);
    if (this.#flushing) {
      this.#batchFrames = frames;
      this.#batchChunks = chunks;
      // One chunk: all joined already, as joining for sharing would (the usual small-signal fan-out).
      this.#batchShared = chunks.length === 1 || !frames.some(joinedOnlyShared);
    }
    return chunks;
  }

  /**
   * Stops the bus: every client gets `bye` after what is already queued for it, and has
   * `shutdownTimeoutMs` to receive it before its socket is cut.
   */
  async shutdown(reason = 'bus is shutting down'): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#ticker);
    const idle = new Promise<void>((resolve) => {
      this.#onIdle = resolve;
      if (this.#sessions.size === 0) resolve();
    });
    // [GUARANTEE: no-loss] each client gets what is queued for it, then bye, within shutdownTimeoutMs.
    for (const session of this.#sessions) session.shutdown(reason);
    const deadline = new Promise<'timeout'>((resolve) => {
      setTimeout(() => resolve('timeout'), this.limits.shutdownTimeoutMs).unref();
    });
    if ((await Promise.race([idle, deadline])) === 'timeout') {
      this.log.warn('shutdown deadline passed; cutting connections', { remaining: this.#sessions.size });
      for (const session of this.#sessions) session.destroy();
    }
  }
}

/*
 * Measured on the fan-out bench (2 shared cores): a chunk through a socket's Writable costs about
 * 0.3 µs (a Buffer wrap, an entry of the writev); a copy into fresh memory about 0.2-1 µs per KiB
 * (allocation and page faults, not the memcpy). Joining 1 KiB frames for one session only was a
 * net loss; joining them once for several sessions, or 100-byte frames for one, a net gain.
 */
/** Frames below this size are joined for any batch. */
const MAX_JOIN_BYTES = 256;
/** Frames below this size are joined for a batch shared by several sessions. */
const MAX_SHARED_JOIN_BYTES = 16 * 1024;

function joinedOnlyShared(frame: Uint8Array): boolean {
  return frame.byteLength >= MAX_JOIN_BYTES && frame.byteLength < MAX_SHARED_JOIN_BYTES;
}

function sameFrames(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** `frames` as chunks, in order: each run of frames below `maxFrameBytes` joined into one Buffer. */
function joinFrames(frames: readonly Uint8Array[], maxFrameBytes: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i] as Uint8Array;
    if (frame.byteLength < maxFrameBytes) {
      bytes += frame.byteLength;
      continue;
    }
    if (start < i) chunks.push(joinRun(frames, start, i, bytes));
    chunks.push(frame);
    start = i + 1;
    bytes = 0;
  }
  if (start < frames.length) chunks.push(joinRun(frames, start, frames.length, bytes));
  return chunks;
}

function joinRun(frames: readonly Uint8Array[], start: number, end: number, bytes: number): Uint8Array {
  if (end - start === 1) return frames[start] as Uint8Array;
  // Unsafe (unzeroed, pooled when small) is fine: every byte is written below.
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (let i = start; i < end; i++) {
    const frame = frames[i] as Uint8Array;
    out.set(frame, at);
    at += frame.byteLength;
  }
  return out;
}
