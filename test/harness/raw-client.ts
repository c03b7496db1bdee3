import { connect, type Socket } from 'node:net';
import {
  type ClientMessage,
  decodePayload,
  type ErrorReply,
  encodeFrame,
  encodePayload,
  FrameDecoder,
  parseServerHeader,
  type ServerMessage,
  type Welcome,
} from '@chorus/protocol';

/** One frame from the daemon, with its payload copied out of the read buffer. */
export interface Frame {
  readonly message: ServerMessage;
  readonly payload: Uint8Array;
}

/** A request; without a serial {@link RawClient.request} numbers it. */
export type Request = ClientMessage extends infer T
  ? T extends { s: number }
    ? Omit<T, 's'> & { s?: number }
    : never
  : never;

export interface RawClientOptions {
  /** Keep every frame in `received` (default true); off for long streams checked by `onFrame`. */
  record?: boolean;
}

/** Serials `request()` picks start high, so that hand-written frames (fuzzing) with small serials never collide. */
const FIRST_SERIAL = 3_000_000_000;

/**
 * A client that speaks the wire protocol by hand, for tests that send what the SDK never would
 * (garbage, wrong versions, silence, exact serials) and see exactly what the daemon answers. It
 * matches replies to requests by serial, hands every other frame to `onFrame` as it arrives (so a
 * hardening test can check an invariant after every message of a long stream) and keeps all of
 * them, in arrival order, in `received` unless told not to. Fixtures, plain JS, have the same
 * client in test/fixtures/raw-client.mjs.
 */
export class RawClient {
  readonly socket: Socket;
  /** The daemon's welcome, once the handshake succeeded. */
  welcome: Welcome | undefined;
  /** Every frame received (the welcome and replies included), in arrival order, when `record` is on. */
  readonly received: Frame[] = [];
  record: boolean;
  /** Called for each frame that is neither the welcome nor a reply to `request()`. */
  onFrame: (frame: Frame) => void = () => {};
  /** The `err` marked fatal, if the daemon sent one (or the client could not read the daemon's bytes). */
  fatal: ErrorReply | undefined;
  closed = false;
  readonly whenClosed: Promise<void>;
  #serial = FIRST_SERIAL;
  readonly #pending = new Map<number, ((frame: Frame) => void)[]>();
  /** The frames `unmatched` leaves out. */
  readonly #matched = new WeakSet<Frame>();
  readonly #waiters = new Set<() => void>();
  #onWelcome: (() => void) | undefined;

  private constructor(socket: Socket, options: RawClientOptions) {
    this.socket = socket;
    this.record = options.record ?? true;
    const decoder = new FrameDecoder(
      {
        frame: (header, payload) => {
          let message: ServerMessage;
          try {
            message = parseServerHeader(header);
          } catch (error) {
            // The daemon sent a frame its own codec refuses: as bad as a fatal error, for a test.
            this.fatal = { t: 'err', code: 'UNPARSEABLE_FRAME', msg: String(error), fatal: true };
            socket.destroy();
            return;
          }
          this.#frame({ message, payload: payload.slice() });
        },
        error: (error) => {
          this.fatal = { t: 'err', code: `CLIENT_${error.code}`, msg: error.message, fatal: true };
          socket.destroy();
        },
      },
      { maxFrameBytes: 64 * 1024 * 1024 },
    );
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
    this.whenClosed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        for (const [s, settles] of this.#pending) {
          for (const settle of settles) settle(closedReply(s));
        }
        this.#pending.clear();
        this.#onWelcome?.();
        this.#wake();
        resolve();
      }),
    );
  }

  /** Connects without saying hello. */
  static async connect(socketPath: string, options: RawClientOptions = {}): Promise<RawClient> {
    const socket = connect(socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket, options);
  }

  /** Connects and completes the handshake (`welcome` is then set); rejects if the daemon refuses. */
  static async open(
    socketPath: string,
    hello: Partial<Extract<ClientMessage, { t: 'hello' }>> = {},
    options: RawClientOptions = {},
  ): Promise<RawClient> {
    const client = await RawClient.connect(socketPath, options);
    const answered = new Promise<void>((resolve) => {
      client.#onWelcome = resolve;
    });
    client.send({ t: 'hello', v: 1, ...hello });
    await answered;
    if (client.welcome === undefined) {
      client.close();
      throw new Error(`hello refused: ${JSON.stringify(client.fatal ?? 'closed')}`);
    }
    return client;
  }

  /** The unique name `:1.N` from the welcome. */
  get name(): string {
    return this.welcome?.name ?? '';
  }

  /** `received` without the welcome and the replies to `request()`: what else the daemon sent. */
  get unmatched(): Frame[] {
    return this.received.filter((frame) => !this.#matched.has(frame));
  }

  send(message: ClientMessage, payload?: Uint8Array): void {
    this.socket.write(encodeFrame(message, payload));
  }

  /** Writes bytes as they are: broken frames, split frames. */
  sendBytes(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /**
   * Sends a request, with the next serial unless it has one; resolves with its `ok` or `err` (a
   * CONNECTION_CLOSED `err` if the connection closes first).
   */
  request(message: Request, payload?: Uint8Array): Promise<Frame> {
    const s = message.s ?? this.#serial++;
    if (this.closed) return Promise.resolve(closedReply(s));
    const reply = new Promise<Frame>((resolve) => {
      const settles = this.#pending.get(s);
      if (settles === undefined) this.#pending.set(s, [resolve]);
      else settles.push(resolve);
    });
    this.send({ ...message, s } as ClientMessage, payload);
    return reply;
  }

  /** Like request, but throws unless the answer is `ok`. */
  async ok(message: Request, payload?: Uint8Array): Promise<Frame> {
    const reply = await this.request(message, payload);
    if (reply.message.t !== 'ok') throw new Error(`${message.t} failed: ${JSON.stringify(reply.message)}`);
    return reply;
  }

  /** Calls a method of the bus itself (org.chorus.Bus) and decodes its output. */
  async bus<T = Record<string, unknown>>(method: string, input: object = {}): Promise<T> {
    const reply = await this.ok({ t: 'call', dest: 'org.chorus.Bus', m: method }, encodePayload(input));
    return decodePayload(reply.payload) as T;
  }

  /** A fence: resolves once everything the daemon queued to this connection before it is received. */
  async ping(): Promise<void> {
    await this.ok({ t: 'ping' });
  }

  /** Resolves with the first frame in `received` (from the start) matching `predicate`. */
  waitFor(predicate: (frame: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.received.find(predicate);
        if (found !== undefined) {
          this.#waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        }
        if (this.closed) {
          this.#waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`connection closed; received: ${this.#describe()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new Error(`timed out; received: ${this.#describe().slice(0, 2000)}`));
      }, timeoutMs);
      if (!check()) this.#waiters.add(check);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  #frame(frame: Frame): void {
    const { message } = frame;
    if (this.record) this.received.push(frame);
    if (message.t === 'welcome') {
      this.welcome = message;
      this.#matched.add(frame);
      this.#onWelcome?.();
    } else if (!this.#settle(frame)) {
      if (message.t === 'err' && message.fatal === true) {
        this.fatal = message;
        this.#onWelcome?.();
      }
      this.onFrame(frame);
    }
    this.#wake();
  }

  /** Hands a reply to the oldest `request()` waiting for its serial; false if none is. */
  #settle(frame: Frame): boolean {
    const { message } = frame;
    if ((message.t !== 'ok' && message.t !== 'err') || message.s === undefined) return false;
    const settles = this.#pending.get(message.s);
    const settle = settles?.shift();
    if (settle === undefined) return false;
    if (settles?.length === 0) this.#pending.delete(message.s);
    this.#matched.add(frame);
    settle(frame);
    return true;
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  #describe(): string {
    return JSON.stringify(this.received.map((frame) => frame.message));
  }
}

function closedReply(s: number): Frame {
  return {
    message: { t: 'err', s, code: 'CONNECTION_CLOSED', msg: 'the connection closed' },
    payload: new Uint8Array(0),
  };
}

/**
 * Emits `count` signals `{ i, pad? }` with at most `window` unanswered at once; resolves with the
 * replies in order (and fills `latencies`, ms per emit, when given).
 */
export async function emitMany(
  client: RawClient,
  group: string,
  count: number,
  options: { window?: number; first?: number; pad?: string; signal?: string; latencies?: number[] } = {},
): Promise<Frame[]> {
  const { window = 8, first = 0, pad, signal = 'Tick' } = options;
  const replies: Frame[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const k = next++;
      const sent = performance.now();
      replies[k] = await client.request(
        { t: 'emit', g: group, sig: signal },
        encodePayload(pad === undefined ? { i: first + k } : { i: first + k, pad }),
      );
      if (options.latencies !== undefined) options.latencies[k] = performance.now() - sent;
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
  return replies;
}

/** The `i` a test signal carries. */
export function tickOf(frame: Frame): number {
  return (decodePayload(frame.payload) as { i: number }).i;
}
