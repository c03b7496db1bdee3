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

/** A request without its serial: {@link Peer.request} numbers it. */
export type Request = ClientMessage extends infer T
  ? T extends { s: number }
    ? Omit<T, 's'>
    : never
  : never;

/** Serials of `request()` start high, so that hand-written frames (fuzzing) with small serials never collide. */
const FIRST_SERIAL = 3_000_000_000;

/**
 * A raw protocol connection for the hardening tests (fuzz, faults, load). Unlike RawClient it
 * matches replies to requests by serial in O(1) and hands every other frame to `onFrame` as it
 * arrives, so a test can check an invariant after every message of a long stream. It keeps a
 * record of those frames only when asked (`record`).
 */
export class Peer {
  readonly socket: Socket;
  /** The daemon's welcome, once the handshake succeeded (it is not in `frames`). */
  welcome: Welcome | undefined;
  /** Frames other than replies to `request()`, in arrival order, when `record` is on. */
  readonly frames: Frame[] = [];
  record: boolean;
  /** Called for each frame that is not a reply to `request()`. */
  onFrame: (frame: Frame) => void = () => {};
  /** The `err` marked fatal, if the daemon sent one. */
  fatal: ErrorReply | undefined;
  closed = false;
  readonly whenClosed: Promise<void>;
  #serial = FIRST_SERIAL;
  readonly #pending = new Map<number, (frame: Frame) => void>();
  #onWelcome: (() => void) | undefined;

  private constructor(socket: Socket, record: boolean) {
    this.socket = socket;
    this.record = record;
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
        const error: Frame = {
          message: { t: 'err', code: 'CONNECTION_CLOSED', msg: 'the connection closed' },
          payload: new Uint8Array(0),
        };
        for (const settle of this.#pending.values()) settle(error);
        this.#pending.clear();
        this.#onWelcome?.();
        resolve();
      }),
    );
  }

  /** Connects without saying hello. */
  static async connect(socketPath: string, options: { record?: boolean } = {}): Promise<Peer> {
    const socket = connect(socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new Peer(socket, options.record ?? false);
  }

  /** Connects and completes the handshake (`welcome` is then set); rejects if the daemon refuses. */
  static async open(
    socketPath: string,
    hello: Partial<Extract<ClientMessage, { t: 'hello' }>> = {},
    options: { record?: boolean } = {},
  ): Promise<Peer> {
    const peer = await Peer.connect(socketPath, options);
    const answered = new Promise<void>((resolve) => {
      peer.#onWelcome = resolve;
    });
    peer.send({ t: 'hello', v: 1, ...hello });
    await answered;
    if (peer.welcome === undefined) {
      peer.close();
      throw new Error(`hello refused: ${JSON.stringify(peer.fatal ?? 'closed')}`);
    }
    return peer;
  }

  /** The unique name `:1.N` from the welcome. */
  get name(): string {
    return this.welcome?.name ?? '';
  }

  send(message: ClientMessage, payload?: Uint8Array): void {
    this.socket.write(encodeFrame(message, payload));
  }

  /** Sends a request with the next serial; resolves with its `ok` or `err` (a CONNECTION_CLOSED `err` if it closes first). */
  request(message: Request, payload?: Uint8Array): Promise<Frame> {
    const s = this.#serial++;
    const reply = new Promise<Frame>((resolve) => this.#pending.set(s, resolve));
    if (this.closed)
      this.#pending.get(s)?.({
        message: { t: 'err', s, code: 'CONNECTION_CLOSED', msg: '' },
        payload: new Uint8Array(0),
      });
    else this.send({ ...message, s } as ClientMessage, payload);
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

  close(): void {
    this.socket.destroy();
  }

  #frame(frame: Frame): void {
    const { message } = frame;
    if (message.t === 'welcome') {
      // Not recorded: `frames` holds what came after the handshake.
      this.welcome = message;
      this.#onWelcome?.();
      return;
    }
    if ((message.t === 'ok' || message.t === 'err') && message.s !== undefined) {
      const settle = this.#pending.get(message.s);
      if (settle !== undefined) {
        this.#pending.delete(message.s);
        settle(frame);
        return;
      }
    }
    if (message.t === 'err' && message.fatal === true) {
      this.fatal = message;
      this.#onWelcome?.();
    }
    if (this.record) this.frames.push(frame);
    this.onFrame(frame);
  }
}

/**
 * Emits `count` signals `{ i, pad? }` with at most `window` unanswered at once; resolves with the
 * replies in order (and fills `latencies`, ms per emit, when given).
 */
export async function emitMany(
  peer: Peer,
  group: string,
  count: number,
  options: { window?: number; first?: number; pad?: string; signal?: string; latencies?: number[] } = {},
): Promise<Frame[]> {
  const { window = 8, first = 0, pad, signal = 'Tick', latencies } = options;
  const replies: Frame[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const k = next++;
      const sent = performance.now();
      replies[k] = await peer.request(
        { t: 'emit', g: group, sig: signal },
        encodePayload(pad === undefined ? { i: first + k } : { i: first + k, pad }),
      );
      if (latencies !== undefined) latencies[k] = performance.now() - sent;
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, worker));
  return replies;
}

/** The `i` a test signal carries. */
export function tickOf(frame: Frame): number {
  return (decodePayload(frame.payload) as { i: number }).i;
}
