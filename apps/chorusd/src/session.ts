import { type Accepted, BUS_NAME, type EngineError, isEngineError } from '@chorus/core';
import {
  type CallRequest,
  type ClientMessage,
  type EmitRequest,
  ErrorCode,
  encodeEmitReplyFrame,
  encodeFrame,
  encodePayload,
  FrameDecoder,
  type Hello,
  PROTOCOL_VERSION,
  ProtocolError,
  parseClientHeader,
  type ServerMessage,
} from '@chorus/protocol';
import { denied, type EmitGate } from './access.js';
import { callBus } from './bus-interface.js';
import { checkEmitRequest, ownedPayload, publishOf } from './emit-request.js';
import type { Federation } from './federation/federation.js';
import { toFilters, welcomeMemberships } from './membership-requests.js';
import { encodeItem, encodeItemBuffer } from './outbound-frames.js';
import type { PeerProcess } from './peer-process.js';
import { RequestError } from './request-error.js';
import type { ConnectionOrigin, SessionHost } from './session-host.js';

/**
 * What a session needs of its byte stream; `net.Socket` has it, and the WebSocket listener
 * adapts a `ws` connection to it.
 */
export interface SessionSocket {
  write(chunk: Uint8Array): boolean;
  cork(): void;
  uncork(): void;
  /** Bytes accepted by `write` and not yet handed to the OS. */
  readonly writableLength: number;
  pause(): void;
  resume(): void;
  /** Closes after what is buffered (and `last`, if given) is written. */
  end(): void;
  end(last: Uint8Array): void;
  destroy(): void;
}

export type TransportKind = 'unix' | 'ws';

/** `draining`: the bus is shutting down; queued frames are still written, nothing is read. */
type State = 'hello' | 'open' | 'draining' | 'closing' | 'closed';

/**
 * One client connection: decodes its frames, drives the engine on its behalf, and writes what
 * the engine queues for it. Everything it sends goes through the engine's queue for this
 * connection, so replies, signals and notices reach the client in one order.
 */
export class Session {
  readonly transport: TransportKind;
  /** The engine's connection id, once `hello` succeeded. */
  id = 0;
  /** The unique bus name, `:1.N`. */
  name = '';
  /** Who the policy sees: `owner`, `ws`, or the name of a token from the config. */
  identity: string;
  /** Where it comes from, as the listener saw it. */
  origin: ConnectionOrigin = {};
  /** The process at the other end, from the kernel (Unix socket), once looked up. */
  peer: PeerProcess | undefined;
  /** Whether that lookup was made (it is made once, when someone first lists connections). */
  peerAsked = false;
  /** The name the client gave itself at hello: declared, not verified. */
  client: string | undefined;
  readonly #host: SessionHost<Session>;
  /** Emit decisions by group, until the policy changes. */
  readonly #emits: EmitGate;
  readonly #socket: SessionSocket;
  readonly #decoder: FrameDecoder;
  #state: State = 'hello';
  #helloTimer: NodeJS.Timeout | undefined;
  /** Serial of this session's emit that waits for room; reading stops until it settles. */
  #blockedSerial: number | undefined;
  /** That emit, when it is a publish (answered only if it fails). */
  #blockedPublish: EmitRequest | undefined;
  /**
   * Frames read but not handled, because an earlier emit is blocked or the queue is over
   * maxQueueBytes. Bounded by one read chunk: reading is paused meanwhile.
   */
  readonly #backlog: [Uint8Array, Uint8Array][] = [];
  #paused = false;
  /** A monitor only watches: it may send nothing but ping. */
  #monitor = false;

  constructor(
    host: SessionHost<Session>,
    socket: SessionSocket,
    transport: TransportKind,
    identity?: string,
  ) {
    this.#host = host;
    this.#socket = socket;
    this.transport = transport;
    // A WebSocket client proved its identity at the upgrade; a Unix-socket client does at hello.
    this.identity = identity ?? 'owner';
    this.#emits = host.access.emitGate(this);
    this.#decoder = new FrameDecoder(
      { frame: (header, payload) => this.#onFrame(header, payload), error: (error) => this.#fatal(error) },
      { maxFrameBytes: host.limits.maxFrameBytes },
    );
    this.#helloTimer = setTimeout(() => {
      this.#fatal(new ProtocolError(ErrorCode.HELLO_TIMEOUT, 'no hello received in time', { fatal: true }));
    }, host.limits.helloTimeoutMs);
    this.#helloTimer.unref?.();
  }

  get open(): boolean {
    return this.#state === 'open';
  }

  /** Whether this connection became a monitor (it answers no calls). */
  get monitor(): boolean {
    return this.#monitor;
  }

  /** Bytes from the socket. */
  receive(chunk: Uint8Array): void {
    if (this.#state !== 'hello' && this.#state !== 'open') return;
    this.#decoder.push(chunk);
  }

  /** The socket closed (either side). */
  closed(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#helloTimer);
    this.#host.forget(this);
  }

  /** The engine evicted this connection as a slow consumer; it no longer exists there. */
  evicted(): void {
    this.#host.log.warn('evicted slow consumer', { conn: this.name });
    this.#fatal(
      new ProtocolError(ErrorCode.SLOW_CONSUMER, 'evicted: your queue stayed full', { fatal: true }),
      false,
    );
  }

  /** The engine accepted (or failed) this session's blocked emit. */
  settled(outcome: Accepted | EngineError): void {
    const serial = this.#blockedSerial;
    const publish = this.#blockedPublish;
    this.#blockedSerial = undefined;
    this.#blockedPublish = undefined;
    if (serial === undefined || this.#state !== 'open') return;
    // Hooks run inside an engine call; replying is an engine call, so do it right after.
    queueMicrotask(() => {
      if (this.#state !== 'open') return;
      if (isEngineError(outcome)) this.#refused(serial, outcome, 'emit', publish);
      else if (publish === undefined) this.#replyEmit(serial, outcome);
      this.#drainBacklog();
    });
  }

  /** Moves queued items into the socket until it holds `maxSocketBufferBytes`; 'drain' calls again. */
  flush(): void {
    if ((this.#state !== 'open' && this.#state !== 'draining') || this.id === 0) return;
    const socket = this.#socket;
    const host = this.#host;
    const max = host.limits.maxSocketBufferBytes;
    if (socket.writableLength >= max) return;
    const engine = host.engine;
    // A WebSocket carries one frame per message (the wire spec): only a byte stream may coalesce.
    const stream = this.transport === 'unix';
    socket.cork();
    try {
      // [GUARANTEE: backpressure] at most maxSocketBufferBytes handed to the socket; 'drain' calls again.
      while (socket.writableLength < max) {
        const items = engine.take(this.id, max, host.clock.now());
        if (items.length === 0) break;
        if (items.length === 1 || !stream) {
          for (const item of items) socket.write(encodeItemBuffer(item));
          continue;
        }
        // Writable's cost is per chunk (a Buffer wrap, a writev entry), not per byte: one write
        // per batch, its bytes shared with every session of this pass whose batch is the same.
        // [GUARANTEE: order] the frames in the order taken, joined end to end.
        for (const chunk of host.writes.chunksOf(items)) socket.write(chunk);
      }
    } finally {
      socket.uncork();
    }
    if (this.#state === 'draining' && engine.queuedBytes(this.id) === 0) this.#socket.end();
    // The queue is back under its bound: read requests again.
    else if (this.#paused && this.#state === 'open' && !engine.overBound(this.id)) this.#drainBacklog();
  }

  /** The bus is shutting down: say goodbye after everything already queued, then close. */
  shutdown(reason: string): void {
    if (this.#state === 'open') {
      // [GUARANTEE: no-loss] bye goes after everything already queued to the connection.
      this.#host.engine.post(this.id, encodeFrame({ t: 'bye', reason }), 64);
      this.#state = 'draining';
      this.#host.writes.schedule(this);
    } else if (this.#state === 'hello') {
      this.#state = 'closing';
      this.#socket.end(encodeFrame({ t: 'bye', reason }));
    }
  }

  destroy(): void {
    this.#socket.destroy();
  }

  // ---- inbound ----------------------------------------------------------------------------

  #onFrame(header: Uint8Array, payload: Uint8Array): void {
    if (
      this.#blockedSerial !== undefined ||
      this.#backlog.length > 0 ||
      this.#host.engine.overBound(this.id)
    ) {
      // [GUARANTEE: backpressure] a blocked sender's later requests wait behind its emit.
      // [GUARANTEE: memory] and a connection over maxQueueBytes is not read: its replies would grow it.
      this.#backlog.push([header, payload]);
      this.#pause();
      return;
    }
    this.#handle(header, payload);
  }

  #drainBacklog(): void {
    const engine = this.#host.engine;
    while (
      this.#backlog.length > 0 &&
      this.#blockedSerial === undefined &&
      this.#state === 'open' &&
      !engine.overBound(this.id)
    ) {
      const [header, payload] = this.#backlog.shift() as [Uint8Array, Uint8Array];
      this.#handle(header, payload);
    }
    if (
      this.#backlog.length === 0 &&
      this.#blockedSerial === undefined &&
      this.#paused &&
      !engine.overBound(this.id)
    ) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#socket.pause();
  }

  #handle(header: Uint8Array, payload: Uint8Array): void {
    if (this.#state !== 'hello' && this.#state !== 'open') return;
    let message: ClientMessage;
    try {
      message = parseClientHeader(header);
    } catch (error) {
      const e = error as ProtocolError;
      this.#host.counters.count('protocolErrors');
      if (this.#state === 'hello') {
        // Its BAD_FIELD keeps data.path, as every BAD_FIELD does (the spec, section 7).
        this.#fatal(new ProtocolError(e.code, e.message, { fatal: true, data: e.data }));
      } else {
        // [GUARANTEE: isolation] the codec's own reply: its code, the serial if readable, BAD_FIELD's path.
        this.#post(e.toErrorReply());
      }
      return;
    }
    if (this.#state === 'hello') {
      if (message.t !== 'hello') {
        this.#fatal(
          new ProtocolError(ErrorCode.HELLO_REQUIRED, `expected hello, got '${message.t}'`, { fatal: true }),
        );
        return;
      }
      this.#hello(message);
      return;
    }
    try {
      this.#dispatch(message, header, payload);
    } catch (error) {
      this.#refused('s' in message ? message.s : undefined, error, message.t, publishOf(message));
    }
  }

  #hello(hello: Hello): void {
    clearTimeout(this.#helloTimer);
    if (hello.v !== PROTOCOL_VERSION) {
      this.#fatal(
        new ProtocolError(
          ErrorCode.VERSION_MISMATCH,
          `protocol version ${hello.v} is not supported; this daemon speaks version ${PROTOCOL_VERSION}`,
          { fatal: true },
        ),
      );
      return;
    }
    const host = this.#host;
    // [GUARANTEE: access] a token at hello names the identity; an unknown one is refused.
    if (this.transport === 'unix' && hello.token !== undefined) {
      const identity = host.access.identify(hello.token);
      if (identity === undefined) {
        this.#fatal(new ProtocolError(ErrorCode.NOT_PERMITTED, 'unknown token', { fatal: true }));
        return;
      }
      this.identity = identity;
    }
    for (const spec of hello.join ?? []) {
      if (!host.access.permits(this, 'join', spec.g)) {
        this.#fatal(
          new ProtocolError(ErrorCode.NOT_PERMITTED, denied(this.identity, 'join', spec.g), { fatal: true }),
        );
        return;
      }
    }
    if (!host.admit(this)) {
      const max = host.limits.maxConnectionsPerIdentity;
      this.#fatal(
        new ProtocolError(ErrorCode.LIMIT_EXCEEDED, `limit maxConnectionsPerIdentity (${max}) exceeded`, {
          fatal: true,
        }),
      );
      return;
    }
    let connected: ReturnType<typeof host.engine.connect>;
    try {
      connected = host.engine.connect({
        join: (hello.join ?? []).map((spec) => ({ group: spec.g, filters: toFilters(spec.f) })),
      });
    } catch (error) {
      const code = isEngineError(error) ? error.code : ErrorCode.INTERNAL;
      const message = error instanceof Error ? error.message : String(error);
      this.#fatal(new ProtocolError(code as ErrorCode, message, { fatal: true }));
      return;
    }
    this.id = connected.id;
    this.name = `:1.${connected.id}`;
    this.#state = 'open';
    host.register(this);
    const { limits } = host;
    // Written before any queued item (autojoin's retained values), which flush() writes later.
    this.#socket.write(
      encodeFrame({
        t: 'welcome',
        v: PROTOCOL_VERSION,
        name: this.name,
        seq: host.engine.seq,
        limits: {
          maxFrameBytes: limits.maxFrameBytes,
          maxQueueBytes: limits.maxQueueBytes,
          maxGroupsPerConnection: limits.maxGroupsPerConnection,
          maxMembershipsPerConnection: limits.maxMembershipsPerConnection,
          maxFiltersPerMembership: limits.maxFiltersPerMembership,
        },
        ...welcomeMemberships(connected.joined, host.federation, this.id),
      }),
    );
    this.client = hello.client;
    host.log.debug('hello', { conn: this.name, transport: this.transport, client: hello.client });
    host.writes.schedule(this);
  }

  #dispatch(message: ClientMessage, header: Uint8Array, payload: Uint8Array): void {
    const { engine, access } = this.#host;
    if (this.#monitor && message.t !== 'ping') {
      throw new RequestError(ErrorCode.MONITOR_ONLY, 'a monitor may only watch');
    }
    switch (message.t) {
      case 'emit':
        this.#emit(message, header, payload);
        return;
      case 'hello':
        throw new RequestError(ErrorCode.DUPLICATE_HELLO, 'hello was already received');
      case 'create': {
        access.requireCreate(this, message.g, engine);
        if (message.o?.federated === true) {
          // [GUARANTEE: federation] answered once the create is in the stream and applied here.
          this.#awaitFederated(
            message.s,
            this.#federation().create(this, message.g, message.o, message.schema),
          );
          return;
        }
        const { validate, ...options } = message.o ?? {};
        // [GUARANTEE: contract] the schema is compiled here, once; one that cannot be is refused.
        const contract = this.#host.contracts.forGroup(message.schema, validate);
        engine.createGroup(this.id, message.g, options, contract);
        this.#host.log.debug('group created', { conn: this.name, group: message.g });
        this.#reply(message.s, {});
        return;
      }
      case 'join':
        access.require(this, 'join', message.g);
        if (this.#host.federation?.has(message.g) === true) {
          // [GUARANTEE: federation] a replay (join.fseq) follows the join's ok, before anything live.
          const work = this.#host.federation.join(this, message.s, message.g, toFilters(message.f), message);
          this.#awaitThen(message.s, work, () => undefined, 'join');
          return;
        }
        engine.join(this.id, message.g, toFilters(message.f), (result) => {
          const frame = encodeFrame({
            t: 'ok',
            s: message.s,
            r: { startSeq: result.startSeq, startGroupSeq: result.startGroupSeq },
          });
          return { data: frame, size: frame.byteLength };
        });
        return;
      case 'leave':
        engine.leave(this.id, message.g);
        this.#reply(message.s, {});
        return;
      case 'close':
        if (this.#host.federation?.has(message.g) === true) {
          this.#awaitFederated(message.s, this.#host.federation.close(this, message.g));
          return;
        }
        engine.closeGroup(this.id, message.g);
        this.#reply(message.s, {});
        return;
      case 'ping':
        this.#reply(message.s, {});
        return;
      case 'call':
        this.#call(message, payload);
        return;
      case 'ret':
        this.#host.calls.ret(this, message.id, payload);
        return;
      case 'fail':
        this.#host.calls.fail(this, message);
        return;
      case 'cancel':
        this.#host.calls.cancel(this, message.id);
        return;
      case 'monitor':
        // [GUARANTEE: access] watching everything needs `monitor` on `*`, and then shows only the
        // groups this identity may monitor (decided per group by the engine, once per policy).
        for (const group of message.g ?? ['*']) access.require(this, 'monitor', group);
        engine.becomeMonitor(
          this.id,
          message.g,
          message.g === undefined ? access.monitorFilter(this) : undefined,
        );
        this.#monitor = true;
        // A monitor answers no calls: those waiting on it end now rather than at their deadline.
        this.#host.calls.stopServing(this.id, 'became a monitor');
        this.#host.log.debug('monitor', { conn: this.name, groups: message.g });
        this.#reply(message.s, {});
        return;
    }
  }

  #call(message: CallRequest, payload: Uint8Array): void {
    const host = this.#host;
    if (message.dest === BUS_NAME) {
      // Who each connection is comes from the kernel, asked when someone lists them: the answer
      // waits for that lookup, and so do this connection's later frames (replies stay in order).
      const lookup = message.m === 'ListConnections' ? host.lookupPeers() : undefined;
      if (lookup === undefined) this.#answerBus(message, payload);
      else this.#awaitThen(message.s, lookup, () => this.#answerBus(message, payload), 'bus');
      return;
    }
    const checked = host.access.requireCall(this, message, host);
    // A monitor cannot answer (it may send nothing but pings): as if nobody owned the name.
    host.calls.call(this, checked, payload, (id) => host.answering(id));
  }

  /**
   * The policy changed (SIGHUP): what it no longer allows ends now. A membership it no longer
   * lets this identity `join` ends with `gclosed` 'not-permitted' (after what was queued); a
   * monitor of a group it may no longer `monitor` (or of everything, without `monitor` on `*`)
   * is closed with a fatal NOT_PERMITTED; a monitor of everything forgets which groups it saw.
   */
  accessChanged(): void {
    if (this.#state !== 'open') return;
    const { engine, access, log } = this.#host;
    const info = engine.connection(this.id);
    if (info === undefined) return;
    if (this.#monitor) {
      const lost = (info.monitoring ?? ['*']).find((group) => !access.allows(this, 'monitor', group));
      if (lost !== undefined) {
        log.info('monitor ended by policy reload', {
          conn: this.name,
          identity: this.identity,
          group: lost,
        });
        this.#fatal(
          new ProtocolError(ErrorCode.NOT_PERMITTED, `${denied(this.identity, 'monitor', lost)} any more`, {
            fatal: true,
          }),
        );
        return;
      }
      if (info.monitoring === undefined) engine.setMonitorAccess(this.id, access.monitorFilter(this));
      return;
    }
    for (const group of info.memberships) {
      if (access.allows(this, 'join', group)) continue;
      log.info('membership ended by policy reload', {
        conn: this.name,
        identity: this.identity,
        group,
      });
      // [GUARANTEE: no-loss] what was queued before stays; the notice comes after it.
      engine.leave(this.id, group);
      this.#post({ t: 'gclosed', g: group, reason: 'not-permitted' });
    }
  }

  #emit(message: EmitRequest, header: Uint8Array, payload: Uint8Array): void {
    this.#emits.require(message.g);
    const fields = checkEmitRequest(this.#host, message, header, payload);
    const owned = ownedPayload(payload);
    const federation = this.#host.federation;
    if (federation?.has(message.g) === true) {
      // [GUARANTEE: federation] acknowledged once JetStream has it and this daemon applied it.
      this.#awaitFederated(
        message.s,
        federation.emit(this, message.g, message.sig, owned),
        publishOf(message),
      );
      return;
    }
    const outcome = this.#host.engine.emit(
      {
        sender: this.id,
        group: message.g,
        signal: message.sig,
        payload: owned,
        size: owned.byteLength + header.byteLength + 64,
        fields,
      },
      // The exact time, not the ticker's coarse clock: a stall must never be judged too long.
      this.#host.clock.now(),
    );
    if (outcome.status === 'accepted') {
      // [GUARANTEE: publish] an accepted publish is not answered.
      if (message.q !== true) this.#replyEmit(message.s, outcome);
    } else {
      this.#blockedSerial = message.s;
      this.#blockedPublish = publishOf(message);
      this.#pause();
    }
  }

  #federation(): Federation {
    const federation = this.#host.federation;
    if (federation === undefined)
      throw new RequestError(
        ErrorCode.FEDERATION_UNAVAILABLE,
        'this daemon is not federated: start chorusd with --federation nats://HOST:PORT',
      );
    return federation;
  }

  #answerBus(message: CallRequest, payload: Uint8Array): void {
    const result = callBus(this.#host, this, message.m, payload);
    this.#post({ t: 'ok', s: message.s }, encodePayload(result));
  }

  /**
   * Answers request `serial` with `answer` once `work` is done (a failure of either is the
   * request's error); meanwhile this connection's later frames wait, as behind a blocked emit, so
   * its replies keep their order. Federated requests wait for JetStream this way, which also keeps
   * a connection's federated emits in the stream in the order it sent them.
   */
  #awaitThen<T>(
    serial: number,
    work: Promise<T>,
    answer: (value: T) => void,
    type: string,
    publish?: EmitRequest,
  ): void {
    this.#blockedSerial = serial;
    this.#pause();
    const done = (settle: () => void): void => {
      if (this.#blockedSerial !== serial) return;
      this.#blockedSerial = undefined;
      if (this.#state !== 'open') return;
      try {
        settle();
      } catch (error) {
        this.#refused(serial, error, type, publish);
      }
      this.#drainBacklog();
    };
    work.then(
      (value) => done(() => answer(value)),
      (error: unknown) => done(() => this.#refused(serial, error, type, publish)),
    );
  }

  /** `publish`: a federated publish, answered only if it fails. */
  #awaitFederated(serial: number, work: Promise<Accepted | undefined>, publish?: EmitRequest): void {
    // [GUARANTEE: federation] answered once the stream has it and this daemon applied it.
    this.#awaitThen(
      serial,
      work,
      (outcome) => {
        if (outcome === undefined) this.#reply(serial, {});
        else if (publish === undefined) this.#replyEmit(serial, outcome);
      },
      'federated',
      publish,
    );
  }

  // ---- outbound ---------------------------------------------------------------------------

  #reply(serial: number, result: Record<string, unknown>): void {
    this.#post({ t: 'ok', s: serial, r: result });
  }

  /** `{ t: 'ok', s, r: { seq, gseq, n } }`, written by hand: one per emit. */
  #replyEmit(serial: number, outcome: Accepted): void {
    // Evicted meanwhile (its own earlier reply or name signal overfilled it): nobody to answer.
    if (this.#state !== 'open') return;
    const frame = encodeEmitReplyFrame(serial, outcome.seq, outcome.groupSeq, outcome.recipients);
    this.#host.engine.post(this.id, frame, frame.byteLength);
  }

  /**
   * The one way a request fails: a RequestError or an engine error is the client's `err` reply
   * (and counted); anything else is a bug, logged, and answered INTERNAL without its details.
   */
  #refused(serial: number | undefined, error: unknown, type?: string, publish?: EmitRequest): void {
    const refusal = RequestError.from(error);
    if (refusal === undefined) {
      this.#host.log.error('internal error', { conn: this.name, type, error: String(error) });
      this.#post(new RequestError(ErrorCode.INTERNAL, 'internal error').toReply(serial, publish));
      return;
    }
    this.#host.counters.count('requestErrors');
    this.#post(refusal.toReply(serial, publish));
  }

  #post(message: ServerMessage, payload?: Uint8Array): void {
    if (this.#state !== 'open') return; // evicted meanwhile: see #replyEmit
    // [GUARANTEE: replies] through the connection's one queue: in order with its signals.
    const frame = encodeFrame(message, payload);
    this.#host.engine.post(this.id, frame, frame.byteLength);
  }

  /** Tells the client why, then closes; nothing else from this connection is handled. */
  #fatal(error: ProtocolError, disconnect = true): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    clearTimeout(this.#helloTimer);
    this.#state = 'closing';
    this.#host.counters.count('fatalErrors');
    this.#host.log.info('closing connection', {
      conn: this.name || undefined,
      code: error.code,
      reason: error.message,
    });
    if (disconnect && this.id !== 0) {
      // [GUARANTEE: replies] what was queued before the error (replies to earlier requests) goes first.
      for (const item of this.#host.engine.take(this.id)) this.#socket.write(encodeItem(item));
      this.#host.engine.disconnect(this.id);
    }
    const data = error.data === undefined ? {} : { data: error.data };
    this.#socket.end(encodeFrame({ t: 'err', code: error.code, msg: error.message, fatal: true, ...data }));
    const timer = setTimeout(() => this.#socket.destroy(), 1000);
    timer.unref?.();
  }
}
