/*
 * The header parsers the package exports: each tries the fast reader of its side's hot-path
 * header first (fast/header-reader.ts: one exact byte layout, no MessagePack decoder), and leaves
 * every other header, and every header the reader is not sure of, to the reference parser
 * (reference/header-parser.ts). The fast readers answer exactly what the reference would.
 */

import { readEmitHeader, readSignalHeader } from './fast/header-reader.js';
import type { ClientMessage, ServerMessage } from './messages.js';
import { parseClientHeaderGeneric, parseServerHeaderGeneric } from './reference/header-parser.js';

/**
 * Decodes and validates the header of a frame a client sent. Every field of the message type is
 * checked; unknown extra keys are ignored and left out of the result. Throws only ProtocolError:
 * BAD_MSGPACK (not a well-formed MessagePack map), UNKNOWN_TYPE (`t` is not a client message
 * type), BAD_FIELD (a field is missing or of the wrong type; `data.path` says which). The error's
 * `serial` is set when the header holds a valid serial `s`, so the reply can name the request.
 *
 * @example
 * ```ts
 * const message = parseClientHeader(header);
 * if (message.t === 'emit') route(message.g, message.sig, payload);
 * ```
 */
export function parseClientHeader(header: Uint8Array): ClientMessage {
  // The daemon's hot path: an emit in the SDK's exact layout is read by hand.
  return readEmitHeader(header) ?? parseClientHeaderGeneric(header);
}

/**
 * Decodes and validates the header of a frame the daemon sent; the same rules and errors as
 * {@link parseClientHeader}, for daemon message types.
 *
 * @example
 * ```ts
 * const message = parseServerHeader(header);
 * if (message.t === 'sig') deliver(message, decodePayload(payload));
 * ```
 */
export function parseServerHeader(header: Uint8Array): ServerMessage {
  // The SDK's hot path: a sig in encodeSignalFrame's exact layout is read by hand.
  return readSignalHeader(header) ?? parseServerHeaderGeneric(header);
}
