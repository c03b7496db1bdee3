/*
 * Export's type mapping: from the JSON Schema a Chorus group's creator published (getGroupSchema)
 * to a D-Bus interface (the "export shape": which D-Bus type each field travels as), the values
 * both ways, and the introspection XML D-Bus clients read. No IO.
 *
 *   signal payload / method input / method output (a JSON Schema object)
 *     → one D-Bus arg per required property, in the schema's order,
 *       then, if the object has optional properties, one last arg `optional` of type a{sv}
 *       holding those that are present
 *
 * Where JSON Schema does not fix one D-Bus type (a number could be d, i, u, x, …) the default is
 * documented in README.md ("Export type mapping") and an annotation in the config overrides it:
 * `types: { "signals.Seeked.position": "x", "methods.SetVolume.input.level": "u" }`.
 */

import { Variant } from '@jellybrick/dbus-next';
import { BridgeError, BridgeErrorCode } from './errors.js';
import { EXPORTED_ANNOTATION } from './introspection.js';
import { type DBusType, formatType, parseSingle } from './signature.js';
import { fromDBus, hasFd, INTEGER_RANGES, toDBus } from './types.js';

/** A value's D-Bus form: its type, and how to build it from the Chorus value. */
export interface Mapped {
  readonly type: DBusType;
  /** The schema allows null: the value travels as a variant, null as an empty `av`. */
  readonly nullable: boolean;
  /** A nested object sent as a{sv}: each key's own mapping (its variant's type). */
  readonly children?: ReadonlyMap<string, Mapped> | undefined;
  readonly element?: Mapped | undefined;
  readonly items?: readonly Mapped[] | undefined;
  readonly value?: Mapped | undefined;
}

export interface ExportArg {
  readonly key: string;
  readonly mapped: Mapped;
}

/** A payload's D-Bus args: the required properties, then `optional` (a{sv}) if there are others. */
export interface ArgList {
  readonly args: readonly ExportArg[];
  /** The optional properties (the last arg, a{sv}); undefined when there are none. */
  readonly optional: ReadonlyMap<string, Mapped> | undefined;
  /** The payload is not an object: one arg, `value`. */
  readonly bare: boolean;
  readonly signature: string;
}

export interface ExportShape {
  readonly signals: ReadonlyMap<string, ArgList>;
  readonly methods: ReadonlyMap<string, { readonly input: ArgList; readonly output: ArgList }>;
  /** Members left out, with why (a name D-Bus does not allow, an annotation that does not parse). */
  readonly skipped: readonly { member: string; reason: string }[];
}

type Schema = Record<string, unknown>;
/** Annotation key (`signals.X.field`, `methods.M.input.field`) → D-Bus signature. */
export type TypeAnnotations = Readonly<Record<string, string>>;

const MEMBER = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
const OPTIONAL_ARG = 'optional';
const basic = (code: 'b' | 'd' | 's' | 'i' | 'x'): DBusType => ({ kind: 'basic', code });
const VARIANT: DBusType = { kind: 'variant' };

/**
 * The D-Bus shape of a published contract schema (the `{ signals, methods }` object that
 * contractJsonSchema makes). Members whose names D-Bus does not allow are skipped.
 *
 * @example
 * exportShapeOf(await bus.getGroupSchema('org.example.Player'), { 'signals.Seeked.position': 'x' });
 */
export function exportShapeOf(schema: unknown, types: TypeAnnotations = {}): ExportShape {
  const root = asSchema(schema);
  const signals = new Map<string, ArgList>();
  const methods = new Map<string, { input: ArgList; output: ArgList }>();
  const skipped: { member: string; reason: string }[] = [];
  const used = new Set<string>();
  const attempt = (member: string, add: () => void) => {
    if (!MEMBER.test(member)) {
      skipped.push({ member, reason: 'not a D-Bus member name (letters, digits, _)' });
      return;
    }
    try {
      add();
    } catch (error) {
      skipped.push({ member, reason: (error as Error).message });
    }
  };
  for (const [name, payload] of Object.entries(propertiesOf(asSchema(propertiesOf(root)['signals'])))) {
    attempt(name, () => signals.set(name, argList(asSchema(payload), `signals.${name}`, types, used)));
  }
  for (const [name, pair] of Object.entries(propertiesOf(asSchema(propertiesOf(root)['methods'])))) {
    const io = propertiesOf(asSchema(pair));
    attempt(name, () =>
      methods.set(name, {
        input: argList(asSchema(io['input']), `methods.${name}.input`, types, used),
        output: argList(asSchema(io['output']), `methods.${name}.output`, types, used),
      }),
    );
  }
  for (const key of Object.keys(types)) {
    if (!used.has(key)) skipped.push({ member: key, reason: 'a type annotation that names no field' });
  }
  return { signals, methods, skipped };
}

function argList(schema: Schema, at: string, types: TypeAnnotations, used: Set<string>): ArgList {
  if (schema['type'] !== 'object' || schema['properties'] === undefined) {
    if (schema['type'] === 'object' && schema['additionalProperties'] === undefined) {
      return { args: [], optional: undefined, bare: false, signature: '' };
    }
    const mapped = mapSchema(schema, at, types, used);
    return { args: [{ key: 'value', mapped }], optional: undefined, bare: true, signature: sig(mapped) };
  }
  const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as string[]) : []);
  const args: ExportArg[] = [];
  const optional = new Map<string, Mapped>();
  for (const [key, child] of Object.entries(propertiesOf(schema))) {
    const mapped = mapSchema(asSchema(child), `${at}.${key}`, types, used);
    if (required.has(key)) args.push({ key, mapped });
    else optional.set(key, mapped);
  }
  const signature = args.map((a) => sig(a.mapped)).join('') + (optional.size > 0 ? 'a{sv}' : '');
  return { args, optional: optional.size > 0 ? optional : undefined, bare: false, signature };
}

/** One schema node's D-Bus form; the annotation at `at`, if any, wins. */
function mapSchema(schema: Schema, at: string, types: TypeAnnotations, used: Set<string>): Mapped {
  const annotated = types[at];
  if (annotated !== undefined) {
    used.add(at);
    return fromAnnotation(annotated, at, schema);
  }
  const typeList = Array.isArray(schema['type']) ? (schema['type'] as string[]) : undefined;
  if (typeList !== undefined) {
    // ["string", "null"]: the value's type is not fixed; a variant, null as an empty av.
    const nullable = typeList.includes('null');
    return { type: VARIANT, nullable };
  }
  switch (schema['type']) {
    case 'boolean':
      return plain(basic('b'));
    case 'string':
      return plain(basic('s'));
    case 'number':
      return plain(basic('d'));
    case 'integer': {
      const [min, max] = INTEGER_RANGES.i;
      const lo = schema['minimum'];
      const hi = schema['maximum'];
      const fits = typeof lo === 'number' && typeof hi === 'number' && lo >= min && hi <= max;
      return plain(basic(fits ? 'i' : 'x'));
    }
    case 'array': {
      if (Array.isArray(schema['prefixItems'])) {
        const items = (schema['prefixItems'] as unknown[]).map((item, i) =>
          mapSchema(asSchema(item), `${at}.${i}`, types, used),
        );
        if (items.length > 0)
          return { ...plain({ kind: 'struct', fields: items.map((m) => m.type) }), items };
      }
      const element = mapSchema(asSchema(schema['items']), `${at}.items`, types, used);
      return { ...plain({ kind: 'array', element: element.type }), element };
    }
    case 'object': {
      if (schema['properties'] !== undefined) {
        const children = new Map<string, Mapped>();
        for (const [key, child] of Object.entries(propertiesOf(schema))) {
          children.set(key, mapSchema(asSchema(child), `${at}.${key}`, types, used));
        }
        return { ...plain({ kind: 'dict', key: 's', value: VARIANT }), children };
      }
      const extra = schema['additionalProperties'];
      if (typeof extra === 'object' && extra !== null) {
        const value = mapSchema(asSchema(extra), `${at}.values`, types, used);
        return { ...plain({ kind: 'dict', key: 's', value: value.type }), value };
      }
      return { ...plain({ kind: 'dict', key: 's', value: VARIANT }) };
    }
    case 'null':
      return { type: VARIANT, nullable: true };
    default:
      // anyOf, unknown, $ref: no one D-Bus type; the value chooses its own (README's variant rule).
      return plain(VARIANT);
  }
}

function plain(type: DBusType): Mapped {
  return { type, nullable: false };
}

function fromAnnotation(signature: string, at: string, schema: Schema): Mapped {
  let type: DBusType;
  try {
    type = parseSingle(signature);
  } catch (error) {
    throw new BridgeError(BridgeErrorCode.CONFIG_INVALID, `types.${at}: ${(error as Error).message}`);
  }
  if (hasFd(type)) {
    throw new BridgeError(BridgeErrorCode.UNSUPPORTED_TYPE, `types.${at}: 'h' cannot cross a Chorus bus`);
  }
  const nullable = Array.isArray(schema['type']) && (schema['type'] as string[]).includes('null');
  return { type, nullable: nullable && type.kind === 'variant' };
}

function sig(mapped: Mapped): string {
  return formatType(mapped.type);
}

function asSchema(value: unknown): Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Schema) : {};
}

function propertiesOf(schema: Schema): Record<string, unknown> {
  return asSchema(schema['properties']);
}

/** A Chorus payload as the D-Bus body of `list`; throws BAD_VALUE when a value does not fit. */
export function toBody(list: ArgList, payload: unknown): unknown[] {
  if (list.bare) return [toValue((list.args[0] as ExportArg).mapped, payload)];
  const record = (payload ?? {}) as Record<string, unknown>;
  const body = list.args.map((arg) => toValue(arg.mapped, record[arg.key]));
  if (list.optional !== undefined) body.push(bag(list.optional, record));
  return body;
}

/** A D-Bus body of `list` as the Chorus payload (Chorus validates it against the contract). */
export function fromBody(list: ArgList, body: readonly unknown[]): unknown {
  if (list.bare) return fromValue((list.args[0] as ExportArg).mapped, body[0]);
  const out: Record<string, unknown> = {};
  list.args.forEach((arg, i) => {
    out[arg.key] = fromValue(arg.mapped, body[i]);
  });
  if (list.optional !== undefined) {
    const extra = fromDBus({ kind: 'dict', key: 's', value: VARIANT }, body[list.args.length] ?? {});
    for (const [key, value] of Object.entries(extra as Record<string, unknown>)) {
      const mapped = list.optional.get(key);
      out[key] = mapped === undefined ? value : nullFix(mapped, value);
    }
  }
  return out;
}

function bag(
  children: ReadonlyMap<string, Mapped>,
  record: Record<string, unknown>,
): Record<string, Variant> {
  const out: Record<string, Variant> = {};
  for (const [key, value] of Object.entries(record)) {
    const mapped = children.get(key);
    if (value === undefined || mapped === undefined) continue;
    const converted = toValue(mapped, value);
    out[key] = converted instanceof Variant ? converted : new Variant(sig(mapped), converted);
  }
  return out;
}

function toValue(mapped: Mapped, value: unknown): unknown {
  if (value === null && mapped.nullable) return new Variant('av', []);
  if (mapped.children !== undefined) {
    if (typeof value !== 'object' || value === null) return toDBus(mapped.type, value); // BAD_VALUE
    return bag(mapped.children, value as Record<string, unknown>);
  }
  const { element, items, value: dictValue } = mapped;
  if (element !== undefined && Array.isArray(value)) return value.map((v) => toValue(element, v));
  if (items !== undefined && Array.isArray(value) && value.length === items.length) {
    return items.map((m, i) => toValue(m, value[i]));
  }
  if (dictValue !== undefined && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toValue(dictValue, v)]));
  }
  return toDBus(mapped.type, value);
}

function fromValue(mapped: Mapped, value: unknown): unknown {
  return nullFix(mapped, fromDBus(mapped.type, value));
}

function nullFix(mapped: Mapped, value: unknown): unknown {
  return mapped.nullable && Array.isArray(value) && value.length === 0 ? null : value;
}

/**
 * The introspection XML of an exported object: its interface, the standard ones, and the child
 * nodes below it (so `busctl tree` and `gdbus introspect --recurse` find it from `/`).
 */
export function introspectionXml(
  interfaces: readonly { readonly name: string; readonly shape: ExportShape }[],
  children: readonly string[],
): string {
  const lines = [
    '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"',
    ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">',
    '<node>',
    '  <interface name="org.freedesktop.DBus.Introspectable">',
    '    <method name="Introspect"><arg name="xml" type="s" direction="out"/></method>',
    '  </interface>',
    '  <interface name="org.freedesktop.DBus.Peer">',
    '    <method name="Ping"/>',
    '    <method name="GetMachineId"><arg name="machine_uuid" type="s" direction="out"/></method>',
    '  </interface>',
  ];
  for (const { name: iface, shape } of interfaces) {
    lines.push(`  <interface name="${iface}">`);
    lines.push(`    <annotation name="${EXPORTED_ANNOTATION}" value="true"/>`);
    for (const [name, m] of shape.methods) {
      lines.push(`    <method name="${name}">`);
      for (const arg of argXml(m.input)) lines.push(`      ${arg.replace('/>', ' direction="in"/>')}`);
      for (const arg of argXml(m.output)) lines.push(`      ${arg.replace('/>', ' direction="out"/>')}`);
      lines.push('    </method>');
    }
    for (const [name, s] of shape.signals) {
      lines.push(`    <signal name="${name}">`);
      for (const arg of argXml(s)) lines.push(`      ${arg}`);
      lines.push('    </signal>');
    }
    lines.push('  </interface>');
  }
  for (const child of children) lines.push(`  <node name="${child}"/>`);
  lines.push('</node>', '');
  return lines.join('\n');
}

function argXml(list: ArgList): string[] {
  const out = list.args.map((a) => `<arg name="${escapeXml(a.key)}" type="${sig(a.mapped)}"/>`);
  if (list.optional !== undefined) out.push(`<arg name="${OPTIONAL_ARG}" type="a{sv}"/>`);
  return out;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
