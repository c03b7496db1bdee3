/*
 * The one seam between the SDK and IO. The connection logic only sees this interface, so it runs
 * the same over a unix socket, a WebSocket or an in-process pair.
 */

/**
 * A byte stream to the daemon. Iterating it yields incoming chunks (frames may be split or
 * coalesced anyhow); iteration finishes at EOF and throws when the stream breaks.
 *
 * @example
 * ```ts
 * for await (const chunk of transport) decoder.push(chunk); // the whole read loop
 * ```
 */
export interface Transport extends AsyncIterable<Uint8Array> {
  /**
   * Sends bytes (whole frames). Writes after `close()` are dropped. There is no write-side
   * backpressure signal: the SDK bounds what it writes without an answer (`maxInFlight`).
   */
  write(bytes: Uint8Array): void;
  /**
   * Optional: makes the buffer of a frame that will be passed to `write`, in the kind of buffer
   * the transport writes best. Every byte of it gets written, so it need not be zeroed. Without
   * it, frames are plain Uint8Arrays.
   */
  allocate?(size: number): Uint8Array;
  /**
   * Stops yielding incoming chunks until `resume()`, and stops reading from the underlying stream,
   * so the peer's writes back up. An EOF or error the transport has already seen still comes
   * through while paused; one queued behind unread bytes shows only after `resume()` (a stream
   * cannot see its end without reading what precedes it).
   */
  pause(): void;
  /** Undoes `pause()`. */
  resume(): void;
  /** Flushes written bytes, then closes both directions; iteration finishes. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens a transport to an address, giving up when `signal` aborts (then it rejects with the
 * signal's reason). One per address kind; `connect()` picks it from the address.
 *
 * @example
 * ```ts
 * const unix: TransportOpener<UnixAddress> = (address, signal) => connectUnix(address.path, { signal });
 * ```
 */
export type TransportOpener<TAddress> = (address: TAddress, signal: AbortSignal) => Promise<Transport>;
