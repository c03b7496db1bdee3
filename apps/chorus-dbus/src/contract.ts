/*
 * From an introspected D-Bus interface to a Chorus contract: first a plain description (the
 * "shape": which Chorus signal and method stands for which D-Bus member, with which fields and
 * types), then zod schemas from it. The importer and the code generator read the same shape, so the
 * contract a generated module declares is the one the bridge creates.
 */

import { defineGroup, type GroupContract, type MethodSchemas, type SignalSchemas } from '@chorus/client';
import { z } from 'zod';
import type { InterfaceInfo } from './introspection.js';
import { BRIDGE_SIGNALS, IMPORTED_MARK, memberName } from './naming.js';
import { type DBusType, parseSingle } from './signature.js';
import { zodOf } from './types.js';

export interface Field {
  /** The key in the Chorus payload: the arg's name, else `arg<i>` (its position). */
  readonly key: string;
  readonly signature: string;
  readonly type: DBusType;
}

export interface SignalShape {
  readonly dbusName: string;
  readonly fields: readonly Field[];
}
export interface MethodShape {
  readonly dbusName: string;
  readonly input: readonly Field[];
  readonly output: readonly Field[];
}
export interface InterfaceShape {
  readonly iface: string;
  /** Chorus signal name → the D-Bus signal. */
  readonly signals: ReadonlyMap<string, SignalShape>;
  readonly methods: ReadonlyMap<string, MethodShape>;
  /** Readable properties, by name (they are Properties' and PropertiesChanged's fields). */
  readonly properties: readonly Field[];
  /** Members left out, with why (a file descriptor, a bad signature). */
  readonly skipped: readonly { member: string; reason: string }[];
}

function fieldsOf(args: readonly { name: string | undefined; type: string }[]): Field[] {
  const seen = new Set<string>();
  return args.map((arg, i) => {
    // Unnamed or repeated names take their position, so every arg has its own key.
    const key = arg.name !== undefined && arg.name !== '' && !seen.has(arg.name) ? arg.name : `arg${i}`;
    seen.add(key);
    return { key, signature: arg.type, type: checked(arg.type) };
  });
}

function checked(signature: string): DBusType {
  const type = parseSingle(signature);
  zodOf(type); // throws UNSUPPORTED_TYPE for a file descriptor anywhere inside
  return type;
}

/** The shape of an interface; members the bridge cannot carry are listed in `skipped`. */
export function shapeOf(info: InterfaceInfo): InterfaceShape {
  const signals = new Map<string, SignalShape>();
  const methods = new Map<string, MethodShape>();
  const properties: Field[] = [];
  const skipped: { member: string; reason: string }[] = [];
  const attempt = (member: string, add: () => void) => {
    try {
      add();
    } catch (error) {
      skipped.push({ member, reason: (error as Error).message });
    }
  };
  for (const signal of info.signals) {
    attempt(signal.name, () =>
      signals.set(memberName(signal.name), { dbusName: signal.name, fields: fieldsOf(signal.args) }),
    );
  }
  for (const method of info.methods) {
    attempt(method.name, () =>
      methods.set(method.name, {
        dbusName: method.name,
        input: fieldsOf(method.args.filter((a) => a.direction === 'in')),
        output: fieldsOf(method.args.filter((a) => a.direction === 'out')),
      }),
    );
  }
  for (const property of info.properties) {
    if (property.access === 'write') continue;
    attempt(property.name, () =>
      properties.push({ key: property.name, signature: property.type, type: checked(property.type) }),
    );
  }
  return { iface: info.name, signals, methods, properties, skipped };
}

function objectOf(fields: readonly Field[], optional = false): z.ZodObject {
  const entries = fields.map((f) => [f.key, optional ? zodOf(f.type).optional() : zodOf(f.type)] as const);
  return z.strictObject(Object.fromEntries(entries));
}

/** The zod schemas of the signals the bridge adds (see naming.ts BRIDGE_SIGNALS). */
export function bridgeSignalSchemas(shape: InterfaceShape): SignalSchemas {
  const out: Record<string, z.ZodType> = {
    [BRIDGE_SIGNALS.serviceOwner]: z.object({ owner: z.string().nullable() }).describe(IMPORTED_MARK),
  };
  if (shape.properties.length > 0) {
    // Optional: a service may fail to read one property and still answer GetAll with the rest.
    const props = objectOf(shape.properties, true);
    out[BRIDGE_SIGNALS.properties] = props;
    out[BRIDGE_SIGNALS.propertiesChanged] = z.object({ changed: props, invalidated: z.array(z.string()) });
  }
  return out;
}

/**
 * The Chorus contract of a D-Bus interface, named `group`.
 *
 * @example
 * const contract = contractOf('dbus.session.org.example._._.org.example.Thing', shapeOf(info));
 */
export function contractOf(
  group: string,
  shape: InterfaceShape,
): GroupContract<string, SignalSchemas, MethodSchemas> {
  const signals: Record<string, z.ZodType> = { ...bridgeSignalSchemas(shape) };
  for (const [name, signal] of shape.signals) signals[name] = objectOf(signal.fields);
  const methods: Record<string, { input: z.ZodType; output: z.ZodType }> = {};
  for (const [name, method] of shape.methods) {
    methods[name] = { input: objectOf(method.input), output: objectOf(method.output) };
  }
  return defineGroup(group, { signals, methods });
}
