import { defineGroup } from '@chorus/client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BridgeErrorCode } from './errors.js';
import { groupName, memberName, parseGroupName } from './naming.js';

describe('groupName', () => {
  it('names UPower’s display device readably', () => {
    expect(
      groupName(
        'dbus.system',
        'org.freedesktop.UPower',
        '/org/freedesktop/UPower/devices/DisplayDevice',
        'org.freedesktop.UPower.Device',
      ),
    ).toBe(
      'dbus.system.org.freedesktop.UPower._.org.freedesktop.UPower.devices.DisplayDevice._.org.freedesktop.UPower.Device',
    );
  });
  it('escapes elements that start with a digit or "_", and names the root path', () => {
    expect(groupName('dbus', 'a._b', '/0/_x', 'c.D')).toBe('dbus.a.__b._._0.__x._.c.D');
    expect(groupName('dbus', 'a.b', '/', 'c.D')).toBe('dbus.a.b._._.c.D');
  });
  const element = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,5}$/);
  const pathElement = fc.stringMatching(/^[A-Za-z0-9_]{1,5}$/);
  const triple = fc.record({
    service: fc
      .array(fc.stringMatching(/^[A-Za-z_-][A-Za-z0-9_-]{0,5}$/), { minLength: 2, maxLength: 4 })
      .map((e) => e.join('.')),
    path: fc.array(pathElement, { maxLength: 4 }).map((e) => `/${e.join('/')}`),
    iface: fc.array(element, { minLength: 2, maxLength: 4 }).map((e) => e.join('.')),
  });
  it('is a valid group name, and decodes back to what it names (so no two collide)', () => {
    fc.assert(
      fc.property(triple, ({ service, path, iface }) => {
        const name = groupName('dbus.session', service, path, iface);
        expect(() => defineGroup(name, {})).not.toThrow(); // the SDK checks the bus's name grammar
        expect(parseGroupName('dbus.session', name)).toEqual({ service, path, iface });
      }),
      { numRuns: 500 },
    );
  });
  it('refuses a name longer than Chorus allows, rather than shortening it', () => {
    expect(() => groupName('dbus', 'a.b', `/${'x'.repeat(250)}`, 'c.D')).toThrow(
      expect.objectContaining({ code: BridgeErrorCode.NAME_TOO_LONG }),
    );
  });
});

describe('memberName', () => {
  it('keeps D-Bus names, and escapes the bridge’s own and the SDK’s event names', () => {
    expect(memberName('Changed')).toBe('Changed');
    expect(memberName('Properties')).toBe('Signal_Properties');
    expect(memberName('PropertiesChanged')).toBe('Signal_PropertiesChanged');
    expect(memberName('ServiceOwner')).toBe('Signal_ServiceOwner');
    expect(memberName('gap')).toBe('Signal_gap');
    expect(memberName('Signal_X')).toBe('Signal_Signal_X');
  });
});
