/*
 * The real daemon in this process: chorusd's `Daemon` (built, as every e2e test uses it) with SDK
 * clients over in-memory transports. Every answer comes from the real engine; what each client
 * sends is recorded, so a test can check the frames the SDK sent and wait for one. No process and
 * no socket: these tests stay fast. Misbehaving peers (silence, bad frames, custom answers) are
 * the SDK's scripted FakeDaemon, in packages/client.
 */

import { Daemon, type DaemonOptions, type Session, type SessionSocket } from '@chorus/chorusd';
import {
  type Bus,
  type ConnectOptions,
  connect,
  createMemoryTransportPair,
  type MemoryTransport,
  type Transport,
} from '@chorus/client';
import { type ClientMessage, FrameDecoder, parseClientHeader } from '@chorus/protocol';
import { onTestFinished } from 'vitest';

/** A frame a client sent, with its payload. */
export interface Sent {
  readonly message: ClientMessage;
  readonly payload: Uint8Array;
}

/** The daemon's end of a memory pair, as the session's socket. */
class MemorySocket implements SessionSocket {
  readonly writableLength = 0;
  readonly #end: MemoryTransport;

  constructor(end: MemoryTransport) {
    this.#end = end;
  }

  write(chunk: Uint8Array): boolean {
    this.#end.write(chunk);
    return true;
  }

  cork(): void {}
  uncork(): void {}

  pause(): void {
    this.#end.pause();
  }

  resume(): void {
    this.#end.resume();
  }

  end(last?: Uint8Array): void {
    if (last !== undefined) this.#end.write(last);
    void this.#end.close();
  }

  destroy(): void {
    this.#end.destroy();
  }
}

/** One client connection, seen from the daemon's side: what the client sent, in order. */
export class Link {
  readonly received: Sent[] = [];
  readonly session: Session;
  /** The daemon's end of the memory pair. */
  readonly transport: MemoryTransport;
  /** Settles when the connection is gone (either side closed it). */
  readonly ended: Promise<void>;
  /** Runs after each frame reached the daemon, so a test can act on the bus right after it. */
  afterFrame: ((sent: Sent) => void) | undefined;
  readonly #taken = new Set<Sent>();
  #waiters: { t: string | undefined; resolve: (sent: Sent) => void }[] = [];

  constructor(daemon: Daemon, transport: MemoryTransport) {
    this.transport = transport;
    const session = daemon.accept(new MemorySocket(transport), 'unix');
    if (session === undefined) throw new Error('the daemon refused the connection');
    this.session = session;
    this.ended = this.#read();
  }

  /** The next frame of type `t` (or of any type) the client sent and no take() returned; waits for it. */
  take(t?: ClientMessage['t']): Promise<Sent> {
    const found = this.received.find((r) => !this.#taken.has(r) && (t === undefined || r.message.t === t));
    if (found !== undefined) {
      this.#taken.add(found);
      return Promise.resolve(found);
    }
    return new Promise((resolve) => this.#waiters.push({ t, resolve }));
  }

  /** Every frame of type `t` the client sent. */
  all(t: ClientMessage['t']): Sent[] {
    return this.received.filter((r) => r.message.t === t);
  }

  /** Cuts the connection as a crash would: the client reads EOF, the daemon forgets the session. */
  drop(): void {
    this.transport.destroy();
  }

  async #read(): Promise<void> {
    const frames: Sent[] = [];
    const decoder = new FrameDecoder({
      frame: (header, payload) =>
        frames.push({ message: parseClientHeader(header), payload: payload.slice() }),
      // The session reports bad frames to the client itself; the record just stops.
      error: () => undefined,
    });
    try {
      for await (const chunk of this.transport) {
        this.session.receive(chunk);
        decoder.push(chunk);
        for (const sent of frames.splice(0)) this.#record(sent);
      }
    } catch {
      // The client went away abruptly: the session closes as with a reset socket.
    }
    this.session.closed();
  }

  #record(sent: Sent): void {
    this.received.push(sent);
    const waiter = this.#waiters.findIndex((w) => w.t === undefined || w.t === sent.message.t);
    if (waiter >= 0) {
      this.#taken.add(sent);
      this.#waiters.splice(waiter, 1)[0]?.resolve(sent);
    }
    this.afterFrame?.(sent);
  }
}

/**
 * A real daemon in this process. Use {@link inProcessDaemon} in a test: it shuts the daemon down
 * (and closes the buses it connected) when the test ends.
 */
export class InProcessDaemon {
  readonly daemon: Daemon;
  readonly #buses: Bus[] = [];

  constructor(options: DaemonOptions = {}) {
    this.daemon = new Daemon(options);
  }

  /** A new connection: the client's end of a memory pair, and the daemon's side of it. */
  accept(): { client: MemoryTransport; link: Link } {
    const [client, server] = createMemoryTransportPair();
    return { client, link: new Link(this.daemon, server) };
  }

  /** A bus connected to this daemon (a given transport: it does not reconnect). */
  async connect(options: ConnectOptions = {}): Promise<{ bus: Bus; link: Link; client: MemoryTransport }> {
    const { client, link } = this.accept();
    const bus = await connect({ ...options, transport: client });
    this.#buses.push(bus);
    return { bus, link, client };
  }

  /** A transport factory for reconnection tests: each dial is a new connection to this daemon. */
  dialer(): InProcessDialer {
    return new InProcessDialer(this);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#buses.map((bus) => bus.close()));
    await this.daemon.shutdown();
  }
}

/**
 * Dials an in-process daemon: `drop()` cuts the latest connection (the bus reconnects), and while
 * `down` is set dials reject with it, as with a daemon that is not running.
 */
export class InProcessDialer {
  readonly links: Link[] = [];
  down: Error | undefined;
  /** How many times the bus dialed (failed dials included). */
  dials = 0;
  readonly #daemon: InProcessDaemon;

  constructor(daemon: InProcessDaemon) {
    this.#daemon = daemon;
  }

  readonly transport = async (): Promise<Transport> => {
    this.dials++;
    if (this.down !== undefined) throw this.down;
    const { client, link } = this.#daemon.accept();
    this.links.push(link);
    return client;
  };

  /** The daemon's side of the latest connection. */
  get current(): Link {
    const link = this.links.at(-1);
    if (link === undefined) throw new Error('nothing dialed yet');
    return link;
  }

  drop(): void {
    this.current.drop();
  }
}

/** A real daemon in this process for the current test, shut down when the test ends. */
export function inProcessDaemon(options: DaemonOptions = {}): InProcessDaemon {
  const daemon = new InProcessDaemon(options);
  onTestFinished(() => daemon.close());
  return daemon;
}
