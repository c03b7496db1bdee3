import { describe, expect, it } from 'vitest';
import { parseConfig, resolveAccess } from './config.js';
import { compilePattern, defaultRules, nameCovers, Policy } from './policy.js';

describe('name patterns', () => {
  it.each([
    ['org.example.*', 'org.example.Battery', true],
    ['org.example.*', 'org.example.Battery.Cell', false],
    ['org.example.**', 'org.example.Battery.Cell', true],
    ['org.example.**', 'org.example', true],
    ['org.example.**', 'org.examples.X', false],
    ['**', 'anything.at.all', true],
    ['org.*.Battery', 'org.acme.Battery', true],
    ['org.example.Bat*', 'org.example.Battery', true],
    ['org.example.Battery', 'org.example.Battery', true],
    ['org.example.Battery', 'org.example.BatteryX', false],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(compilePattern(pattern).test(name)).toBe(expected);
  });

  it('knows which groups a name covers', () => {
    expect(nameCovers('org.example', 'org.example.Battery')).toBe(true);
    expect(nameCovers('org.example.Battery', 'org.example.Battery')).toBe(true);
    expect(nameCovers('org.example', 'org.examples.Battery')).toBe(false);
  });
});

describe('Policy', () => {
  it('lets the socket owner and the default WebSocket token do everything by default, and nobody else', () => {
    const policy = new Policy({ rules: defaultRules, groupsRequireName: false });
    expect(policy.decide('owner', 'unix', 'emit', 'org.a.B').allowed).toBe(true);
    expect(policy.decide('ws', 'ws', 'monitor', '*').allowed).toBe(true);
    expect(policy.decide('app', 'unix', 'join', 'org.a.B')).toEqual({ allowed: false, rule: -1 });
  });

  it('lets the last matching rule decide, by action, identity, transport and name', () => {
    const policy = new Policy({
      groupsRequireName: false,
      rules: [
        ...defaultRules,
        { effect: 'allow', actions: ['join', 'monitor'], identity: 'reader' },
        { effect: 'allow', actions: ['emit'], identity: 'app', name: 'org.app.**' },
        { effect: 'deny', actions: '*', transport: 'ws', name: 'org.secret.**' },
      ],
    });
    expect(policy.decide('reader', 'ws', 'join', 'org.a.B').allowed).toBe(true);
    expect(policy.decide('reader', 'ws', 'emit', 'org.a.B').allowed).toBe(false);
    expect(policy.decide('app', 'unix', 'emit', 'org.app.Thing').allowed).toBe(true);
    expect(policy.decide('app', 'unix', 'emit', 'org.other.Thing').allowed).toBe(false);
    expect(policy.decide('ws', 'ws', 'join', 'org.secret.Keys')).toEqual({ allowed: false, rule: 3 });
    expect(policy.decide('owner', 'unix', 'join', 'org.secret.Keys').allowed).toBe(true);
  });
});

describe('config', () => {
  it('names the bad key and its line', () => {
    const text = '{\n  "limits": {\n    "maxQueueBytes": -5\n  }\n}\n';
    expect(() => parseConfig(text, 'c.json')).toThrow(/limits\.maxQueueBytes \(line 3\)/);
    expect(() => parseConfig('{\n "nope": 1\n}', 'c.json')).toThrow(/unrecognized|nope/i);
    expect(() => parseConfig('{\n "limits": {\n', 'c.json')).toThrow(/not valid JSON/);
    const rules =
      '{\n "policy": {\n  "rules": [\n   { "effect": "allow", "actions": "*" },\n   { "effect": "maybe", "actions": "*" }\n  ]\n }\n}';
    expect(() => parseConfig(rules, 'c.json')).toThrow(/policy\.rules\.1\.effect \(line 5\)/);
  });

  it('turns named tokens into identities and refuses the built-in names', async () => {
    const access = await resolveAccess(
      parseConfig(JSON.stringify({ tokens: { monitor: { value: 'read-only-token-0123' } } }), 'c.json'),
    );
    expect(access.tokens.get('read-only-token-0123')).toBe('monitor');
    expect(() =>
      parseConfig(JSON.stringify({ tokens: { owner: { value: 'x'.repeat(16) } } }), 'c.json'),
    ).toThrow(/built-in/);
  });
});
