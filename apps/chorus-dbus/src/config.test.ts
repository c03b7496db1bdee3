import { describe, expect, it } from 'vitest';
import { parseConfig, resolveSettings } from './config.js';
import { BridgeErrorCode } from './errors.js';

describe('config', () => {
  it('takes every key as optional', () => {
    expect(parseConfig('{}', 'c.json')).toEqual({});
    expect(resolveSettings(parseConfig('{}', 'c.json'), {})).toMatchObject({
      dbus: 'session',
      prefix: 'dbus.session',
      imports: [],
    });
  });
  it('names an unknown key and its line', () => {
    const text = '{\n  "dbus": "system",\n  "imports": ["org.freedesktop.UPower"]\n}';
    expect(() => parseConfig(text, 'c.json')).toThrow(
      expect.objectContaining({ code: BridgeErrorCode.CONFIG_INVALID }),
    );
    expect(() => parseConfig(text, 'c.json')).toThrow(/line 3.*imports/);
  });
  it('names a bad value and its line', () => {
    const text = '{\n  "import": [\n    { "service": "org.freedesktop.UPower", "paths": ["nope"] }\n  ]\n}';
    expect(() => parseConfig(text, 'c.json')).toThrow(/import\.0\.paths\.0 \(line 3\)/);
  });
  it('merges flags over the file; --import takes NAME or NAME:/paths', () => {
    const config = parseConfig('{"dbus":"session","import":["org.example.A"]}', 'c.json');
    const settings = resolveSettings(config, {
      dbus: 'system',
      import: ['org.freedesktop.UPower:/org/freedesktop/UPower/devices/DisplayDevice'],
    });
    expect(settings.prefix).toBe('dbus.system');
    expect(settings.imports).toEqual([
      { service: 'org.example.A' },
      { service: 'org.freedesktop.UPower', paths: ['/org/freedesktop/UPower/devices/DisplayDevice'] },
    ]);
    expect(() => resolveSettings(undefined, { import: ['nope'] })).toThrow(
      expect.objectContaining({ code: BridgeErrorCode.CONFIG_INVALID }),
    );
  });
});
