/*
 * D-Bus introspection XML (org.freedesktop.DBus.Introspectable.Introspect) read into plain data:
 * text in, data out, no IO. The format is small and regular (node, interface, method, signal,
 * property, arg, annotation), so a tag scanner is enough; it does not accept arbitrary XML.
 */

import { BridgeError, BridgeErrorCode } from './errors.js';

/** The annotation on an interface a chorus-dbus exported (see exporter.ts): never imported back. */
export const EXPORTED_ANNOTATION = 'org.chorus.Bridge.Exported';

export interface Arg {
  readonly name: string | undefined;
  readonly type: string;
  readonly direction: 'in' | 'out';
}
export interface Method {
  readonly name: string;
  readonly args: readonly Arg[];
}
export interface Signal {
  readonly name: string;
  readonly args: readonly Arg[];
}
export interface Property {
  readonly name: string;
  readonly type: string;
  readonly access: 'read' | 'write' | 'readwrite';
  /** org.freedesktop.DBus.Property.EmitsChangedSignal: true, invalidates, const or false. */
  readonly emitsChanged: string;
}
export interface InterfaceInfo {
  readonly name: string;
  readonly methods: readonly Method[];
  readonly signals: readonly Signal[];
  readonly properties: readonly Property[];
  /** Carries org.chorus.Bridge.Exported: a chorus-dbus exported it from a Chorus group. */
  readonly exported?: true;
}
export interface NodeInfo {
  readonly interfaces: readonly InterfaceInfo[];
  /** Child node names, relative to this node's path. */
  readonly children: readonly string[];
}

/** The interfaces every D-Bus object has; the bridge does not re-serve them as groups. */
export const STANDARD_INTERFACES: ReadonlySet<string> = new Set([
  'org.freedesktop.DBus.Introspectable',
  'org.freedesktop.DBus.Peer',
  'org.freedesktop.DBus.Properties',
  'org.freedesktop.DBus.ObjectManager',
]);

interface Tag {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly closing: boolean;
  readonly selfClosing: boolean;
}

const TAG = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
const ATTR = /([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function* tags(xml: string): Generator<Tag> {
  let at = 0;
  while (at < xml.length) {
    const lt = xml.indexOf('<', at);
    if (lt === -1) return;
    if (xml.startsWith('<!--', lt)) {
      at = endOf(xml, '-->', lt);
      continue;
    }
    if (xml.startsWith('<?', lt)) {
      at = endOf(xml, '?>', lt);
      continue;
    }
    if (xml.startsWith('<!', lt)) {
      at = endOf(xml, '>', lt);
      continue;
    }
    TAG.lastIndex = lt;
    const match = TAG.exec(xml);
    if (match === null) throw bad(`a malformed tag at offset ${lt}`);
    const attrs: Record<string, string> = {};
    for (const a of (match[3] ?? '').matchAll(ATTR)) attrs[a[1] as string] = unescapeXml(a[2] ?? a[3] ?? '');
    yield { name: match[2] as string, attrs, closing: match[1] === '/', selfClosing: match[4] === '/' };
    at = TAG.lastIndex;
  }
}

function endOf(xml: string, end: string, from: number): number {
  const at = xml.indexOf(end, from);
  if (at === -1) throw bad(`'${xml.slice(from, from + 4)}' is never closed`);
  return at + end.length;
}

function unescapeXml(text: string): string {
  return text.replace(
    /&(lt|gt|amp|quot|apos);/g,
    (_m, e: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[e] ?? '',
  );
}

/**
 * Reads an introspection document.
 *
 * @example
 * parseIntrospection('<node><interface name="a.B"><method name="M"/></interface></node>').interfaces[0].name; // 'a.B'
 */
export function parseIntrospection(xml: string): NodeInfo {
  const interfaces: InterfaceInfo[] = [];
  const children: string[] = [];
  const stack: string[] = [];
  let iface:
    | { name: string; methods: Method[]; signals: Signal[]; properties: Property[]; exported?: true }
    | undefined;
  let member: { kind: 'method' | 'signal'; name: string; args: Arg[] } | undefined;
  let property: { name: string; type: string; access: Property['access']; emitsChanged: string } | undefined;
  let ifaceEmits = 'true';
  for (const tag of tags(xml)) {
    if (tag.closing) {
      if (stack.pop() !== tag.name) throw bad(`</${tag.name}> does not close the open element`);
      if (tag.name === 'interface' && iface !== undefined) {
        interfaces.push(iface);
        iface = undefined;
      } else if (tag.name === 'method' || tag.name === 'signal') {
        finishMember();
      } else if (tag.name === 'property') {
        finishProperty();
      }
      continue;
    }
    const depth = stack.length;
    switch (tag.name) {
      case 'node':
        // The document's own node, or a child (only its name matters here).
        if (depth === 1 && stack[0] === 'node') children.push(need(tag, 'name'));
        break;
      case 'interface':
        // A child node's interfaces belong to the child's own introspection: skip them here.
        if (depth !== 1) break;
        iface = { name: need(tag, 'name'), methods: [], signals: [], properties: [] };
        ifaceEmits = 'true';
        break;
      case 'method':
      case 'signal':
        member = { kind: tag.name, name: need(tag, 'name'), args: [] };
        break;
      case 'arg': {
        if (member === undefined) throw bad('an <arg> outside a method or signal');
        const direction = tag.attrs['direction'] ?? (member.kind === 'signal' ? 'out' : 'in');
        if (direction !== 'in' && direction !== 'out') throw bad(`arg direction '${direction}'`);
        member.args.push({ name: tag.attrs['name'], type: need(tag, 'type'), direction });
        break;
      }
      case 'property': {
        const access = need(tag, 'access');
        if (access !== 'read' && access !== 'write' && access !== 'readwrite')
          throw bad(`property access '${access}'`);
        property = { name: need(tag, 'name'), type: need(tag, 'type'), access, emitsChanged: ifaceEmits };
        break;
      }
      case 'annotation':
        if (tag.attrs['name'] === 'org.freedesktop.DBus.Property.EmitsChangedSignal') {
          const value = tag.attrs['value'] ?? 'true';
          if (property !== undefined) property.emitsChanged = value;
          else if (member === undefined) ifaceEmits = value;
        } else if (
          tag.attrs['name'] === EXPORTED_ANNOTATION &&
          iface !== undefined &&
          member === undefined &&
          property === undefined
        ) {
          iface.exported = true;
        }
        break;
      default:
        // Unknown elements (doc strings from some generators) are skipped with their content.
        break;
    }
    if (tag.selfClosing) {
      if (tag.name === 'interface' && iface !== undefined) {
        interfaces.push(iface);
        iface = undefined;
      } else if (tag.name === 'method' || tag.name === 'signal') finishMember();
      else if (tag.name === 'property') finishProperty();
    } else {
      stack.push(tag.name);
    }
  }
  if (stack.length > 0) throw bad(`<${stack.at(-1)}> is never closed`);
  return { interfaces, children };

  function finishMember(): void {
    if (member === undefined || iface === undefined) return;
    const { kind, ...rest } = member;
    (kind === 'method' ? iface.methods : iface.signals).push(rest);
    member = undefined;
  }
  function finishProperty(): void {
    if (property === undefined || iface === undefined) return;
    iface.properties.push(property);
    property = undefined;
  }
}

function need(tag: Tag, attr: string): string {
  const value = tag.attrs[attr];
  if (value === undefined) throw bad(`<${tag.name}> without its '${attr}' attribute`);
  return value;
}

function bad(why: string): BridgeError {
  return new BridgeError(BridgeErrorCode.BAD_INTROSPECTION, `introspection XML: ${why}`);
}
