import { type Engine, NotPermittedError } from '@chorus/core';
import type { CallRequest } from '@chorus/protocol';
import { checkCall } from './call-access.js';
import type { CallParty } from './call-router.js';
import type { Access } from './config.js';
import type { Counters } from './counters.js';
import type { Logger } from './logger.js';
import { type Action, defaultRules, nameCovers, Policy, type Transport } from './policy.js';

/** Who asks: what the policy (identity, transport) and the log (name) know of a connection. */
export interface Requester {
  /** The engine's connection id (0 before hello). */
  readonly id: number;
  /** The unique bus name, `:1.N` ('' before hello). */
  readonly name: string;
  readonly identity: string;
  readonly transport: Transport;
}

/** What a call reaches, as the daemon knows it. */
export interface CallReach {
  readonly engine: Engine<Uint8Array>;
  /** The connection `id` if it may answer calls (it is open and no monitor). */
  answering(id: number): CallParty | undefined;
}

/**
 * Access control: which identity a token stands for, and what the policy lets a connection do.
 * It is the one place that decides and that counts (and logs) a denial; `policy.ts` only
 * compiles and matches the rules. The policy and tokens are replaced at once on SIGHUP (`replace`).
 */
export class AccessControl {
  #access: Access;
  /** Bumped on every replacement, so cached decisions (EmitGate) know they are stale. */
  #version = 0;
  readonly #counters: Counters;
  readonly #log: Logger;

  constructor(access: Access | undefined, counters: Counters, log: Logger) {
    this.#access = access ?? {
      policy: new Policy({ rules: defaultRules, groupsRequireName: false }),
      tokens: new Map(),
    };
    this.#counters = counters;
    this.#log = log;
  }

  get version(): number {
    return this.#version;
  }

  /** Replaces the policy and tokens in one step; the daemon then ends what they no longer allow. */
  replace(access: Access): void {
    this.#access = access;
    this.#version++;
  }

  /** The identity a token stands for: a named token's name, or undefined if unknown. */
  identityOf(token: string): string | undefined {
    return this.#access.tokens.get(token);
  }

  /** The identity a token presented at hello stands for; an unknown one is a denial, counted. */
  identify(token: string): string | undefined {
    const identity = this.identityOf(token);
    if (identity === undefined) this.#counters.count('policyDenials');
    return identity;
  }

  /** Whether the policy lets `who` do `action` on `name`; a denial is counted and logged. */
  permits(who: Requester, action: Action, name: string): boolean {
    // [GUARANTEE: access] the last matching rule decides; a denial is counted and logged.
    const allowed = this.allows(who, action, name);
    if (!allowed) {
      this.#counters.count('policyDenials');
      this.#log.info('policy denied', { conn: who.name, identity: who.identity, action, name });
    }
    return allowed;
  }

  /** The policy's answer alone, not counted: for filtering what a client sees rather than refusing it. */
  allows(who: Pick<Requester, 'identity' | 'transport'>, action: Action, name: string): boolean {
    return this.#access.policy.decide(who.identity, who.transport, action, name).allowed;
  }

  /** Throws NOT_PERMITTED unless the policy allows `action` on `name`. */
  require(who: Requester, action: Action, name: string): void {
    // [GUARANTEE: access] every action goes through the policy.
    if (!this.permits(who, action, name))
      throw new NotPermittedError(name, denied(who.identity, action, name));
  }

  /**
   * Throws NOT_PERMITTED unless `who` may create `group`: the policy's `create-group`, and with
   * groupsRequireName, the primary ownership of the group's name or of a name above it.
   */
  requireCreate(who: Requester, group: string, engine: Engine<Uint8Array>): void {
    this.require(who, 'create-group', group);
    if (!this.#access.policy.groupsRequireName) return;
    const names = engine.connection(who.id)?.names ?? [];
    if (names.some((name) => nameCovers(name, group))) return;
    this.#counters.count('policyDenials');
    throw new NotPermittedError(
      group,
      `only the primary owner of '${group}' (or of a name above it) may create it`,
    );
  }

  /** Checks a call against what it reaches (see checkCall); returns it with its interface `g`. */
  requireCall(who: Requester, message: CallRequest, reach: CallReach): CallRequest {
    return checkCall(message, {
      require: (name) => this.require(who, 'call', name),
      callee: (dest) => {
        const owner = reach.engine.nameOwner(dest);
        return owner === undefined ? undefined : reach.answering(owner);
      },
      names: (id) => reach.engine.connection(id)?.names ?? [],
    });
  }

  /** What `who` may watch as a monitor of everything, under the policy of now. */
  monitorFilter(who: Pick<Requester, 'identity' | 'transport'>): (group: string) => boolean {
    const { identity, transport } = who;
    const { policy } = this.#access;
    // The policy object of this moment: a reload replaces the predicate (Session.accessChanged).
    return (group) => policy.decide(identity, transport, 'monitor', group).allowed;
  }

  /** The emit decisions of one connection, remembered per group until the policy changes. */
  emitGate(who: Requester): EmitGate {
    return new EmitGate(this, this.#counters, who);
  }
}

/**
 * One connection's emit decisions by group: an emit is decided once per group and policy, not
 * once per message. A denial is counted every time; it is logged when decided.
 */
export class EmitGate {
  readonly #control: AccessControl;
  readonly #counters: Counters;
  readonly #who: Requester;
  readonly #allowed = new Map<string, boolean>();
  /** The AccessControl version the decisions were made under. */
  #version = -1;

  constructor(control: AccessControl, counters: Counters, who: Requester) {
    this.#control = control;
    this.#counters = counters;
    this.#who = who;
  }

  /** Throws NOT_PERMITTED unless the connection may emit on `group`. */
  require(group: string): void {
    const control = this.#control;
    if (this.#version !== control.version) {
      this.#allowed.clear();
      this.#version = control.version;
    }
    let allowed = this.#allowed.get(group);
    if (allowed === undefined) {
      allowed = control.permits(this.#who, 'emit', group);
      // Bounded: a client cycling through group names gets decided afresh, not remembered.
      if (this.#allowed.size < 1024) this.#allowed.set(group, allowed);
    } else if (!allowed) {
      this.#counters.count('policyDenials');
    }
    if (!allowed) throw new NotPermittedError(group, denied(this.#who.identity, 'emit', group));
  }
}

/** The NOT_PERMITTED message: who may not do what. */
export function denied(identity: string, action: Action, name: string): string {
  return `the policy does not let '${identity}' ${action} '${name}'`;
}
