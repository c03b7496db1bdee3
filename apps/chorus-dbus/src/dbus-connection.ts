/*
 * The one seam to the D-Bus library: open a connection to `session`, `system` or an address, and
 * the few bus-daemon calls the bridge makes (AddMatch, GetNameOwner, Introspect, GetAll, Get).
 */

import {
  DBusError,
  Message,
  type MessageBus,
  MessageType,
  sessionBus,
  systemBus,
} from '@jellybrick/dbus-next';

export type { MessageBus } from '@jellybrick/dbus-next';

/**
 * Connects to a D-Bus bus: `session` ($DBUS_SESSION_BUS_ADDRESS), `system` or an address like
 * `unix:path=/run/user/1000/bus`. Resolves once the bus has given us our unique name.
 */
export async function openDBus(bus: string): Promise<MessageBus> {
  const connection =
    bus === 'system' ? systemBus() : bus === 'session' ? sessionBus() : sessionBus({ busAddress: bus });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    connection.once('error' as 'connect', onError as () => void);
    connection.once('connect', () => {
      connection.off('error' as 'connect', onError as () => void);
      resolve();
    });
  });
  return connection;
}

/** A method call; D-Bus errors reject with DBusError (its `type` is the D-Bus error name). */
export async function callDBus(
  bus: MessageBus,
  call: {
    destination: string;
    path: string;
    iface: string;
    member: string;
    signature?: string;
    body?: unknown[];
  },
): Promise<unknown[]> {
  const reply = await bus.call(
    new Message({
      type: MessageType.METHOD_CALL,
      destination: call.destination,
      path: call.path,
      interface: call.iface,
      member: call.member,
      signature: call.signature ?? '',
      body: call.body ?? [],
    }),
  );
  if (reply === null) return [];
  if (reply.type === MessageType.ERROR) {
    throw new DBusError(reply.errorName, typeof reply.body[0] === 'string' ? reply.body[0] : '', reply);
  }
  return reply.body;
}

const DBUS = {
  destination: 'org.freedesktop.DBus',
  path: '/org/freedesktop/DBus',
  iface: 'org.freedesktop.DBus',
};

export async function addMatch(bus: MessageBus, rule: string): Promise<void> {
  await callDBus(bus, { ...DBUS, member: 'AddMatch', signature: 's', body: [rule] });
}

export async function removeMatch(bus: MessageBus, rule: string): Promise<void> {
  await callDBus(bus, { ...DBUS, member: 'RemoveMatch', signature: 's', body: [rule] });
}

/** The unique name owning `name`, or null when nobody does. */
export async function getNameOwner(bus: MessageBus, name: string): Promise<string | null> {
  try {
    const [owner] = await callDBus(bus, { ...DBUS, member: 'GetNameOwner', signature: 's', body: [name] });
    return owner as string;
  } catch (error) {
    if (error instanceof DBusError && error.type === 'org.freedesktop.DBus.Error.NameHasNoOwner') return null;
    throw error;
  }
}

export async function introspect(bus: MessageBus, destination: string, path: string): Promise<string> {
  const [xml] = await callDBus(bus, {
    destination,
    path,
    iface: 'org.freedesktop.DBus.Introspectable',
    member: 'Introspect',
  });
  return xml as string;
}

/** Properties.GetAll: the raw a{sv} (values are the library's Variants). */
export async function getAllProperties(
  bus: MessageBus,
  destination: string,
  path: string,
  iface: string,
): Promise<Record<string, unknown>> {
  const [props] = await callDBus(bus, {
    destination,
    path,
    iface: 'org.freedesktop.DBus.Properties',
    member: 'GetAll',
    signature: 's',
    body: [iface],
  });
  return props as Record<string, unknown>;
}

export async function getProperty(
  bus: MessageBus,
  destination: string,
  path: string,
  iface: string,
  name: string,
): Promise<unknown> {
  const [value] = await callDBus(bus, {
    destination,
    path,
    iface: 'org.freedesktop.DBus.Properties',
    member: 'Get',
    signature: 'ss',
    body: [iface, name],
  });
  return value;
}
