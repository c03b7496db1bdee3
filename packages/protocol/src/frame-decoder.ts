import { DEFAULT_MAX_FRAME_BYTES, FRAME_PREFIX_BYTES } from './constants.js';
import { ErrorCode, ProtocolError } from './errors.js';
import { readU32 } from './msgpack-scan.js';

/** The prefix's first field, the header length: enough on its own to refuse a frame. */
const HEADER_LENGTH_BYTES = 4;

/**
 * Receives what a {@link FrameDecoder} finds in the byte stream.
 *
 * @example
 * ```ts
 * const handler: FrameHandler = {
 *   frame: (header, payload) => dispatch(parseClientHeader(header), payload),
 *   error: (error) => { send(error.toErrorReply()); socket.end(); },
 * };
 * ```
 */
export interface FrameHandler {
  /**
   * One complete frame. `header` and `payload` are views, either of a chunk given to `push`
   * or of a buffer the decoder never reuses, so they stay valid as long as the caller does not
   * modify the chunks it pushed. A view keeps its whole chunk alive: `slice()` a payload that is
   * kept for long (a retained value) so it does not pin a 64 KiB socket read.
   */
  frame(header: Uint8Array, payload: Uint8Array): void;
  /** A framing error (BAD_LENGTH or FRAME_TOO_LARGE, always fatal); called at most once. */
  error(error: ProtocolError): void;
}

/** Options of {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Bound on `headerLength + payloadLength` (bytes; integer >= 1). Default {@link DEFAULT_MAX_FRAME_BYTES}. */
  maxFrameBytes?: number;
}

/**
 * Incremental, sans-IO frame decoder: push chunks of a byte stream in, get `frame` calls out.
 * A frame contained in one chunk is delivered as views of that chunk (no copy); a frame split
 * across chunks is assembled in a buffer of exactly its size, allocated once its prefix is read.
 *
 * On a framing error the handler's `error` is called once and every later byte is ignored: the
 * stream has lost its frame boundaries, so nothing after it can be trusted. `push` itself never
 * throws; an exception thrown by the handler propagates to the caller of `push` and also stops
 * the decoder, since the rest of that chunk can then no longer be delivered in order. The handler
 * must not call `push` re-entrantly.
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder({ frame: onFrame, error: onError }, { maxFrameBytes: 65_536 });
 * for await (const chunk of socket) decoder.push(chunk);
 * ```
 */
export class FrameDecoder {
  readonly #handler: FrameHandler;
  readonly #maxFrameBytes: number;

  // Assembly state of the frame in progress, when it spans chunks:
  //   #prefixFill < 8             : reading the prefix into #prefix (#body undefined)
  //   #prefixFill = 8, #body set  : #bodyFill of #body.length bytes of header+payload received
  // Between frames both fills are 0 and #body is undefined.
  readonly #prefix = new Uint8Array(FRAME_PREFIX_BYTES);
  #prefixFill = 0;
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #headerLength = 0;
  #failed = false;

  constructor(handler: FrameHandler, options?: FrameDecoderOptions) {
    const maxFrameBytes = options?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) {
      throw new RangeError(`maxFrameBytes must be an integer >= 1, got ${maxFrameBytes}`);
    }
    this.#handler = handler;
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** True once a framing error was reported (or the handler threw); further input is ignored. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Bytes held waiting for the rest of a frame: at most {@link FRAME_PREFIX_BYTES} + maxFrameBytes - 1. */
  get bufferedBytes(): number {
    return this.#prefixFill + this.#bodyFill;
  }

  /** The bound on `headerLength + payloadLength` this decoder enforces (bytes). */
  get maxFrameBytes(): number {
    return this.#maxFrameBytes;
  }

  /** Consumes a chunk of the stream, calling the handler for every frame it completes. */
  push(input: Uint8Array): void {
    if (this.#failed) return;
    // [why] frames are handed out as plain Uint8Array views: a view of a Node Buffer is a Buffer,
    // several times dearer to make (two per frame, on every delivery), and its slice() does not
    // copy, so a caller that slices to stop pinning the chunk would still pin it.
    const chunk =
      input.constructor === Uint8Array
        ? input
        : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      const body = this.#body;
      if (body !== undefined) {
        // Continue a frame that spans chunks.
        const n = Math.min(body.length - this.#bodyFill, end - pos);
        body.set(chunk.subarray(pos, pos + n), this.#bodyFill);
        this.#bodyFill += n;
        pos += n;
        if (this.#bodyFill < body.length) return;
        const headerLength = this.#headerLength;
        this.#reset();
        this.#emit(body.subarray(0, headerLength), body.subarray(headerLength));
        continue;
      }

      let headerLength: number;
      let payloadLength: number;
      if (this.#prefixFill === 0 && end - pos >= FRAME_PREFIX_BYTES) {
        // Fast path: the whole prefix is in this chunk.
        headerLength = readU32(chunk, pos);
        payloadLength = readU32(chunk, pos + 4);
        pos += FRAME_PREFIX_BYTES;
      } else {
        const n = Math.min(FRAME_PREFIX_BYTES - this.#prefixFill, end - pos);
        this.#prefix.set(chunk.subarray(pos, pos + n), this.#prefixFill);
        this.#prefixFill += n;
        pos += n;
        if (this.#prefixFill < FRAME_PREFIX_BYTES) {
          // [GUARANTEE: memory] a header length alone too large is refused at once: a client
          // that sends only part of the prefix must not hold its connection until the hello deadline.
          if (this.#prefixFill >= HEADER_LENGTH_BYTES) this.#checkHeaderLength(readU32(this.#prefix, 0));
          return;
        }
        headerLength = readU32(this.#prefix, 0);
        payloadLength = readU32(this.#prefix, 4);
      }

      if (!this.#checkHeaderLength(headerLength)) return;
      const frameBytes = headerLength + payloadLength;
      // [GUARANTEE: memory] refused from the prefix alone, before any body byte is buffered.
      if (frameBytes > this.#maxFrameBytes) {
        this.#fail(
          new ProtocolError(
            ErrorCode.FRAME_TOO_LARGE,
            `frame of ${frameBytes} bytes (header ${headerLength} + payload ${payloadLength}) exceeds maxFrameBytes ${this.#maxFrameBytes}`,
          ),
        );
        return;
      }

      if (end - pos >= frameBytes) {
        // Fast path: the rest of the frame is in this chunk, deliver views of it.
        this.#prefixFill = 0;
        const headerEnd = pos + headerLength;
        pos = headerEnd + payloadLength;
        this.#emit(chunk.subarray(headerEnd - headerLength, headerEnd), chunk.subarray(headerEnd, pos));
        continue;
      }

      // The frame spans chunks: allocate its exact size now that the prefix has bounded it.
      const assembled = new Uint8Array(frameBytes);
      assembled.set(chunk.subarray(pos));
      this.#prefixFill = FRAME_PREFIX_BYTES;
      this.#body = assembled;
      this.#bodyFill = end - pos;
      this.#headerLength = headerLength;
      return;
    }
  }

  /** False (after reporting the error) when the header length alone makes the frame invalid. */
  #checkHeaderLength(headerLength: number): boolean {
    if (headerLength === 0) {
      this.#fail(new ProtocolError(ErrorCode.BAD_LENGTH, 'frame header length is 0'));
      return false;
    }
    if (headerLength > this.#maxFrameBytes) {
      this.#fail(
        new ProtocolError(
          ErrorCode.FRAME_TOO_LARGE,
          `frame header of ${headerLength} bytes exceeds maxFrameBytes ${this.#maxFrameBytes}`,
        ),
      );
      return false;
    }
    return true;
  }

  #emit(header: Uint8Array, payload: Uint8Array): void {
    try {
      this.#handler.frame(header, payload);
    } catch (error) {
      this.#failed = true;
      this.#reset();
      throw error;
    }
  }

  #fail(error: ProtocolError): void {
    this.#failed = true;
    this.#reset();
    this.#handler.error(error);
  }

  #reset(): void {
    this.#prefixFill = 0;
    this.#body = undefined;
    this.#bodyFill = 0;
    this.#headerLength = 0;
  }
}
