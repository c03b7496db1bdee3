/*
 * @chorus/dbus: the D-Bus bridge as a library (the chorus-dbus command is main.ts).
 */

export type { BridgeErrorCode as BridgeErrorCodeType } from './errors.js';
export { BridgeError, BridgeErrorCode } from './errors.js';
export type { InterfaceInfo, NodeInfo } from './introspection.js';
export { parseIntrospection } from './introspection.js';
export { BRIDGE_SIGNALS, groupName, memberName, parseGroupName } from './naming.js';
export type { DBusType } from './signature.js';
export { formatType, parseSignature, parseSingle } from './signature.js';
export { fromDBus, toDBus, zodOf } from './types.js';
