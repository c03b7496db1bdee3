import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EngineErrorCode, InvalidNameError } from './errors.js';
import {
  assertGroupName,
  assertSignalName,
  groupNameProblem,
  MAX_NAME_LENGTH,
  signalNameProblem,
} from './names.js';

// Group names follow D-Bus well-known names. Each invalid row names the reason the engine gives,
// so a change of grammar shows up here as a changed row, not as a surprise on the wire.
const validGroupNames = [
  'org.example.Battery',
  'a.b',
  'A.B',
  '_.-',
  'org.example-app.v2',
  'com.example._private',
  'net.example.-dash',
  'a0.b1.c2',
  `a.${'b'.repeat(MAX_NAME_LENGTH - 2)}`,
];

const invalidGroupNames: readonly (readonly [name: string, reason: string])[] = [
  ['', 'empty'],
  [`a.${'b'.repeat(MAX_NAME_LENGTH - 1)}`, `longer than ${MAX_NAME_LENGTH} characters`],
  [':1.5', 'names starting with ":" are unique connection names'],
  [':org.example', 'names starting with ":" are unique connection names'],
  ['battery', 'needs at least two dot-separated elements'],
  ['org_example', 'needs at least two dot-separated elements'],
  ['.org.example', 'empty element'],
  ['org.example.', 'empty element'],
  ['org..example', 'empty element'],
  ['.', 'empty element'],
  ['org.2example', 'an element starts with a digit'],
  ['1org.example', 'an element starts with a digit'],
  ['org.example.9', 'an element starts with a digit'],
  ['org.exa mple', 'only A-Z, a-z, 0-9, "_" and "-" are allowed in elements'],
  ['org.example/Battery', 'only A-Z, a-z, 0-9, "_" and "-" are allowed in elements'],
  ['org.exämple', 'only A-Z, a-z, 0-9, "_" and "-" are allowed in elements'],
  ['org.example*', 'only A-Z, a-z, 0-9, "_" and "-" are allowed in elements'],
];

const validSignalNames = [
  'LevelChanged',
  'a',
  '_',
  '_private',
  'x1',
  'ALL_CAPS_2',
  'S'.repeat(MAX_NAME_LENGTH),
];

const invalidSignalNames: readonly (readonly [name: string, reason: string])[] = [
  ['', 'empty'],
  ['S'.repeat(MAX_NAME_LENGTH + 1), `longer than ${MAX_NAME_LENGTH} characters`],
  ['1st', 'must be an identifier: A-Z, a-z, 0-9 and "_", not starting with a digit'],
  ['level-changed', 'must be an identifier: A-Z, a-z, 0-9 and "_", not starting with a digit'],
  ['org.Level', 'must be an identifier: A-Z, a-z, 0-9 and "_", not starting with a digit'],
  ['has space', 'must be an identifier: A-Z, a-z, 0-9 and "_", not starting with a digit'],
  ['é', 'must be an identifier: A-Z, a-z, 0-9 and "_", not starting with a digit'],
];

describe('group names', () => {
  it.each(validGroupNames)('accepts %j', (name) => {
    expect(groupNameProblem(name)).toBeUndefined();
    expect(() => assertGroupName(name)).not.toThrow();
  });

  it.each(invalidGroupNames)('rejects %j: %s', (name, reason) => {
    expect(groupNameProblem(name)).toBe(reason);
    expect(() => assertGroupName(name)).toThrow(InvalidNameError);
  });

  it('raises INVALID_NAME with the kind and the offending value', () => {
    let thrown: unknown;
    try {
      assertGroupName('battery');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: EngineErrorCode.INVALID_NAME, kind: 'group', value: 'battery' });
  });

  it('rejects a non-string without throwing anything but INVALID_NAME', () => {
    expect(groupNameProblem(42 as unknown as string)).toBe('empty');
    expect(() => assertGroupName(undefined as unknown as string)).toThrow(InvalidNameError);
  });

  it('agrees with a reference grammar on arbitrary strings', () => {
    // The grammar spelled out independently: split on dots, check each element.
    const element = /^[A-Za-z_-][A-Za-z0-9_-]*$/;
    const reference = (name: string): boolean =>
      name.length > 0 &&
      name.length <= MAX_NAME_LENGTH &&
      name.split('.').length >= 2 &&
      name.split('.').every((e) => element.test(e));
    const alphabet = fc.constantFrom('a', 'Z', '_', '-', '0', '9', '.', ':', ' ', 'é');
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 12 }), (name) => {
        expect(groupNameProblem(name) === undefined).toBe(reference(name));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('signal names', () => {
  it.each(validSignalNames)('accepts %j', (name) => {
    expect(signalNameProblem(name)).toBeUndefined();
    expect(() => assertSignalName(name)).not.toThrow();
  });

  it.each(invalidSignalNames)('rejects %j: %s', (name, reason) => {
    expect(signalNameProblem(name)).toBe(reason);
    let thrown: unknown;
    try {
      assertSignalName(name);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: EngineErrorCode.INVALID_NAME, kind: 'signal' });
  });
});
