import { Engine } from '@chorus/core';
import { decodePayload, ErrorCode, encodeFrame, encodePayload } from '@chorus/protocol';
import { AccessControl } from './access.js';
import { type CallParty, CallRouter } from './call-router.js';
import { type Access, type DaemonLimits, defaultDaemonLimits } from './config.js';
import { Counters } from './counters.js';
import type { FederationConfig } from './federation/config.js';
import { Federation } from './federation/federation.js';
import { type GroupContract, GroupContracts } from './group-contracts.js';
import { createLogger, type Logger } from './logger.js';
import { PeerDirectory } from './peer-process.js';
import { RunClock } from './run-clock.js';
import { Session, type SessionSocket, type TransportKind } from './session.js';
import type { ConnectionOrigin, SessionHost } from './session-host.js';
import { WriteScheduler } from './write-scheduler.js';

export interface DaemonOptions {
  readonly limits?: Partial<DaemonLimits>;
  readonly log?: Logger;
  /** Policy and named tokens; default: the built-in rules and no named token. */
  readonly access?: Access;
  /** Federated groups over NATS JetStream (issue 16); none without it. */
  readonly federation?: FederationConfig;
}

/**
 * The bus: one engine, the sessions that drive it, and what they share (calls, access, counters,
 * write scheduling). Listeners hand it sockets; it knows nothing of sockets beyond
 * `SessionSocket`, so tests can give it any duplex.
 */
export class Daemon implements SessionHost<Session> {
  readonly engine: Engine<Uint8Array>;
  readonly calls: CallRouter;
  readonly limits: DaemonLimits;
  /** The engine's time: how long the daemon ran, freezes not counted (see RunClock). */
  readonly clock: RunClock;
  readonly startedAt = Date.now();
  readonly log: Logger;
  readonly counters = new Counters();
  readonly contracts: GroupContracts;
  /** Identities of tokens and the policy's decisions; replaced on SIGHUP (setAccess). */
  readonly access: AccessControl;
  readonly writes = new WriteScheduler<Session>();
  readonly federation: Federation | undefined;
  /** Sessions that said hello, by engine connection id. */
  readonly #byId = new Map<number, Session>();
  /** Who is at the other end of each new Unix-socket connection, asked of the kernel in batches. */
  readonly #peers = new PeerDirectory();
  /** Every live session, including those still waiting for hello. */
  readonly #sessions = new Set<Session>();
  readonly #ticker: NodeJS.Timeout;
  #closing = false;
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
    this.contracts = new GroupContracts(this.limits.maxSchemaBytes);
    this.access = new AccessControl(options.access, this.counters, this.log);
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
          if (session !== undefined) this.writes.schedule(session);
        },
        evicted: (id) => this.#byId.get(id)?.evicted(),
        // A federated message the applier emitted waited for room: the federation's, not a session's.
        settled: (id, outcome) => {
          if (this.federation?.settled(id, outcome) !== true) this.#byId.get(id)?.settled(outcome);
        },
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
    this.federation =
      options.federation === undefined
        ? undefined
        : new Federation(options.federation, {
            engine: this.engine,
            log: this.log,
            now: () => this.clock.now(),
            closing: () => this.#closing,
            contract: (schema, validate) => this.contracts.forGroup(schema, validate),
          });
  }

  /**
   * Replaces the policy and tokens at once (SIGHUP); connections keep their identity, and lose
   * at once the memberships and monitors the new policy no longer allows.
   */
  setAccess(access: Access): void {
    this.access.replace(access);
    // [GUARANTEE: access] a revoked right stops working now, not at the next connection.
    for (const session of [...this.#byId.values()]) session.accessChanged();
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
  accept(
    socket: SessionSocket,
    transport: TransportKind,
    identity?: string,
    origin: ConnectionOrigin = {},
  ): Session | undefined {
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
    session.origin = origin;
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

  /** The session of a connection id if it may answer calls: it said hello, is open, and no monitor. */
  answering(id: number): CallParty | undefined {
    const session = this.#byId.get(id);
    return session?.monitor === true ? undefined : session;
  }

  /**
   * Finds the processes behind the connections that never had it looked up (for ListConnections);
   * undefined when there is nothing to wait for.
   */
  lookupPeers(): Promise<void> | undefined {
    return this.#peers.refresh(this.#byId.values());
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
        // [GUARANTEE: access] from the kernel (Unix socket), never from the client; `client` is
        // only what it declared at hello.
        pid: session.peer?.pid ?? null,
        uid: session.peer?.uid ?? null,
        command: session.peer?.command ?? null,
        remote: session.origin.remote ?? null,
        client: session.client ?? null,
      });
    }
    return out;
  }

  /** For `GetStats`: counters since start, per group and in total. */
  describeStats(): Record<string, unknown> {
    const engine = this.engine.stats();
    const groups: Record<string, unknown> = {};
    for (const group of this.engine.groups()) {
      groups[group.name] = {
        ...group.stats,
        invalid: (group.meta as GroupContract | undefined)?.invalid ?? 0,
      };
    }
    return {
      total: {
        messages: engine.messages,
        deliveries: engine.deliveries,
        bytes: engine.bytes,
        evictions: engine.evictions,
        errors: this.counters.errors,
        invalid: this.counters.stats().invalidPayloads,
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
    this.writes.forget(session);
    this.#release(session);
    if (session.id !== 0) {
      this.#byId.delete(session.id);
      this.federation?.gone(session);
      this.engine.disconnect(session.id);
      this.calls.gone(session.id);
    }
    this.log.debug('connection closed', { conn: session.name || undefined });
    if (this.#sessions.size === 0) this.#onIdle?.();
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
    await this.federation?.stop();
  }
}
