/*
 * The naming rule: which Chorus group (and well-known name) stands for a D-Bus object's
 * interface, and which Chorus signal for a D-Bus signal. Deterministic (a function of the
 * D-Bus names and the prefix) and collision-free (it can be decoded back, see parseGroupName).
 *
 *   PREFIX . <service elements> . _ . <path elements> . _ . <interface elements>
 *
 *   dbus.system.org.freedesktop.UPower._.org.freedesktop.UPower.devices.DisplayDevice._.org.freedesktop.UPower.Device
 *
 * A lone `_` element separates the three parts. Group-name elements may not start with a digit
 * nor be empty, while D-Bus path elements may start with one and bus-name elements may be `_`;
 * so an element that starts with `_` or a digit gets one more `_` in front. A name longer than
 * Chorus's 255 characters is refused (NAME_TOO_LONG), never shortened: shortening could collide.
 */

import { BridgeError, BridgeErrorCode } from './errors.js';

export const MAX_GROUP_NAME_LENGTH = 255;
const SEPARATOR = '_';

/** The default group-name prefix for a bridge to the given D-Bus bus. */
export function defaultPrefix(bus: string): string {
  return bus === 'system' ? 'dbus.system' : 'dbus.session';
}

function escapeElement(element: string): string {
  return /^[_0-9]/.test(element) ? `_${element}` : element;
}

function unescapeElement(element: string): string {
  return element.startsWith('_') ? element.slice(1) : element;
}

/**
 * The Chorus group name of `iface` on object `path` of D-Bus service `service`.
 *
 * @example
 * groupName('dbus.system', 'org.freedesktop.UPower', '/org/freedesktop/UPower/devices/DisplayDevice', 'org.freedesktop.UPower.Device');
 * // 'dbus.system.org.freedesktop.UPower._.org.freedesktop.UPower.devices.DisplayDevice._.org.freedesktop.UPower.Device'
 */
export function groupName(prefix: string, service: string, path: string, iface: string): string {
  const elements = [
    ...service.split('.').map(escapeElement),
    SEPARATOR,
    ...path
      .split('/')
      .filter((e) => e !== '')
      .map(escapeElement),
    SEPARATOR,
    ...iface.split('.').map(escapeElement),
  ];
  const name = `${prefix}.${elements.join('.')}`;
  if (name.length > MAX_GROUP_NAME_LENGTH) {
    throw new BridgeError(
      BridgeErrorCode.NAME_TOO_LONG,
      `${service} ${path} ${iface} would be the Chorus group '${name.slice(0, 60)}…' (${name.length} characters, at most ${MAX_GROUP_NAME_LENGTH}): choose a shorter prefix or leave this object out`,
    );
  }
  return name;
}

/** The inverse of groupName, or undefined for a name that groupName with this prefix cannot give. */
export function parseGroupName(
  prefix: string,
  name: string,
): { service: string; path: string; iface: string } | undefined {
  if (!name.startsWith(`${prefix}.`)) return undefined;
  const elements = name.slice(prefix.length + 1).split('.');
  const first = elements.indexOf(SEPARATOR);
  const second = elements.indexOf(SEPARATOR, first + 1);
  if (first < 1 || second < 0 || second === elements.length - 1) return undefined;
  const part = (from: number, to: number) => elements.slice(from, to).map(unescapeElement);
  return {
    service: part(0, first).join('.'),
    path: `/${part(first + 1, second).join('/')}`,
    iface: part(second + 1, elements.length).join('.'),
  };
}

/**
 * The signals the bridge adds to every imported group. A D-Bus member with one of these names (or
 * one of the SDK's subscription events, or the escape prefix) is renamed by memberName.
 */
export const BRIDGE_SIGNALS = {
  /** The object's readable properties, all of them; retained. */
  properties: 'Properties',
  /** org.freedesktop.DBus.Properties.PropertiesChanged, typed, invalidated ones fetched again. */
  propertiesChanged: 'PropertiesChanged',
  /** The service's D-Bus owner (unique name) or null while it has none; retained. */
  serviceOwner: 'ServiceOwner',
} as const;

/**
 * The description of an imported group's ServiceOwner schema: it marks, in the schema the bridge
 * publishes, a group a chorus-dbus imported, so no bridge exports it back to D-Bus (the loop rule).
 */
export const IMPORTED_MARK = 'chorus-dbus import';

const ESCAPE = 'Signal_';
const RESERVED: ReadonlySet<string> = new Set([...Object.values(BRIDGE_SIGNALS), 'invalid', 'closed', 'gap']);

/**
 * The Chorus name of a D-Bus signal: itself, unless it is reserved or starts with `Signal_`, then
 * `Signal_` + itself (so two D-Bus signals never get the same Chorus name).
 *
 * @example
 * memberName('Changed'); // 'Changed'
 * memberName('PropertiesChanged'); // 'Signal_PropertiesChanged'
 */
export function memberName(dbusName: string): string {
  return RESERVED.has(dbusName) || dbusName.startsWith(ESCAPE) ? `${ESCAPE}${dbusName}` : dbusName;
}
