/*
 * Every error the bridge raises itself, one class per kind, each with a stable code.
 * Errors that come from D-Bus or Chorus keep their own classes and codes.
 */

/** What went wrong, for callers and tests to match on (never the message text). */
export const BridgeErrorCode = {
  /** A D-Bus type signature that does not parse. */
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** A D-Bus type the bridge does not carry (`h`, file descriptors). */
  UNSUPPORTED_TYPE: 'UNSUPPORTED_TYPE',
  /** A value that does not fit the D-Bus type it must be sent as. */
  BAD_VALUE: 'BAD_VALUE',
  /** Introspection XML that cannot be read. */
  BAD_INTROSPECTION: 'BAD_INTROSPECTION',
  /** A (service, path, interface) whose group name would be longer than Chorus allows. */
  NAME_TOO_LONG: 'NAME_TOO_LONG',
  /** The config file or the flags. */
  CONFIG_INVALID: 'CONFIG_INVALID',
} as const;
export type BridgeErrorCode = (typeof BridgeErrorCode)[keyof typeof BridgeErrorCode];

export class BridgeError extends Error {
  override name = 'BridgeError';
  readonly code: BridgeErrorCode;
  constructor(code: BridgeErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}
