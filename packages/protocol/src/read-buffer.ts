/*
 * The one buffer a Node transport reads every socket into (net's `onread`), shared by all the
 * connections of a process. Reading each chunk into fresh memory, as a socket does by default,
 * costs the reader more than the bytes: glibc hands freed reads back to the system, and the next
 * reads fault their pages in again (docs/PERFORMANCE.md › "The subscriber's reads": 0.5–1.7 µs of
 * system time per KiB read, 0.15 µs into a buffer that stays).
 *
 * A view of this buffer is valid until control returns to the event loop: the next read, of any
 * connection, overwrites it. Node drains the microtask queue after each read's callback, so
 * whatever the bytes are decoded into in that time is safe; what is kept longer (a raw payload
 * held for a listener that comes later, a reply) must be copied with `kept`, and the decoder
 * copies binary and extension values by itself when it reads from this buffer.
 *
 *   socket read ──► [ shared buffer ] ──► frames (views) ──► decoded values (bin: copies)
 *                         ▲ overwritten by the next read        └► held raw: kept() copies
 */

/** Bytes read at most per read: libuv's own default. */
export const READ_BUFFER_BYTES = 64 * 1024;

let shared: Uint8Array | undefined;

/** The process's read buffer, made on first use. */
export function sharedReadBuffer(): Uint8Array {
  shared ??= new Uint8Array(READ_BUFFER_BYTES);
  return shared;
}

/** Whether `bytes` is a view of the shared read buffer (valid only until the next read). */
export function isTransient(bytes: Uint8Array): boolean {
  return shared !== undefined && bytes.buffer === shared.buffer;
}

/**
 * `bytes`, or a copy of them when they are a view of the read buffer: what may be kept. An empty
 * view has nothing to overwrite (an emit's answer has no payload): it is kept as it is.
 */
export function kept(bytes: Uint8Array): Uint8Array {
  return bytes.byteLength > 0 && isTransient(bytes) ? new Uint8Array(bytes) : bytes;
}
