/*
 * WebSocket transport: one binary message per frame, as chorusd's WebSocket listener speaks. The
 * WebSocket class comes in as an option: the global one in browsers, the `ws` package's in Node
 * (Node 20 has no global WebSocket), a hand-written fake in tests. This file is loaded by the
 * browser entry, so it imports nothing from Node.
 */

import { ConnectionClosedError } from '../errors.js';
import { ChunkQueue } from './chunk-queue.js';
import type { Transport } from './transport.js';

/** What a WebSocket event may carry: `data` (message), `code`/`reason` (close), `error`/`message` (ws). */
export interface WebSocketEventLike {
  readonly type?: string;
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
  readonly error?: unknown;
  readonly message?: string;
}

/**
 * The part of the WHATWG `WebSocket` the transport uses. The `ws` package's WebSocket also has
 * `pause`/`resume` (stop reading the TCP socket, so the daemon's writes back up) and `terminate`;
 * a browser's has neither, and the transport then bounds what it holds unread instead.
 *
 * @example
 * ```ts
 * const socket: WebSocketLike = new WebSocket('ws://127.0.0.1:7733/?token=...');
 * ```
 */
export interface WebSocketLike {
  binaryType: string;
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Bytes passed to `send()` and not yet handed to the network. */
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(
    type: 'open' | 'message' | 'error' | 'close',
    listener: (event: WebSocketEventLike) => void,
  ): void;
  pause?(): void;
  resume?(): void;
  terminate?(): void;
}

/**
 * A WebSocket class: the browser's global `WebSocket`, or `WebSocket` from the `ws` package.
 *
 * @example
 * ```ts
 * import { WebSocket } from 'ws';
 * const ctor: WebSocketConstructor = WebSocket;
 * ```
 */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * Defaults of {@link WebSocketConnectOptions}.
 *
 * @example
 * ```ts
 * const transport = await connectWebSocket(url, { WebSocket, maxUnreadBytes: defaultWebSocketOptions.maxUnreadBytes * 2 });
 * ```
 */
export const defaultWebSocketOptions = {
  /**
   * Bytes received and not yet read (bytes). A browser cannot stop reading a WebSocket, so while the
   * SDK is paused messages pile up here; past this bound the transport fails (CONNECTION_CLOSED),
   * as the daemon would have evicted a consumer that stopped reading.
   */
  maxUnreadBytes: 16 * 1_048_576,
  /** After `close()`, how long to wait for the closing handshake before giving up on it (ms). */
  closeTimeoutMs: 2000,
} as const;

/**
 * Options of {@link connectWebSocket}.
 *
 * @example
 * ```ts
 * const options: WebSocketConnectOptions = { WebSocket: globalThis.WebSocket, token, signal: AbortSignal.timeout(2000) };
 * ```
 */
export interface WebSocketConnectOptions {
  /** The WebSocket class to use (the global one in browsers, `ws`'s in Node). */
  WebSocket: WebSocketConstructor;
  /**
   * The daemon's WebSocket token, sent as `?token=` in the URL: browsers cannot set an
   * `Authorization` header on a WebSocket.
   */
  token?: string | undefined;
  /** Gives up connecting; the promise rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** `arraybuffer` (default, what browsers support) or `nodebuffer` (`ws`: no copy). */
  binaryType?: string | undefined;
  /** See {@link defaultWebSocketOptions}. */
  maxUnreadBytes?: number | undefined;
  /** See {@link defaultWebSocketOptions}. */
  closeTimeoutMs?: number | undefined;
}

/**
 * A transport over a WebSocket.
 *
 * @example
 * ```ts
 * const transport = await connectWebSocket('ws://127.0.0.1:7733', { WebSocket, token });
 * if (transport.bufferedAmount > 1_048_576) console.warn('the network is behind');
 * ```
 */
export interface WebSocketTransport extends Transport {
  /** Bytes written and not yet handed to the network (the WebSocket's `bufferedAmount`). */
  readonly bufferedAmount: number;
  /** Bytes received and not yet read (bounded by `maxUnreadBytes`). */
  readonly unreadBytes: number;
}

const OPEN = 1;
const CLOSED = 3;

/**
 * Opens a WebSocket to chorusd and resolves once it is open. A refused upgrade (no or wrong token:
 * 401, a foreign page: 403) rejects with the WebSocket's error; `connect()` wraps it in a
 * ConnectError. The token never appears in an error message.
 *
 * @example
 * ```ts
 * const bus = await connect({
 *   address: 'ws://127.0.0.1:7733',
 *   transport: (address, signal) => connectWebSocket(address.url, { WebSocket, token, signal }),
 * });
 * ```
 */
export function connectWebSocket(url: string, options: WebSocketConnectOptions): Promise<WebSocketTransport> {
  const { signal } = options;
  return new Promise<WebSocketTransport>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    let transport: WebSocketTransportImpl;
    try {
      transport = new WebSocketTransportImpl(new options.WebSocket(withToken(url, options.token)), options);
    } catch (error) {
      reject(error); // a malformed URL (SyntaxError)
      return;
    }
    const onAbort = (): void => {
      void transport.close();
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    transport.opened.then(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(transport);
      },
      (error: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The URL with `token` set in its query (replacing one that is there). */
function withToken(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('token', token);
  return parsed.href;
}

class WebSocketTransportImpl implements WebSocketTransport {
  readonly #ws: WebSocketLike;
  readonly #incoming = new ChunkQueue();
  readonly #maxUnreadBytes: number;
  readonly #closeTimeoutMs: number;
  #unread = 0;
  #open = false;
  #settleOpen: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  #onClose: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  readonly opened: Promise<void>;

  constructor(ws: WebSocketLike, options: WebSocketConnectOptions) {
    this.#ws = ws;
    this.#maxUnreadBytes = options.maxUnreadBytes ?? defaultWebSocketOptions.maxUnreadBytes;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? defaultWebSocketOptions.closeTimeoutMs;
    this.opened = new Promise<void>((resolve, reject) => {
      this.#settleOpen = { resolve, reject };
    });
    ws.binaryType = options.binaryType ?? 'arraybuffer';
    // The listeners stay for the socket's whole life: `ws` throws on an 'error' nobody listens to.
    ws.addEventListener('open', () => {
      this.#open = true;
      this.#settleOpen?.resolve();
      this.#settleOpen = undefined;
    });
    ws.addEventListener('message', (event) => this.#onMessage(event.data));
    ws.addEventListener('error', (event) => this.#onError(event));
    ws.addEventListener('close', (event) => this.#onClosed(event));
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  get unreadBytes(): number {
    return this.#unread;
  }

  write(bytes: Uint8Array): void {
    if (this.#closing !== undefined || this.#ws.readyState !== OPEN) return;
    this.#ws.send(bytes);
  }

  pause(): void {
    this.#incoming.pause();
    this.#ws.pause?.();
  }

  resume(): void {
    this.#incoming.resume();
    this.#ws.resume?.();
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#incoming.close();
      this.#unread = 0;
      const ws = this.#ws;
      if (ws.readyState === CLOSED) {
        resolve();
        return;
      }
      // The closing handshake goes out after what send() queued, so written frames are flushed.
      // A peer that does not answer it (it stopped reading us) is not waited for forever.
      const timer = setTimeout(() => {
        ws.terminate?.();
        resolve();
      }, this.#closeTimeoutMs);
      this.#onClose = () => {
        clearTimeout(timer);
        resolve();
      };
      ws.resume?.(); // a paused `ws` socket would never read the peer's close frame
      ws.close(1000);
    });
    return this.#closing;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const inner = this.#incoming[Symbol.asyncIterator]();
    return {
      next: async () => {
        const result = await inner.next();
        if (result.done !== true) this.#unread -= result.value.byteLength;
        return result;
      },
      return: async () => {
        this.#unread = 0;
        return (await inner.return?.()) ?? { done: true, value: undefined };
      },
    };
  }

  #onMessage(data: unknown): void {
    if (!this.#open || this.#closing !== undefined) return;
    const bytes = asBytes(data);
    if (bytes === undefined) {
      this.#abandon(1003, 'the daemon sent a text message; the protocol uses binary messages only');
      return;
    }
    this.#unread += bytes.byteLength;
    this.#incoming.push(bytes);
    if (this.#unread > this.#maxUnreadBytes) {
      this.#abandon(
        1008,
        `fell behind: more than ${this.#maxUnreadBytes} bytes received and not read (a browser cannot pause a WebSocket)`,
      );
    }
  }

  /** Gives up on the socket: the reader's loop throws after what was read so far. */
  #abandon(code: number, message: string): void {
    this.#incoming.fail(new ConnectionClosedError(message));
    this.#ws.close(code);
  }

  #onError(event: WebSocketEventLike): void {
    const error = event.error instanceof Error ? event.error : new Error(event.message || 'WebSocket error');
    if (!this.#open) {
      this.#settleOpen?.reject(error);
      this.#settleOpen = undefined;
      return;
    }
    this.#incoming.fail(new ConnectionClosedError(`WebSocket error: ${error.message}`, { cause: error }));
  }

  #onClosed(event: WebSocketEventLike): void {
    const code = event.code ?? 1005;
    const why = `WebSocket closed (code ${code}${event.reason ? `: ${event.reason}` : ''})`;
    if (!this.#open) {
      this.#settleOpen?.reject(new Error(`${why} before it opened`));
      this.#settleOpen = undefined;
    } else if (code === 1000 || code === 1005) {
      this.#incoming.end(); // after the frames queued before it, such as the daemon's last `err`
    } else {
      this.#incoming.fail(new ConnectionClosedError(why));
    }
    this.#onClose?.();
  }
}

function asBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}
