/*
 * A fake daemon that speaks just enough protocol for the SDK's unit tests (not a test file: it is
 * excluded from the build, see tsconfig.json), as nats.js keeps its test server to CONNECT and PING.
 * It answers the connection's own requests as chorusd would (hello, join, create, emit, ...) and
 * lets a test script anything else: custom answers, silence, bad frames, signals at any moment.
 *
 * It has no name queue and routes no calls: a `call` gets SERVICE_UNKNOWN unless a test scripts
 * its answer. Names, calls and the bus's own methods are tested against the real engine and daemon
 * (test/sdk-names.test.ts, test/sdk-calls.test.ts, test/sdk-reconnect.test.ts).
 */

import {
  BUS_NAME,
  type ClientMessage,
  DEFAULT_MAX_FRAME_BYTES,
  decodePayload,
  encodeFrame,
  encodePayload,
  FrameDecoder,
  type Limits,
  parseClientHeader,
  type ServerMessage,
  type SignalMessage,
} from '@chorus/protocol';
import type { Bus } from '../bus.js';
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
  readonly received: Received[] = [];
  name: string;
  seq = 0;
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

  /** `name`: the unique name the welcome gives the client. */
  constructor(transport: TTransport, name = ':1.7') {
    this.transport = transport;
    this.name = name;
    this.ended = this.#read().then(() => {
      this.gone = true;
    });
  }

  /** Answers `t` messages with `responder` instead of the default (return undefined: no answer). */
  respond(t: ClientMessage['t'], responder: Responder): void {
    this.responders.set(t, responder);
  }

  /**
   * Scripts the answer to calls of the bus's own `method` (other calls keep their responder):
   * `answer` returns the output, or throws `{ code, msg }` for an error reply. `before` frames (a
   * NameAcquired, say) are sent ahead of the reply, as chorusd does for the signals a request causes.
   */
  answerBus(
    method: string,
    answer: (input: unknown, daemon: FakeDaemon<Transport>) => unknown,
    before?: (input: unknown, daemon: FakeDaemon<Transport>) => void,
  ): void {
    const previous = this.responders.get('call') ?? defaultResponder;
    this.respond('call', (received, daemon) => {
      const { message, payload } = received;
      if (message.t !== 'call' || message.dest !== BUS_NAME || message.m !== method) {
        return previous(received, daemon);
      }
      const input = payload.byteLength === 0 ? undefined : decodePayload(payload);
      let output: unknown;
      try {
        output = answer(input, daemon);
      } catch (error) {
        const { code, msg } = error as { code: string; msg: string };
        return [{ t: 'err', s: message.s, code, msg }];
      }
      before?.(input, daemon);
      return [{ message: { t: 'ok', s: message.s }, payload: encodePayload(output) }];
    });
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
      return [{ t: 'ok', s: message.s, r: { startSeq: daemon.seq + 1, startGroupSeq: 1 } }];
    case 'emit':
      daemon.seq++;
      // A publish is answered only when it fails.
      if (message.q === true) return [];
      return [{ t: 'ok', s: message.s, r: { seq: daemon.seq, gseq: daemon.seq, n: 1 } }];
    case 'monitor':
      return [{ t: 'ok', s: message.s, r: { startSeq: daemon.seq + 1 } }];
    case 'call':
      // No routing and no bus methods here: a test scripts the answers it needs (respond, answerBus).
      return [
        {
          t: 'err',
          s: message.s,
          code: 'SERVICE_UNKNOWN',
          msg: `the fake daemon routes no calls (${message.dest}.${message.m}); script the answer`,
        },
      ];
    case 'ret':
    case 'fail':
    case 'cancel':
      // Nothing to answer: these settle a call, and the fake routes none.
      return undefined;
    default:
      return [{ t: 'ok', s: message.s, r: {} }];
  }
};

/**
 * Scripts GetGroupSchema as chorusd answers it: the schema a group was created with, here by this
 * connection's own `create` (`{ schema: null }` for any other group, as for one created untyped).
 * Every typed join and call asks it first (compat/contract-check.ts); tests of something else
 * script it so that their typed joins go on. The check itself: compat/ and test/contract-compat.test.ts.
 */
export function answerSchemas(daemon: FakeDaemon<Transport>): void {
  daemon.answerBus('GetGroupSchema', (input, d) => {
    const group = (input as { group?: unknown } | undefined)?.group;
    const created = d
      .all('create')
      .map(({ message }) => message)
      .findLast((message) => message.t === 'create' && message.g === group);
    return { schema: (created as { schema?: unknown } | undefined)?.schema ?? null };
  });
}

/**
 * A bus connected to a fresh fake daemon over a memory pair. `setup` runs before the handshake.
 */
export async function connectToFake(
  options: ConnectOptions = {},
  setup?: (daemon: FakeDaemon) => void,
): Promise<{ bus: Bus; daemon: FakeDaemon; client: MemoryTransport }> {
  const [client, server] = createMemoryTransportPair();
  const daemon = new FakeDaemon(server);
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
 * (numbering from 1 again, as a restarted daemon would), after `setup` ran on it. While `down` is
 * set, dials reject with it instead, as with a daemon that is not running.
 *
 * @example
 * ```ts
 * const dialer = new FakeDialer();
 * const bus = await connect({ address: 'unix:path=/fake', transport: dialer.transport, reconnect: { initialDelayMs: 1 } });
 * dialer.drop(); // the bus reconnects: dialer.daemons[1] is the new connection
 * ```
 */
export class FakeDialer {
  readonly daemons: FakeDaemon[] = [];
  down: Error | undefined;
  setup: ((daemon: FakeDaemon) => void) | undefined;
  /** How many times the bus dialed (failed dials included). */
  dials = 0;

  readonly transport = async (): Promise<Transport> => {
    this.dials++;
    if (this.down !== undefined) throw this.down;
    const [client, server] = createMemoryTransportPair();
    // Each connection gets a unique name of its own, as from one daemon.
    const daemon = new FakeDaemon(server, `:1.${7 + this.daemons.length}`);
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

/**
 * `connectToFake`, the fake daemon also answering GetGroupSchema as chorusd would
 * (`answerSchemas`), for tests whose typed joins and calls ask it first. `setup` runs before, so
 * its own `call` responder stays underneath.
 */
export function connectToFakeWithSchemas(
  ...[options, setup]: Parameters<typeof connectToFake>
): ReturnType<typeof connectToFake> {
  return connectToFake(options, (daemon) => {
    setup?.(daemon);
    answerSchemas(daemon);
  });
}
