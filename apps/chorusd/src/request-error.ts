import { isEngineError } from '@chorus/core';
import type { ErrorReply } from '@chorus/protocol';

/**
 * A request the daemon refuses: what the client is told in its `err` reply. Everything that
 * answers a request (a call, a bus method, the session itself) throws this or an engine error;
 * the session turns either into the reply in one place (`RequestError.from`), and anything else
 * into INTERNAL. A fatal error is no RequestError: it is a ProtocolError that closes the connection.
 */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  readonly code: string;
  /** Sent as `err.data` (for BAD_FIELD: `{ path }`). */
  readonly data: unknown;

  constructor(code: string, message: string, data?: unknown) {
    super(message);
    this.code = code;
    this.data = data;
  }

  /** `error` as a RequestError if it is one or an engine error; undefined for anything else (a bug). */
  static from(error: unknown): RequestError | undefined {
    if (error instanceof RequestError) return error;
    if (isEngineError(error)) return new RequestError(error.code, error.message);
    return undefined;
  }

  /**
   * The `err` reply to the request `serial` (to the connection when undefined); to a publish, it
   * names the publish's group and signal (`publish`).
   */
  toReply(serial: number | undefined, publish?: { readonly g: string; readonly sig: string }): ErrorReply {
    const { code, message: msg } = this;
    const reply: ErrorReply =
      serial === undefined ? { t: 'err', code, msg } : { t: 'err', s: serial, code, msg };
    if (this.data !== undefined) reply.data = this.data;
    if (publish !== undefined) {
      // [GUARANTEE: publish] a failed publish is reported, naming its group and signal.
      reply.g = publish.g;
      reply.sig = publish.sig;
    }
    return reply;
  }
}
