/*
 * A fake daemon that speaks just enough protocol for the SDK's unit tests (not a test file: it is
 * excluded from the build, see tsconfig.json). It answers by default like chorusd would, and lets a
 * test take over any answer.
 *
 * Several fake connections can share a FakeHub, which routes method calls between them (call →
 * invoke, ret/fail → ok/err, cancel/deadline/disconnect → abort, NO_REPLY) and answers the bus's
 * own methods from a minimal name table (RequestName, ReleaseName, GetNameOwner, ListNames, ...),
 * emitting NameOwnerChanged to members of org.chorus.Bus and NameAcquired/NameLost to the
 * connection concerned, before the reply.
 */

import {
  type CallRequest,
  type ClientMessage,
  DEFAULT_MAX_FRAME_BYTES,
  decodePayload,
  encodeFrame,
  encodePayload,
  type Filter,
  FrameDecoder,
  type Limits,
  parseClientHeader,
  type ServerMessage,
  type SignalMessage,
} from '@chorus/protocol';
import type { Bus } from '../bus.js';
import { matchesFilters } from '../filter.js';
import { connect } from '../index.js';
import type { ConnectOptions } from '../options.js';
import { createMemoryTransportPair, type MemoryTransport } from '../transports/memory.js';
import type { Transport } from '../transports/transport.js';

/** A message the daemon received, with its payload. */
export interface Received {
  readonly message: ClientMessage;
  readonly payload: Uint8Array;
}

/** A frame to send: a message alone, or with its payload. */
export type Outgoing = ServerMessage | { readonly message: ServerMessage; readonly payload: Uint8Array };

/** How the daemon answers one message: a list of frames to send, or undefined to stay silent. */
export type Responder = (received: Received, daemon: FakeDaemon<Transport>) => Outgoing[] | undefined;

export class FakeDaemon<TTransport extends Transport = MemoryTransport> {
  readonly transport: TTransport;
  readonly hub: FakeHub;
  readonly received: Received[] = [];
  name: string;
  seq = 0;
  /** Groups this connection joined (with their filters), as far as the default answers know. */
  readonly memberships = new Map<string, Filter[] | undefined>();
  /** Set once the client sent `monitor` (the groups it watches; undefined: all). */
  monitor: { groups: string[] | undefined } | undefined;
  /** Whether the client's side is gone. */
  gone = false;
  limits: Limits = { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, maxQueueBytes: 8 * DEFAULT_MAX_FRAME_BYTES };
  /** Replaces the default answer for some message types. */
  readonly responders = new Map<string, Responder>();
  readonly #groupSeqs = new Map<string, number>();
  #taken = new Set<Received>();
  #waiters: { t: string | undefined; resolve: (received: Received) => void }[] = [];

  /** Settles when the client's side is closed (EOF or reset). */
  readonly ended: Promise<void>;

  constructor(transport: TTransport, hub: FakeHub = new FakeHub()) {
    this.transport = transport;
    this.hub = hub;
    this.name = hub.attach(this as FakeDaemon<Transport>);
    this.ended = this.#read().then(() => {
      this.gone = true;
      hub.disconnected(this as FakeDaemon<Transport>);
    });
  }

  /** Answers `t` messages with `responder` instead of the default (return undefined: no answer). */
  respond(t: ClientMessage['t'], responder: Responder): void {
    this.responders.set(t, responder);
  }

  send(message: ServerMessage, payload?: Uint8Array): void {
    this.transport.write(encodeFrame(message, payload));
  }

  /** Sends a `sig` with the next sequence numbers; returns its header. */
  signal(group: string, sig: string, value: unknown, extra: Partial<SignalMessage> = {}): SignalMessage {
    const gseq = (this.#groupSeqs.get(group) ?? 0) + 1;
    this.#groupSeqs.set(group, gseq);
    const message: SignalMessage = { t: 'sig', seq: ++this.seq, gseq, g: group, sig, from: ':1.2', ...extra };
    this.send(message, encodePayload(value));
    return message;
  }

  /** The next received message of type `t` (or of any type) not taken before; waits for it. */
  take(t?: ClientMessage['t']): Promise<Received> {
    const found = this.received.find((r) => !this.#taken.has(r) && (t === undefined || r.message.t === t));
    if (found !== undefined) {
      this.#taken.add(found);
      return Promise.resolve(found);
    }
    return new Promise((resolve) => this.#waiters.push({ t, resolve }));
  }

  /** Every received message of type `t`. */
  all(t: ClientMessage['t']): Received[] {
    return this.received.filter((r) => r.message.t === t);
  }

  async #read(): Promise<void> {
    const decoder = new FrameDecoder({
      frame: (header, payload) =>
        this.#onFrame({ message: parseClientHeader(header), payload: payload.slice() }),
      error: (error) => {
        throw error;
      },
    });
    try {
      for await (const chunk of this.transport) decoder.push(chunk);
    } catch {
      // The client went away abruptly; nothing to do for a fake.
    }
  }

  #onFrame(received: Received): void {
    this.received.push(received);
    const waiter = this.#waiters.findIndex((w) => w.t === undefined || w.t === received.message.t);
    if (waiter >= 0) {
      this.#taken.add(received);
      this.#waiters.splice(waiter, 1)[0]?.resolve(received);
    }
    const responder = this.responders.get(received.message.t) ?? defaultResponder;
    for (const frame of responder(received, this as FakeDaemon<Transport>) ?? []) {
      if ('t' in frame) this.send(frame);
      else this.send(frame.message, frame.payload);
    }
  }

  /** What chorusd would answer. */
  answer(received: Received): Outgoing[] {
    return defaultResponder(received, this as FakeDaemon<Transport>) ?? [];
  }
}

const defaultResponder: Responder = (received, daemon) => {
  const { message } = received;
  switch (message.t) {
    case 'hello':
      for (const spec of message.join ?? []) daemon.memberships.set(spec.g, spec.f);
      return [
        {
          t: 'welcome',
          v: 1,
          name: daemon.name,
          seq: daemon.seq,
          limits: daemon.limits,
          joined: (message.join ?? []).map((spec) => ({
            g: spec.g,
            startSeq: daemon.seq + 1,
            startGroupSeq: 1,
          })),
        },
      ];
    case 'join':
      daemon.memberships.set(message.g, message.f);
      return [{ t: 'ok', s: message.s, r: { startSeq: daemon.seq + 1, startGroupSeq: 1 } }];
    case 'leave':
      daemon.memberships.delete(message.g);
      return [{ t: 'ok', s: message.s, r: {} }];
    case 'create':
      daemon.hub.groups.set(message.g, { owner: daemon, options: message.o ?? {}, schema: message.schema });
      return [{ t: 'ok', s: message.s, r: {} }];
    case 'emit':
      daemon.seq++;
      return [{ t: 'ok', s: message.s, r: { seq: daemon.seq, gseq: daemon.seq, n: 1 } }];
    case 'monitor':
      daemon.monitor = { groups: message.g };
      daemon.memberships.clear();
      return [{ t: 'ok', s: message.s, r: { startSeq: daemon.seq + 1 } }];
    case 'call':
      return daemon.hub.call(daemon, message, received.payload);
    case 'ret':
    case 'fail':
      daemon.hub.answer(daemon, message.id, received);
      return undefined;
    case 'cancel':
      daemon.hub.cancel(daemon, message.id);
      return undefined;
    default:
      return [{ t: 'ok', s: message.s, r: {} }];
  }
};

type PendingCall = {
  readonly caller: FakeDaemon<Transport>;
  readonly serial: number;
  readonly callee: FakeDaemon<Transport>;
  readonly timer: ReturnType<typeof setTimeout> | undefined;
};

type NameEntry = { owner: FakeDaemon<Transport>; queue: FakeDaemon<Transport>[]; allowReplacement: boolean };

const BUS = 'org.chorus.Bus';

/** Several fake connections on one fake bus: names, method calls and the bus's own methods. */
export class FakeHub {
  readonly daemons: FakeDaemon<Transport>[] = [];
  /** Well-known names: owner and queue. */
  readonly names = new Map<string, NameEntry>();
  readonly groups = new Map<string, { owner: FakeDaemon<Transport>; options: unknown; schema: unknown }>();
  /** Calls routed to a service and not answered yet, by invoke id. */
  readonly pending = new Map<number, PendingCall>();
  /** Handles a bus method instead of the default (return the output, or throw `{ code, msg }`). */
  readonly busMethods = new Map<string, (input: unknown, caller: FakeDaemon<Transport>) => unknown>();
  #nextId = 1;
  #nextConnection = 7;

  attach(daemon: FakeDaemon<Transport>): string {
    this.daemons.push(daemon);
    return `:1.${this.#nextConnection++}`;
  }

  /** Another bus on this hub. */
  connect(
    options: ConnectOptions = {},
    setup?: (daemon: FakeDaemon) => void,
  ): Promise<{ bus: Bus; daemon: FakeDaemon; client: MemoryTransport }> {
    return connectToFake(options, setup, this);
  }

  /** The connection a name (well-known or unique) resolves to. */
  owner(name: string): FakeDaemon<Transport> | undefined {
    if (name.startsWith(':')) return this.daemons.find((d) => d.name === name && !d.gone);
    return this.names.get(name)?.owner;
  }

  call(caller: FakeDaemon<Transport>, message: CallRequest, payload: Uint8Array): Outgoing[] | undefined {
    if (message.dest === BUS) return [this.#busMethod(caller, message, payload)];
    const callee = this.owner(message.dest);
    if (callee === undefined) {
      return [{ t: 'err', s: message.s, code: 'SERVICE_UNKNOWN', msg: `nobody owns ${message.dest}` }];
    }
    const id = this.#nextId++;
    const timer =
      message.to === undefined
        ? undefined
        : setTimeout(() => {
            if (!this.pending.delete(id)) return;
            caller.send({
              t: 'err',
              s: message.s,
              code: 'TIMEOUT',
              msg: `no answer within ${message.to} ms`,
            });
            callee.send({ t: 'abort', id, reason: 'timeout' });
          }, message.to);
    this.pending.set(id, { caller, serial: message.s, callee, timer });
    const invoke: ServerMessage = { t: 'invoke', id, from: caller.name, dest: message.dest, m: message.m };
    if (message.g !== undefined) invoke.g = message.g;
    callee.send(invoke, payload);
    return undefined;
  }

  /** A `ret` or `fail` for invoke `id`; dropped when the call is gone (late, cancelled). */
  answer(callee: FakeDaemon<Transport>, id: number, { message, payload }: Received): void {
    const call = this.pending.get(id);
    if (call === undefined || call.callee !== callee) return;
    this.pending.delete(id);
    clearTimeout(call.timer);
    if (message.t === 'ret') {
      call.caller.send({ t: 'ok', s: call.serial }, payload);
    } else if (message.t === 'fail') {
      const err: ServerMessage = { t: 'err', s: call.serial, code: message.code, msg: message.msg };
      if (message.name !== undefined) err.data = { name: message.name };
      call.caller.send(err);
    }
  }

  cancel(caller: FakeDaemon<Transport>, serial: number): void {
    for (const [id, call] of this.pending) {
      if (call.caller !== caller || call.serial !== serial) continue;
      this.pending.delete(id);
      clearTimeout(call.timer);
      call.callee.send({ t: 'abort', id, reason: 'cancelled' });
    }
  }

  disconnected(daemon: FakeDaemon<Transport>): void {
    for (const [id, call] of this.pending) {
      if (call.caller === daemon) {
        this.pending.delete(id);
        clearTimeout(call.timer);
        if (!call.callee.gone) call.callee.send({ t: 'abort', id, reason: 'caller-left' });
      } else if (call.callee === daemon) {
        this.pending.delete(id);
        clearTimeout(call.timer);
        call.caller.send({ t: 'err', s: call.serial, code: 'NO_REPLY', msg: 'the service disconnected' });
      }
    }
    for (const [name, entry] of [...this.names]) {
      entry.queue = entry.queue.filter((d) => d !== daemon);
      if (entry.owner === daemon) this.#handOver(name, entry);
    }
  }

  /** Emits a signal of org.chorus.Bus to `to` (default: its members whose filters match). */
  busSignal(signal: string, value: Record<string, unknown>, to?: FakeDaemon<Transport>[]): void {
    const targets =
      to ??
      this.daemons.filter(
        (d) =>
          !d.gone &&
          d.memberships.has(BUS) &&
          matchesFilters(d.memberships.get(BUS), { sig: signal, from: BUS }, value),
      );
    for (const daemon of targets) if (!daemon.gone) daemon.signal(BUS, signal, value, { from: BUS });
  }

  /** Sets the owner of `name` (signals included), as if it had been requested. */
  setOwner(name: string, owner: FakeDaemon<Transport> | undefined): void {
    const entry = this.names.get(name);
    const old = entry?.owner;
    if (owner === undefined) {
      this.names.delete(name);
    } else if (entry === undefined) {
      this.names.set(name, { owner, queue: [], allowReplacement: false });
    } else {
      entry.owner = owner;
    }
    this.#ownerChanged(name, old, owner);
  }

  #ownerChanged(
    name: string,
    old: FakeDaemon<Transport> | undefined,
    owner: FakeDaemon<Transport> | undefined,
  ): void {
    if (old !== undefined) this.busSignal('NameLost', { name }, [old]);
    this.busSignal('NameOwnerChanged', { name, oldOwner: old?.name ?? null, newOwner: owner?.name ?? null });
    if (owner !== undefined) this.busSignal('NameAcquired', { name }, [owner]);
  }

  #handOver(name: string, entry: NameEntry): void {
    const next = entry.queue.shift();
    const old = entry.owner;
    if (next === undefined) this.names.delete(name);
    else entry.owner = next;
    this.#ownerChanged(name, old, next);
  }

  #busMethod(caller: FakeDaemon<Transport>, message: CallRequest, payload: Uint8Array): Outgoing {
    let input: Record<string, unknown>;
    try {
      input = (decodePayload(payload) ?? {}) as Record<string, unknown>;
    } catch {
      return { t: 'err', s: message.s, code: 'INVALID_ARGS', msg: 'bad MessagePack' };
    }
    let output: unknown;
    try {
      const custom = this.busMethods.get(message.m);
      output =
        custom !== undefined ? custom(input, caller) : this.#defaultBusMethod(caller, message.m, input);
    } catch (error) {
      const { code, msg } = error as { code: string; msg: string };
      return { t: 'err', s: message.s, code, msg };
    }
    return { message: { t: 'ok', s: message.s }, payload: encodePayload(output) };
  }

  #defaultBusMethod(caller: FakeDaemon<Transport>, method: string, input: Record<string, unknown>): unknown {
    const name = input['name'];
    switch (method) {
      case 'RequestName': {
        if (typeof name !== 'string' || name.startsWith(':') || name === BUS || !name.includes('.')) {
          throw { code: 'INVALID_NAME', msg: `cannot request '${String(name)}'` };
        }
        const flags = (input['flags'] ?? {}) as Record<string, boolean | undefined>;
        const entry = this.names.get(name);
        if (entry === undefined) {
          this.names.set(name, {
            owner: caller,
            queue: [],
            allowReplacement: flags['allowReplacement'] === true,
          });
          this.#ownerChanged(name, undefined, caller);
          return { result: 'primary-owner' };
        }
        if (entry.owner === caller) return { result: 'already-owner' };
        if (flags['replaceExisting'] === true && entry.allowReplacement) {
          const old = entry.owner;
          entry.owner = caller;
          entry.allowReplacement = flags['allowReplacement'] === true;
          entry.queue = [old, ...entry.queue.filter((d) => d !== caller)];
          this.#ownerChanged(name, old, caller);
          return { result: 'primary-owner' };
        }
        if (flags['doNotQueue'] === true) return { result: 'exists' };
        if (!entry.queue.includes(caller)) entry.queue.push(caller);
        return { result: 'in-queue' };
      }
      case 'ReleaseName': {
        const entry = typeof name === 'string' ? this.names.get(name) : undefined;
        if (entry === undefined || typeof name !== 'string') return { result: 'non-existent' };
        if (entry.owner === caller) {
          this.#handOver(name, entry);
          return { result: 'released' };
        }
        if (entry.queue.includes(caller)) {
          entry.queue = entry.queue.filter((d) => d !== caller);
          return { result: 'released' };
        }
        return { result: 'not-owner' };
      }
      case 'GetNameOwner':
        return { owner: typeof name === 'string' ? (this.owner(name)?.name ?? null) : null };
      case 'ListNames':
        return {
          names: [...this.names].map(([n, e]) => ({
            name: n,
            owner: e.owner.name,
            queue: e.queue.map((d) => d.name),
          })),
        };
      case 'ListGroups':
        return {
          groups: [...this.groups].map(([g, info]) => ({
            name: g,
            owner: info.owner.name,
            members: this.daemons.filter((d) => !d.gone && d.memberships.has(g)).length,
            options: info.options,
            schema: info.schema ?? null,
            seq: 0,
          })),
        };
      case 'ListConnections':
        return {
          connections: this.daemons
            .filter((d) => !d.gone)
            .map((d) => ({
              name: d.name,
              transport: 'memory',
              groups: [...d.memberships.keys()],
              owned: [...this.groups].filter(([, info]) => info.owner === d).map(([g]) => g),
              names: [...this.names].filter(([, e]) => e.owner === d).map(([n]) => n),
              queuedBytes: 0,
              monitor: d.monitor !== undefined,
            })),
        };
      case 'GetGroupSchema': {
        const group = this.groups.get(String(input['group']));
        if (group === undefined) throw { code: 'UNKNOWN_GROUP', msg: `no group ${String(input['group'])}` };
        return { schema: group.schema ?? null };
      }
      case 'GetStats':
        return {
          total: { messages: 0, deliveries: 0, bytes: 0, evictions: 0, errors: 0 },
          groups: {},
          connections: this.daemons.filter((d) => !d.gone).length,
          uptimeMs: 1,
        };
      default:
        throw { code: 'UNKNOWN_METHOD', msg: `${BUS} has no method '${method}'` };
    }
  }
}

/**
 * A bus connected to a fresh fake daemon over a memory pair (on `hub`, or on a hub of its own).
 * `setup` runs before the handshake.
 */
export async function connectToFake(
  options: ConnectOptions = {},
  setup?: (daemon: FakeDaemon) => void,
  hub: FakeHub = new FakeHub(),
): Promise<{ bus: Bus; daemon: FakeDaemon; client: MemoryTransport }> {
  const [client, server] = createMemoryTransportPair();
  const daemon = new FakeDaemon(server, hub);
  setup?.(daemon);
  const bus = await connect({ ...options, transport: client });
  return { bus, daemon, client };
}

/** Lets queued microtasks and already-resolved IO callbacks run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * A transport factory for reconnection tests: each dial opens a memory pair to a new FakeDaemon
 * on `hub` (assign a new FakeHub to play a restarted daemon), after `setup` ran on it. While
 * `down` is set, dials reject with it instead, as with a daemon that is not running.
 *
 * @example
 * ```ts
 * const dialer = new FakeDialer();
 * const bus = await connect({ address: 'unix:path=/fake', transport: dialer.transport, reconnect: { initialDelayMs: 1 } });
 * dialer.drop(); // the bus reconnects: dialer.daemons[1] is the new connection
 * ```
 */
export class FakeDialer {
  hub = new FakeHub();
  readonly daemons: FakeDaemon[] = [];
  down: Error | undefined;
  setup: ((daemon: FakeDaemon) => void) | undefined;
  /** How many times the bus dialed (failed dials included). */
  dials = 0;

  readonly transport = async (): Promise<Transport> => {
    this.dials++;
    if (this.down !== undefined) throw this.down;
    const [client, server] = createMemoryTransportPair();
    const daemon = new FakeDaemon(server, this.hub);
    this.setup?.(daemon);
    this.daemons.push(daemon);
    return client;
  };

  /** The daemon of the latest connection. */
  get current(): FakeDaemon {
    const daemon = this.daemons.at(-1);
    if (daemon === undefined) throw new Error('nothing dialed yet');
    return daemon;
  }

  /** Cuts the latest connection as a crash would: the client reads EOF. */
  drop(): void {
    this.current.transport.destroy();
  }
}
