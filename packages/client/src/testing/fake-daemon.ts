/*
 * A fake daemon that speaks just enough protocol for the SDK's unit tests (not a test file: it is
 * excluded from the build, see tsconfig.json). It answers by default like chorusd would, and lets a
 * test take over any answer.
 */

import {
  type ClientMessage,
  DEFAULT_MAX_FRAME_BYTES,
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

/** How the daemon answers one message: a list of frames to send, or undefined to stay silent. */
export type Responder = (received: Received, daemon: FakeDaemon<Transport>) => ServerMessage[] | undefined;

export class FakeDaemon<TTransport extends Transport = MemoryTransport> {
  readonly transport: TTransport;
  readonly received: Received[] = [];
  name = ':1.7';
  seq = 0;
  limits: Limits = { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES, maxQueueBytes: 8 * DEFAULT_MAX_FRAME_BYTES };
  /** Replaces the default answer for some message types. */
  readonly responders = new Map<string, Responder>();
  readonly #groupSeqs = new Map<string, number>();
  #taken = new Set<Received>();
  #waiters: { t: string | undefined; resolve: (received: Received) => void }[] = [];

  /** Settles when the client's side is closed (EOF or reset). */
  readonly ended: Promise<void>;

  constructor(transport: TTransport) {
    this.transport = transport;
    this.ended = this.#read();
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
    for (const message of responder(received, this) ?? []) this.send(message);
  }

  /** What chorusd would answer (without any group bookkeeping). */
  answer(received: Received): ServerMessage[] {
    return defaultResponder(received, this) ?? [];
  }
}

const defaultResponder: Responder = ({ message }, daemon) => {
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
      return [{ t: 'ok', s: message.s, r: { seq: daemon.seq, gseq: daemon.seq, n: 1 } }];
    default:
      return [{ t: 'ok', s: message.s, r: {} }];
  }
};

/** A bus connected to a fresh fake daemon over a memory pair. `setup` runs before the handshake. */
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
