/*
 * The protocol state of one connection, over a Transport and nothing else (no sockets, no timers):
 * handshake, serials and replies, the emit window, flow control and how the connection ends.
 * The typed API (contracts, subscriptions) lives in bus.ts on top of it.
 */

import {
  type AbortMessage,
  type CallRequest,
  type ClientMessage,
  type CloseRequest,
  type CreateRequest,
  DEFAULT_MAX_FRAME_BYTES,
  type EmitRequest,
  type ErrorReply,
  encodeEmitFrame,
  encodeEmitValueFrame,
  encodeFrame,
  type FailMessage,
  FRAME_PREFIX_BYTES,
  type FrameAllocator,
  FrameDecoder,
  type GroupClosedNotice,
  type Hello,
  type InvokeMessage,
  isProtocolError,
  type JoinRequest,
  type LeaveRequest,
  type MonitorRequest,
  type PingRequest,
  PROTOCOL_VERSION,
  ProtocolError,
  parseServerHeader,
  type Reply,
  type ReturnMessage,
  readEmitReplyHeader,
  type ServerMessage,
  type SignalMessage,
  type Welcome,
} from '@chorus/protocol';
import {
  BusError,
  type ChorusError,
  ConnectionClosedError,
  InvalidArgumentError,
  MessageTooLargeError,
  ProtocolViolationError,
  PublishError,
} from './errors.js';
import type { EmitResult } from './group.js';
import { Limiter } from './limiter.js';
import { type EmitHost, PendingEmit } from './pending-emit.js';
import { PendingRequests, type ReplyWithPayload } from './pending-requests.js';
import { PublishWindow } from './publish-window.js';
import type { CongestionLevel } from './subscription.js';
import type { Transport } from './transports/transport.js';

type WithoutSerial<T> = T extends unknown ? Omit<T, 's'> : never;

/** A request as the bus builds it; the connection adds the serial. */
export type RequestMessage = WithoutSerial<
  CreateRequest | JoinRequest | LeaveRequest | CloseRequest | EmitRequest | PingRequest | MonitorRequest
>;

/** A method call as the bus builds it; the connection adds the serial. */
export type CallMessage = WithoutSerial<CallRequest>;

/** A call that was sent: its serial (to cancel it) and its answer (`ok` with the output bytes). */
export interface SentCall {
  readonly serial: number;
  readonly reply: Promise<ReplyWithPayload>;
}

/** What the connection reports upwards. Called synchronously, in wire order. */
export interface ConnectionListener {
  /** The handshake succeeded; called before any later frame is handled. */
  welcome(message: Welcome): void;
  signal(message: SignalMessage, payload: Uint8Array): void;
  groupClosed(notice: GroupClosedNotice): void;
  /** A call for a service of this connection (the payload is the input). */
  invoke(message: InvokeMessage, payload: Uint8Array): void;
  /** A call this connection was invoked for no longer wants an answer. */
  abort(message: AbortMessage): void;
  /** A non-fatal error that answers no pending request (an `err` without serial, an unreadable frame). */
  error(error: ChorusError): void;
  /** The connection ended, once: `error` undefined after `close()`, else why it ended. */
  closed(error: ChorusError | undefined): void;
}

/** Limits of a connection. */
export interface ConnectionOptions {
  /** Emits awaiting their answer (count). */
  maxInFlight: number;
  maxInFlightBytes: number;
  /** Largest incoming frame (bytes). */
  maxIncomingFrameBytes: number;
}

type State = 'handshake' | 'open' | 'closing' | 'closed';

/** One connection to the daemon. */
export class Connection {
  readonly #transport: Transport;
  readonly #listener: ConnectionListener;
  readonly #decoder: FrameDecoder;
  readonly #pending = new PendingRequests();
  readonly #emits: Limiter;
  /** Publishes, in the same window as emits (publish-window.ts). */
  readonly #publishes: PublishWindow;
  readonly #allocate: FrameAllocator | undefined;
  #state: State = 'handshake';
  // Until the welcome tells the daemon's limit, assume the protocol's default.
  #maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  #welcome: { resolve: (welcome: Welcome) => void; reject: (error: unknown) => void } | undefined;
  readonly #full = new Set<object>();
  readonly #overfull = new Set<object>();
  #paused = false;
  #transportClosed: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(transport: Transport, listener: ConnectionListener, options: ConnectionOptions) {
    this.#transport = transport;
    this.#listener = listener;
    this.#emits = new Limiter(options.maxInFlight, options.maxInFlightBytes);
    // A checkpoint every quarter of the window: the next batch goes out while one is confirmed.
    this.#publishes = new PublishWindow(
      this.#emits,
      {
        write: (frame) => this.#transport.write(frame),
        ping: (entry) => {
          const serial = this.#pending.nextSerial();
          this.#send({ t: 'ping', s: serial });
          this.#pending.add(serial, entry);
          this.#updateFlow();
        },
      },
      options.maxInFlight / 4,
      options.maxInFlightBytes / 4,
    );
    this.#allocate = transport.allocate?.bind(transport);
    this.#decoder = new FrameDecoder(
      {
        frame: (header, payload) => this.#onFrame(header, payload),
        error: (error) => this.#fail(new ProtocolViolationError(error.code, error.message, { cause: error })),
      },
      { maxFrameBytes: options.maxIncomingFrameBytes },
    );
  }

  /** True once the connection ended (or is draining after `close()`): no new request is accepted. */
  get ended(): boolean {
    return this.#state === 'closing' || this.#state === 'closed';
  }

  /** The daemon's bound on header + payload of a frame (from `welcome.limits`). */
  get maxFrameBytes(): number {
    return this.#maxFrameBytes;
  }

  /** Sends `hello` and starts reading; resolves with the welcome, rejects if the handshake fails. */
  open(hello: Hello): Promise<Welcome> {
    const welcome = new Promise<Welcome>((resolve, reject) => {
      this.#welcome = { resolve, reject };
    });
    try {
      this.#send(hello);
    } catch (error) {
      this.#fail(error as ChorusError); // #send throws only ChorusErrors
      return welcome;
    }
    void this.#read();
    return welcome;
  }

  /** Sends a request; resolves with its `ok`, rejects with a BusError (`err`) or why the connection ended. */
  request(message: RequestMessage, payload?: Uint8Array): Promise<Reply> {
    if (this.#state !== 'open') return Promise.reject(this.#unavailable());
    const serial = this.#pending.nextSerial();
    try {
      this.#send({ ...message, s: serial } as ClientMessage, payload);
    } catch (error) {
      return Promise.reject(error);
    }
    const reply = this.#pending.register(serial);
    this.#updateFlow();
    return reply;
  }

  /**
   * Sends a method call; throws (having sent nothing) when the connection is not open or the frame
   * is too large. The answer settles with the `ok` and its payload, or the call's `err`.
   */
  call(message: CallMessage, payload: Uint8Array): SentCall {
    if (this.#state !== 'open') throw this.#unavailable();
    const serial = this.#pending.nextSerial();
    this.#send({ ...message, s: serial }, payload);
    const reply = this.#pending.registerWithPayload(serial);
    this.#updateFlow();
    return { serial, reply };
  }

  /**
   * Abandons the call `serial`: its answer rejects with `error` now, and unless `tell` is false the
   * daemon is told (`cancel`) so the service is aborted. A late answer is ignored. False if nothing
   * was pending.
   */
  cancel(serial: number, error: unknown, tell = true): boolean {
    if (!this.#pending.reject(serial, error)) return false;
    this.#updateFlow();
    if (tell && (this.#state === 'open' || this.#state === 'closing')) {
      try {
        this.#send({ t: 'cancel', id: serial });
      } catch {
        // A cancel always fits in a frame; nothing else can go wrong that the caller could act on.
      }
    }
    return true;
  }

  /**
   * Sends a message that expects no answer (a service's `ret` or `fail`). Returns false when the
   * connection is over (the answer has nowhere to go); throws MessageTooLargeError or
   * InvalidArgumentError, having sent nothing.
   */
  notify(message: ReturnMessage | FailMessage, payload?: Uint8Array): boolean {
    if (this.#state !== 'open' && this.#state !== 'closing') return false;
    if (this.#emits.waiting === 0) {
      this.#send(message, payload);
      return true;
    }
    // [GUARANTEE: order] an answer must not overtake the emits its handler made before it that
    // still wait for room (maxInFlight): it takes its turn in the same FIFO, then hands the slot on.
    const frame = this.#encode(message, payload);
    this.#emits.wait({
      bytes: 0,
      granted: () => {
        if (this.#state === 'open' || this.#state === 'closing') this.#transport.write(frame);
        return false;
      },
      // The connection ended first: the emits before it were not sent either.
      failed: () => undefined,
    });
    return true;
  }

  /**
   * Sends an emit of `value`, encoded as its payload straight into the frame, as soon as fewer
   * than `maxInFlight` emits await their answer: at once when there is room, else when answers
   * free it, in call order. Resolves with the daemon's answer. Throws, having sent nothing, only
   * the ProtocolError BAD_MSGPACK of a value that cannot be encoded, or what a transport's `write`
   * throws; any other failure rejects.
   */
  emit(group: string, signal: string, value: unknown): Promise<EmitResult> {
    const serial = this.#pending.nextSerial();
    let frame: Uint8Array;
    try {
      frame = encodeEmitValueFrame(serial, group, signal, value, this.#allocate);
    } catch (cause) {
      if (isProtocolError(cause)) throw cause;
      return Promise.reject(new InvalidArgumentError(`cannot encode 'emit': ${String(cause)}`, { cause }));
    }
    return this.#emitFrame(serial, frame);
  }

  /** Like `emit`, for a payload that is encoded already (an emit that waited for a reconnection). */
  emitPayload(group: string, signal: string, payload: Uint8Array): Promise<EmitResult> {
    const serial = this.#pending.nextSerial();
    let frame: Uint8Array;
    try {
      frame = encodeEmitFrame(serial, group, signal, payload, this.#allocate);
    } catch (cause) {
      return Promise.reject(new InvalidArgumentError(`cannot encode 'emit': ${String(cause)}`, { cause }));
    }
    return this.#emitFrame(serial, frame);
  }

  /**
   * Sends a publish of `value` (an emit the daemon answers only if it fails, with an `err` naming
   * its group and signal: the listener's `error`, a PublishError). Returns undefined when it was
   * written; a promise when the window is full (it resolves once the publish is written: await it
   * before the next). Throws, having sent nothing, when the connection is not open, the frame is
   * too large, or (ProtocolError BAD_MSGPACK) the value cannot be encoded.
   */
  publish(group: string, signal: string, value: unknown): Promise<void> | undefined {
    if (this.#state !== 'open') throw this.#unavailable();
    const serial = this.#pending.nextSerial();
    return this.#publishFrame(encodeEmitValueFrame(serial, group, signal, value, this.#allocate, true));
  }

  /** Like `publish`, for a payload that is encoded already (one that waited for a reconnection). */
  publishPayload(group: string, signal: string, payload: Uint8Array): Promise<void> | undefined {
    if (this.#state !== 'open') throw this.#unavailable();
    const serial = this.#pending.nextSerial();
    return this.#publishFrame(encodeEmitFrame(serial, group, signal, payload, this.#allocate, true));
  }

  /** Resolves once the daemon handled every request, emit and publish sent before it. */
  flush(): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(this.#unavailable());
    return this.#publishes.flush();
  }

  #publishFrame(frame: Uint8Array): Promise<void> | undefined {
    const size = frame.byteLength - FRAME_PREFIX_BYTES;
    if (size > this.#maxFrameBytes) throw new MessageTooLargeError(size, this.#maxFrameBytes);
    // A publish's serial is not registered: nothing waits for its answer (a failure names its
    // publish by group and signal), and serials wrap only after 2^32 requests.
    return this.#publishes.send(frame, frame.byteLength);
  }

  /**
   * A subscription's buffer level changed. Reading pauses while any buffer is at its bound, so the
   * daemon's queue for us fills and its flow control (block / reject / evict) takes over.
   */
  setCongestion(key: object, level: CongestionLevel): void {
    if (level >= 1) this.#full.add(key);
    else this.#full.delete(key);
    if (level === 2) this.#overfull.add(key);
    else this.#overfull.delete(key);
    this.#updateFlow();
  }

  /**
   * Ends the connection gracefully: emits still waiting for room reject; requests already sent get
   * their answers; then the transport closes. Resolves once it is closed.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#state === 'handshake') {
      this.#fail(new ConnectionClosedError('the connection was closed during the handshake'));
    }
    if (this.#state === 'open') {
      this.#state = 'closing';
      this.#updateFlow();
      this.#emits.fail(new ConnectionClosedError('the bus was closed before this emit was sent'));
      await this.#pending.whenIdle();
      this.#finish(undefined);
    }
    await this.#transportClosed;
  }

  /** Ends the connection at once with `error` (pending requests reject with it). */
  abort(error: ChorusError): Promise<void> {
    this.#fail(error);
    return this.#transportClosed ?? Promise.resolve();
  }

  // The hot path of an emit: the frame written by hand with the payload in it, one promise (the one
  // returned) and one object (the PendingEmit) that is both what awaits the answer and, while there
  // is no room, what waits in line. The slot is given back when the answer is handled, or at once
  // when nothing was sent.
  #emitFrame(serial: number, frame: Uint8Array): Promise<EmitResult> {
    const bytes = frame.byteLength;
    const size = bytes - FRAME_PREFIX_BYTES;
    if (this.#emits.tryAcquire(bytes)) {
      if (this.#state !== 'open') {
        this.#emits.release(bytes);
        return Promise.reject(this.#unavailable());
      }
      if (size > this.#maxFrameBytes) {
        this.#emits.release(bytes);
        return Promise.reject(new MessageTooLargeError(size, this.#maxFrameBytes));
      }
      const emit = new PendingEmit(this.#emitHost, serial, bytes, undefined);
      try {
        this.#transport.write(frame);
      } catch (error) {
        // A transport that throws instead of failing the connection: nothing went out.
        this.#emits.release(bytes);
        throw error;
      }
      this.#pending.add(serial, emit);
      this.#updateFlow();
      return emit.promise;
    }
    // No room, or the connection is ending (the limiter failed then; its error is the answer).
    const failure = this.#emits.failure;
    if (failure !== undefined) return Promise.reject(failure.error);
    // Publishes may hold the window: confirm them, so that it frees.
    this.#publishes.checkpoint();
    // maxFrameBytes is final once the connection is open (the only state emits can wait in).
    if (size > this.#maxFrameBytes)
      return Promise.reject(new MessageTooLargeError(size, this.#maxFrameBytes));
    // It keeps its frame (its own buffer, not the shared encoder's) until its turn. Its serial is
    // registered now, so no other request can be given it meanwhile, even after a wrap.
    const emit = new PendingEmit(this.#emitHost, serial, bytes, frame);
    this.#pending.add(serial, emit);
    this.#emits.wait(emit);
    this.#updateFlow();
    return emit.promise;
  }

  // What the emits of this connection need from it; one object for all of them.
  readonly #emitHost: EmitHost = {
    // Emits only wait while the connection is open: #close and #finish fail the limiter before
    // anything could grant a waiter, so a granted emit is always written while the connection is open.
    write: (frame) => this.#transport.write(frame),
    release: (bytes) => this.#emits.release(bytes),
    forget: (serial, error) => {
      if (this.#pending.reject(serial, error)) this.#updateFlow();
    },
  };

  /** Writes one frame; throws MessageTooLargeError or InvalidArgumentError, having sent nothing. */
  #send(message: ClientMessage, payload?: Uint8Array): void {
    this.#transport.write(this.#encode(message, payload));
  }

  /** Encodes one frame; throws MessageTooLargeError or InvalidArgumentError. */
  #encode(message: ClientMessage, payload?: Uint8Array): Uint8Array {
    let frame: Uint8Array;
    try {
      frame = encodeFrame(message, payload);
    } catch (cause) {
      // Only fields the app handed in can fail to encode (a token that is no string, ...).
      throw new InvalidArgumentError(`cannot encode '${message.t}': ${String(cause)}`, { cause });
    }
    const size = frame.byteLength - FRAME_PREFIX_BYTES;
    // Checked here rather than left to the daemon: it would answer FRAME_TOO_LARGE, which is fatal.
    if (size > this.#maxFrameBytes) throw new MessageTooLargeError(size, this.#maxFrameBytes);
    return frame;
  }

  async #read(): Promise<void> {
    try {
      for await (const chunk of this.#transport) {
        this.#decoder.push(chunk);
        if (this.#state === 'closed') return;
      }
      this.#fail(new ConnectionClosedError('the daemon closed the connection'));
    } catch (cause) {
      this.#fail(new ConnectionClosedError('the connection to the daemon was lost', { cause }));
    }
  }

  #onFrame(header: Uint8Array, payload: Uint8Array): void {
    if (this.#state === 'closed') return;
    // The answer to an emit, the frame an emitter reads most, is read by hand (exact layout only).
    let message: ServerMessage | undefined = readEmitReplyHeader(header);
    if (message === undefined) {
      try {
        message = parseServerHeader(header);
      } catch (error) {
        this.#onUnreadable(error);
        return;
      }
    }
    if (
      this.#state === 'handshake' &&
      message.t !== 'welcome' &&
      message.t !== 'err' &&
      message.t !== 'bye'
    ) {
      this.#fail(new ProtocolViolationError('UNEXPECTED_MESSAGE', `'${message.t}' before 'welcome'`));
      return;
    }
    switch (message.t) {
      case 'welcome':
        this.#onWelcome(message);
        return;
      case 'ok':
        // An unknown serial is ignored: nothing waits for it (a cancelled call), and it harms nothing.
        if (this.#pending.resolve(message.s, message, payload)) this.#updateFlow();
        return;
      case 'err':
        this.#onError(message);
        return;
      case 'sig':
        this.#listener.signal(message, payload);
        return;
      case 'gclosed':
        this.#listener.groupClosed(message);
        return;
      case 'invoke':
        this.#listener.invoke(message, payload);
        return;
      case 'abort':
        this.#listener.abort(message);
        return;
      case 'bye':
        this.#fail(
          new ConnectionClosedError(`the daemon closed the connection: ${message.reason}`, {
            reason: message.reason,
          }),
        );
        return;
    }
  }

  #onWelcome(message: Welcome): void {
    if (this.#state !== 'handshake') {
      this.#fail(new ProtocolViolationError('UNEXPECTED_MESSAGE', 'a second welcome'));
      return;
    }
    if (message.v !== PROTOCOL_VERSION) {
      this.#fail(
        new ProtocolViolationError(
          'VERSION_MISMATCH',
          `the daemon speaks v${message.v}, not v${PROTOCOL_VERSION}`,
        ),
      );
      return;
    }
    const max = message.limits.maxFrameBytes;
    if (Number.isInteger(max) && max > 0) this.#maxFrameBytes = max;
    this.#state = 'open';
    this.#listener.welcome(message);
    this.#welcome?.resolve(message);
    this.#welcome = undefined;
  }

  #onError(message: ErrorReply): void {
    if (message.sig !== undefined && message.g !== undefined && message.fatal !== true) {
      // [GUARANTEE: publish] a publish's failure, in wire order with everything else.
      const { code, msg, g, sig, data } = message;
      this.#listener.error(new PublishError(code, msg, g, sig, { data }));
      return;
    }
    const error = BusError.fromWire(message);
    // Before the welcome any err ends the attempt (VERSION_MISMATCH, a refused token, ...).
    if (this.#state === 'handshake' || error.fatal) {
      this.#fail(error);
      return;
    }
    if (message.s !== undefined && this.#pending.reject(message.s, error)) {
      this.#updateFlow();
      return;
    }
    this.#listener.error(error);
  }

  #onUnreadable(error: unknown): void {
    const code = error instanceof ProtocolError ? error.code : 'BAD_MSGPACK';
    const violation = new ProtocolViolationError(
      code,
      `unreadable message from the daemon: ${String(error)}`,
      {
        cause: error,
      },
    );
    if (this.#state === 'handshake' || (error instanceof ProtocolError && error.fatal)) {
      this.#fail(violation);
      return;
    }
    // The frame was well delimited, so the stream goes on; the request it answered, if its serial
    // could be read, fails rather than waiting forever.
    const serial = error instanceof ProtocolError ? error.serial : undefined;
    if (serial !== undefined && this.#pending.reject(serial, violation)) {
      this.#updateFlow();
      return;
    }
    this.#listener.error(violation);
  }

  #updateFlow(): void {
    if (this.#state === 'closed') return;
    // [why] While a reply is awaited, reading only pauses at twice a bound: the reply may sit behind
    // the signals that filled the buffer, and an app awaiting it inside its `for await` loop (say
    // `await group.emit(...)`) would otherwise wait forever. Twice the bound is still a bound.
    // While closing, never pause: the replies close() waits for must get through.
    const pause =
      this.#state !== 'closing' &&
      (this.#overfull.size > 0 || (this.#full.size > 0 && this.#pending.size === 0));
    if (pause === this.#paused) return;
    this.#paused = pause;
    if (pause) this.#transport.pause();
    else this.#transport.resume();
  }

  #unavailable(): ChorusError {
    return new ConnectionClosedError(
      this.#state === 'handshake' ? 'the handshake is not finished' : 'the bus connection is closed',
    );
  }

  #fail(error: ChorusError): void {
    this.#finish(error);
  }

  #finish(error: ChorusError | undefined): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    const reason = error ?? new ConnectionClosedError('the bus connection was closed');
    this.#pending.rejectAll(reason);
    this.#emits.fail(reason);
    this.#welcome?.reject(reason);
    this.#welcome = undefined;
    // Transport errors on close are of no interest any more: the connection is over either way.
    this.#transportClosed = this.#transport.close().catch(() => undefined);
    this.#listener.closed(error);
  }
}
