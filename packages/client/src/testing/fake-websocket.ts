/*
 * A hand-written fake of the WHATWG WebSocket, for the WebSocket transport's unit tests (not a
 * test file: excluded from the build like the fake daemon). The test plays the network: it opens,
 * delivers messages, fails and closes the socket, and reads what the client sent.
 */

import { ChunkQueue } from '../transports/chunk-queue.js';
import type { Transport } from '../transports/transport.js';
import type { WebSocketConstructor, WebSocketEventLike, WebSocketLike } from '../transports/websocket.js';

type EventType = 'open' | 'message' | 'error' | 'close';

/** Behaviour of a fake socket. */
export interface FakeWebSocketOptions {
  /** Has `pause`/`resume`/`terminate` like the `ws` package (default: false, like a browser). */
  readonly pausable?: boolean;
  /** Answers `close()` with a close event, as a live peer would (default: true). */
  readonly answersClose?: boolean;
}

/** A fake WebSocket; the `network*` methods are the test's side. */
export class FakeWebSocket implements WebSocketLike {
  binaryType = 'blob';
  readyState = 0;
  bufferedAmount = 0;
  readonly url: string;
  /** Messages the client sent (copies). */
  readonly sent: Uint8Array[] = [];
  /** Arguments of each `close()` call. */
  readonly closeCalls: { code: number | undefined; reason: string | undefined }[] = [];
  /** `pause()` / `resume()` / `terminate()` calls, in order (only when pausable). */
  readonly flowCalls: string[] = [];
  readonly pause?: () => void;
  readonly resume?: () => void;
  readonly terminate?: () => void;
  readonly #listeners = new Map<EventType, ((event: WebSocketEventLike) => void)[]>();
  readonly #answersClose: boolean;

  constructor(url: string, options: FakeWebSocketOptions = {}) {
    this.url = url;
    this.#answersClose = options.answersClose ?? true;
    if (options.pausable === true) {
      this.pause = () => this.flowCalls.push('pause');
      this.resume = () => this.flowCalls.push('resume');
      this.terminate = () => {
        this.flowCalls.push('terminate');
        this.networkClose(1006);
      };
    }
  }

  addEventListener(type: EventType, listener: (event: WebSocketEventLike) => void): void {
    const list = this.#listeners.get(type) ?? [];
    list.push(listener);
    this.#listeners.set(type, list);
  }

  send(data: Uint8Array): void {
    // As the WHATWG WebSocket: send() before open throws; after close it is silently dropped.
    if (this.readyState === 0) throw new Error('InvalidStateError: still connecting');
    if (this.readyState !== 1) return;
    this.sent.push(data.slice());
  }

  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason });
    if (this.readyState >= 2) return;
    const wasConnecting = this.readyState === 0;
    this.readyState = 2;
    if (wasConnecting) {
      // A browser fails a connection closed while connecting: error, then close (1006).
      queueMicrotask(() => {
        this.networkError('closed before the connection was established');
        this.networkClose(1006);
      });
    } else if (this.#answersClose) {
      queueMicrotask(() => this.networkClose(code ?? 1005, reason ?? ''));
    }
  }

  /** The upgrade succeeded. */
  networkOpen(): void {
    this.readyState = 1;
    this.#dispatch('open', { type: 'open' });
  }

  /** A message arrives: bytes are delivered as an ArrayBuffer (binaryType 'arraybuffer'). */
  networkMessage(data: Uint8Array | ArrayBuffer | string): void {
    this.#dispatch('message', { type: 'message', data });
  }

  networkError(message = 'network error'): void {
    this.#dispatch('error', { type: 'error', message });
  }

  networkClose(code: number, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.#dispatch('close', { type: 'close', code, reason });
  }

  #dispatch(type: EventType, event: WebSocketEventLike): void {
    for (const listener of this.#listeners.get(type) ?? []) listener(event);
  }
}

/**
 * A fake WebSocket class and the sockets made with it.
 *
 * @example
 * const { WebSocket, sockets } = fakeWebSocketClass({ pausable: true });
 */
export function fakeWebSocketClass(options: FakeWebSocketOptions = {}): {
  WebSocket: WebSocketConstructor;
  sockets: FakeWebSocket[];
} {
  const sockets: FakeWebSocket[] = [];
  class Constructor extends FakeWebSocket {
    constructor(url: string) {
      super(url, options);
      sockets.push(this);
    }
  }
  return { WebSocket: Constructor, sockets };
}

/**
 * The daemon's end of a fake socket, as a Transport for a FakeDaemon: each `write` (one whole
 * frame) arrives as one message, as chorusd's WebSocket listener sends them.
 */
export function daemonEnd(socket: FakeWebSocket): Transport {
  const incoming = new ChunkQueue();
  const originalSend = socket.send.bind(socket);
  socket.send = (data: Uint8Array) => {
    originalSend(data);
    if (socket.readyState === 1) incoming.push(data.slice());
  };
  socket.addEventListener('close', () => incoming.end());
  return {
    write(bytes) {
      if (socket.readyState !== 1) return;
      const copy = bytes.slice();
      socket.networkMessage(copy.buffer);
    },
    pause() {},
    resume() {},
    async close() {
      socket.networkClose(1000);
    },
    [Symbol.asyncIterator]: () => incoming[Symbol.asyncIterator](),
  };
}
