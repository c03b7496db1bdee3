/**
 * Access control, like dbus-daemon's <policy> but simpler: a list of rules, each allowing or
 * denying some actions to some identities on some transports for names matching a pattern.
 * Rules are read in order and the last one that matches decides (as in dbus-daemon); when
 * none matches, the action is denied.
 *
 * Identities: `owner` is a Unix-socket client that presented no token (the socket's mode
 * already admits only its owner); `ws` is a WebSocket client with the daemon's default token;
 * any other identity is the name of a token from the config, presented at hello (Unix socket)
 * or at the upgrade (WebSocket).
 */

export const ACTIONS = ['own-name', 'create-group', 'join', 'emit', 'call', 'monitor'] as const;
export type Action = (typeof ACTIONS)[number];

export type Transport = 'unix' | 'ws';

export interface PolicyRule {
  readonly effect: 'allow' | 'deny';
  /** Actions the rule is about; `*` for all. */
  readonly actions: readonly Action[] | '*';
  /** Identities the rule is about; `*` (default) for all. */
  readonly identity?: string | readonly string[];
  readonly transport?: Transport;
  /** A name pattern: `*` matches one dot-separated element, `**` (or a trailing `.**`) any number. */
  readonly name?: string;
}

export interface PolicyOptions {
  readonly rules: readonly PolicyRule[];
  /**
   * Only the primary owner of a well-known name may create groups named by it or under it
   * (`org.example.Battery` and `org.example.Battery.*`).
   */
  readonly groupsRequireName: boolean;
}

/** The built-in rules: the socket's owner and the default WebSocket token may do everything. */
export const defaultRules: readonly PolicyRule[] = Object.freeze([
  { effect: 'allow', actions: '*', identity: ['owner', 'ws'] },
]);

export interface Decision {
  readonly allowed: boolean;
  /** Index of the deciding rule in the rule list, or -1 when none matched. */
  readonly rule: number;
}

interface CompiledRule {
  readonly effect: 'allow' | 'deny';
  readonly actions: ReadonlySet<Action> | undefined;
  readonly identities: ReadonlySet<string> | undefined;
  readonly transport: Transport | undefined;
  readonly name: RegExp | undefined;
}

export class Policy {
  readonly groupsRequireName: boolean;
  readonly #rules: CompiledRule[];

  constructor(options: PolicyOptions) {
    this.groupsRequireName = options.groupsRequireName;
    this.#rules = options.rules.map(compileRule);
  }

  decide(identity: string, transport: Transport, action: Action, name: string): Decision {
    // [GUARANTEE: access] the last matching rule decides; no match denies.
    for (let i = this.#rules.length - 1; i >= 0; i--) {
      const rule = this.#rules[i] as CompiledRule;
      if (rule.actions !== undefined && !rule.actions.has(action)) continue;
      if (rule.identities !== undefined && !rule.identities.has(identity)) continue;
      if (rule.transport !== undefined && rule.transport !== transport) continue;
      if (rule.name !== undefined && !rule.name.test(name)) continue;
      return { allowed: rule.effect === 'allow', rule: i };
    }
    return { allowed: false, rule: -1 };
  }
}

function compileRule(rule: PolicyRule): CompiledRule {
  const identities =
    rule.identity === undefined || rule.identity === '*' ? undefined : [rule.identity].flat();
  return {
    effect: rule.effect,
    actions: rule.actions === '*' ? undefined : new Set(rule.actions),
    identities: identities === undefined ? undefined : new Set(identities),
    transport: rule.transport,
    name: rule.name === undefined || rule.name === '**' ? undefined : compilePattern(rule.name),
  };
}

/** `org.example.*` matches `org.example.Battery`; `org.example.**` also `org.example.a.b` and `org.example`. */
export function compilePattern(pattern: string): RegExp {
  const parts = pattern.split('.');
  let source = '';
  parts.forEach((part, index) => {
    const dot = index === 0 ? '' : '\\.';
    if (part === '**') {
      source += index === 0 ? '(?:[^.]+(?:\\.[^.]+)*)?' : '(?:\\.[^.]+)*';
    } else if (part === '*') {
      source += `${dot}[^.]+`;
    } else {
      source += dot + part.replace(/[\\^$+?()[\]{}|]/g, '\\$&').replace(/\*/g, '[^.]*');
    }
  });
  return new RegExp(`^${source}$`);
}

/** Whether a well-known name `owned` covers the group name `group` (it or a name under it). */
export function nameCovers(owned: string, group: string): boolean {
  return group === owned || group.startsWith(`${owned}.`);
}
