import { type CallRequest, ErrorCode } from '@chorus/protocol';
import type { CallParty } from './call-router.js';
import { nameCovers } from './policy.js';
import { RequestError } from './request-error.js';

/** What checking a call needs: the caller's policy, and who a destination reaches. */
export interface CallAccess {
  /** Throws NOT_PERMITTED unless the caller may `call` `name`. */
  require(name: string): void;
  /** The connection the destination reaches and that may answer (not a monitor), if any. */
  callee(dest: string): CallParty | undefined;
  /** The well-known names a connection is the primary owner of. */
  names(id: number): readonly string[];
}

/**
 * Checks a call against what it reaches, not only the name it was addressed by, and returns it
 * with the interface `g` the service must answer from (the SDK answers from no other contract).
 *
 * The interface I is the call's `g`, else a well-known destination, else (a unique name `:1.N`)
 * the one well-known name the destination connection D owns: with none or several, nothing says
 * which contract would answer, so the call is refused (BAD_FIELD on `g`). The caller needs `call`
 * on the destination if it is well-known, on I, and on every well-known name D owns that covers I
 * (I itself, or a name above it): a rule on a name holds whatever the call was addressed to.
 * Throws NOT_PERMITTED, or RequestError (SERVICE_UNKNOWN, BAD_FIELD).
 */
export function checkCall(message: CallRequest, access: CallAccess): CallRequest {
  // [GUARANTEE: access] a call is checked against the connection and interface it reaches.
  const unique = message.dest.startsWith(':');
  if (!unique) access.require(message.dest);
  if (message.g !== undefined) access.require(message.g);
  const callee = access.callee(message.dest);
  if (callee === undefined) {
    throw new RequestError(ErrorCode.SERVICE_UNKNOWN, `no connection owns the name '${message.dest}'`);
  }
  const names = access.names(callee.id);
  let iface = message.g ?? (unique ? undefined : message.dest);
  if (iface === undefined) {
    if (names.length !== 1) {
      const owns = names.length === 0 ? 'no well-known name' : 'several well-known names';
      throw new RequestError(
        ErrorCode.BAD_FIELD,
        `${message.dest} owns ${owns}: say which interface you call (g, as a typed call does), or call a well-known name`,
        { path: ['g'] },
      );
    }
    iface = names[0] as string;
    access.require(iface);
  }
  for (const name of names) if (nameCovers(name, iface)) access.require(name);
  return iface === message.g ? message : { ...message, g: iface };
}
