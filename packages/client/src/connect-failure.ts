import type { BusAddress } from './address.js';

/**
 * What to tell a user whose connection failed, in their words: which bus is missing and how to
 * start one, or what the daemon wants (a token, an allowed origin), rather than `connect ENOENT`
 * or `Unexpected server response: 401`.
 */
export function connectFailureMessage(
  text: string,
  address: BusAddress,
  cause: unknown,
  hadToken: boolean,
): string {
  const code = (cause as { code?: unknown } | undefined)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (address.kind === 'unix') {
    if (code === 'ENOENT' || code === 'ECONNREFUSED') {
      return (
        `no bus is running at ${text} (nothing listens on ${address.path}). Start one with 'npx chorusd' ` +
        `(or 'npm start' in the Chorus repository), or set CHORUS_BUS_ADDRESS to the address a running bus printed`
      );
    }
    if (code === 'EACCES' || code === 'EPERM') {
      return `cannot connect to ${text}: permission denied on ${address.path}; that socket belongs to another user (each user runs their own bus)`;
    }
    if (code === 'ENOTSOCK') return `cannot connect to ${text}: ${address.path} is not a socket`;
    return `cannot connect to ${text}: ${message}`;
  }
  // `ws` says "Unexpected server response: 401"; a browser says nothing more than 'error'.
  const status = /Unexpected server response: (\d{3})/.exec(message)?.[1];
  if (status === '401') {
    return hadToken
      ? `the bus at ${text} refused the token: pass the daemon's current token (kept in ws-token beside its socket, e.g. $XDG_RUNTIME_DIR/chorus/ws-token)`
      : `the bus at ${text} needs a token: pass connect({ token }) or set CHORUS_TOKEN; the daemon keeps it in ws-token beside its socket (e.g. $XDG_RUNTIME_DIR/chorus/ws-token)`;
  }
  if (status === '403') {
    return `the bus at ${text} refused this page's origin: start chorusd with --ws-allow-origin and this page's origin`;
  }
  if (status === '503')
    return `the bus at ${text} is at its connection limit for this token; close some connections and retry`;
  if (code === 'ECONNREFUSED') {
    return `no bus listens at ${text}: start chorusd, or check the port (a running daemon writes its WebSocket URL to ws-url beside its socket)`;
  }
  return `cannot connect to ${text}: ${message}`;
}
