import { connect, type Socket } from 'node:net';
import {
  type ClientMessage,
  encodeFrame,
  FrameDecoder,
  type ProtocolError,
  parseServerHeader,
  type ServerMessage,
} from '@chorus/protocol';

export interface Received {
  readonly message: ServerMessage;
  readonly payload: Uint8Array;
}

/**
 * A client that speaks the wire protocol by hand: for tests that need to send what the SDK
 * never would (garbage, wrong versions, silence) and to see exactly what the daemon answers.
 */
export class RawClient {
  readonly socket: Socket;
  readonly received: Received[] = [];
  decodeError: ProtocolError | undefined;
  closed = false;
  readonly #waiters = new Set<() => void>();
  readonly #closedPromise: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    const decoder = new FrameDecoder(
      {
        frame: (header, payload) => {
          this.received.push({ message: parseServerHeader(header), payload: new Uint8Array(payload) });
          this.#wake();
        },
        error: (error) => {
          this.decodeError = error;
          this.#wake();
        },
      },
      { maxFrameBytes: 16 * 1024 * 1024 },
    );
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
    this.#closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        this.#wake();
        resolve();
      }),
    );
  }

  static async connect(socketPath: string): Promise<RawClient> {
    const socket = connect(socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Connects and completes the handshake. */
  static async hello(
    socketPath: string,
    hello: Partial<Extract<ClientMessage, { t: 'hello' }>> = {},
  ): Promise<RawClient> {
    const client = await RawClient.connect(socketPath);
    client.send({ t: 'hello', v: 1, ...hello });
    await client.waitFor((r) => r.message.t === 'welcome' || r.message.t === 'err');
    return client;
  }

  get name(): string {
    const welcome = this.received.find((r) => r.message.t === 'welcome')?.message;
    return welcome?.t === 'welcome' ? welcome.name : '';
  }

  send(message: ClientMessage, payload?: Uint8Array): void {
    this.socket.write(encodeFrame(message, payload));
  }

  sendBytes(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Sends a request and waits for its reply (`ok` or `err` with the same serial). */
  async request(message: ClientMessage & { s: number }, payload?: Uint8Array): Promise<ServerMessage> {
    this.send(message, payload);
    const reply = await this.waitFor(
      (r) => (r.message.t === 'ok' || r.message.t === 'err') && 's' in r.message && r.message.s === message.s,
    );
    return reply.message;
  }

  /** Resolves with the first received frame (from the start) matching `predicate`. */
  waitFor(predicate: (r: Received) => boolean, timeoutMs = 10_000): Promise<Received> {
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
          reject(
            new Error(`connection closed; received: ${JSON.stringify(this.received.map((r) => r.message))}`),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(
            `timed out; received: ${JSON.stringify(this.received.map((r) => r.message)).slice(0, 2000)}`,
          ),
        );
      }, timeoutMs);
      if (!check()) this.#waiters.add(check);
    });
  }

  waitClosed(): Promise<void> {
    return this.#closedPromise;
  }

  close(): void {
    this.socket.destroy();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}
