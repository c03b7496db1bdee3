import { describe, expect, it } from 'vitest';
import { BridgeErrorCode } from './errors.js';
import { parseIntrospection } from './introspection.js';

const UPOWER = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="GetAll"><arg type="s" name="interface_name" direction="in"/><arg type="a{sv}" name="properties" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.UPower.Device">
    <!-- a comment -->
    <method name="Refresh"/>
    <method name="GetHistory">
      <arg name="type" direction="in" type="s"/>
      <arg name="data" direction="out" type="a(udu)"/>
    </method>
    <signal name="Changed"><arg type="d"/><arg name="why" type="s"/></signal>
    <property name="Percentage" type="d" access="read"/>
    <property name="State" type="u" access="read">
      <annotation name="org.freedesktop.DBus.Property.EmitsChangedSignal" value="invalidates"/>
    </property>
    <property name="Secret" type="s" access="write"/>
  </interface>
  <node name="child1"/>
  <node name="child2"><interface name="x.Y"/></node>
</node>`;

describe('parseIntrospection', () => {
  it('reads interfaces, members, args, properties and child nodes', () => {
    const node = parseIntrospection(UPOWER);
    expect(node.children).toEqual(['child1', 'child2']);
    expect(node.interfaces.map((i) => i.name)).toEqual([
      'org.freedesktop.DBus.Properties',
      'org.freedesktop.UPower.Device',
    ]);
    const device = node.interfaces[1]!;
    expect(device.methods).toEqual([
      { name: 'Refresh', args: [] },
      {
        name: 'GetHistory',
        args: [
          { name: 'type', type: 's', direction: 'in' },
          { name: 'data', type: 'a(udu)', direction: 'out' },
        ],
      },
    ]);
    expect(device.signals).toEqual([
      {
        name: 'Changed',
        args: [
          { name: undefined, type: 'd', direction: 'out' },
          { name: 'why', type: 's', direction: 'out' },
        ],
      },
    ]);
    expect(device.properties).toEqual([
      { name: 'Percentage', type: 'd', access: 'read', emitsChanged: 'true' },
      { name: 'State', type: 'u', access: 'read', emitsChanged: 'invalidates' },
      { name: 'Secret', type: 's', access: 'write', emitsChanged: 'true' },
    ]);
  });
  it('unescapes attribute values', () => {
    const node = parseIntrospection(
      `<node><interface name="a.B"><method name="M"><arg name="&lt;x&gt;" type="s"/></method></interface></node>`,
    );
    expect(node.interfaces[0]!.methods[0]!.args[0]!.name).toBe('<x>');
  });
  it.each([
    ['<node><interface name="a.B"></node>', 'does not close'],
    ['<node><interface></interface></node>', "without its 'name'"],
    ['<node><interface name="a.B">', 'never closed'],
    ['<node><arg type="s"/></node>', 'outside a method'],
    [
      '<node><interface name="a.B"><property name="P" type="s" access="rw"/></interface></node>',
      "access 'rw'",
    ],
    ['<node <', 'malformed'],
  ])('refuses %s', (xml, why) => {
    expect(() => parseIntrospection(xml)).toThrow(
      expect.objectContaining({ code: BridgeErrorCode.BAD_INTROSPECTION }),
    );
    expect(() => parseIntrospection(xml)).toThrow(why);
  });
});
