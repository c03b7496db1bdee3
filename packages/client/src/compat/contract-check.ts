/*
 * The SDK's side of compatibility: before a typed join or call, the group's published schema is
 * fetched (GetGroupSchema on org.chorus.Bus) and compared with this app's contract. A join
 * fetches it afresh; calls share one fetch per group until the connection is replaced or the
 * service goes away (SERVICE_UNKNOWN, NO_REPLY), so a call costs a round trip once, not each
 * time. Groups joined at connect (`connect({ join })`) are checked once the handshake is done
 * (checkAutoJoins). Untyped joins and calls, groups published without a schema, and groups the bus does not
 * know (the join or call then gets the bus's own answer) are not checked.
 */

import { contractJsonSchema, ErrorCode } from '@chorus/protocol';
import { BUS_NAME } from '../bus-contract.js';
import type { AnyGroupContract } from '../contract.js';
import { type ContractIssue, IncompatibleContractError, isChorusError } from '../errors.js';
import type { AutoJoin } from '../options.js';
import { compareCall, compareJoin } from './contract-compare.js';

interface Published {
  readonly schema: unknown;
  /** Verdicts of calls against this schema, by contract and method. */
  readonly calls: WeakMap<AnyGroupContract, Map<string, ContractIssue[]>>;
}

// Answers that mean "nothing to compare with", not "the check failed": the group is not there
// (yet), the bus will not show its schema, or it is an older bus without GetGroupSchema.
const NOTHING_TO_COMPARE: readonly string[] = [
  ErrorCode.UNKNOWN_GROUP,
  ErrorCode.NOT_PERMITTED,
  ErrorCode.UNKNOWN_METHOD,
];

const comparable = new WeakMap<AnyGroupContract, Record<string, unknown>>();

/**
 * The schema a contract is compared with: computed as createGroup would publish it, with the
 * places that have no JSON form marked (they compare as "cannot compare").
 */
export function comparableSchema(contract: AnyGroupContract): Record<string, unknown> {
  let schema = comparable.get(contract);
  if (schema === undefined) {
    schema = contractJsonSchema(contract.signals, contract.methods).schema;
    comparable.set(contract, schema);
  }
  return schema;
}

/**
 * Every place where `contract` does not fit the schema a group publishes: its signals as a
 * subscriber would receive them, and each of its methods as a caller would call them. Empty when
 * compatible. What `chorus check` reports.
 *
 * @example
 * ```ts
 * const issues = compareContract(Battery, await bus.getGroupSchema(Battery.name));
 * for (const { path, reason } of issues) console.error(`${path}: ${reason}`);
 * ```
 */
export function compareContract(contract: AnyGroupContract, published: unknown): ContractIssue[] {
  const own = comparableSchema(contract);
  return [
    ...compareJoin(published, own),
    ...Object.keys(contract.methods).flatMap((method) => compareCall(published, own, method)),
  ];
}

/**
 * Checks the typed groups of `connect({ join })` as `join` would. They are joined in the
 * handshake and claimed by `bus.join()` without a round trip, and a claim cannot wait for an
 * answer: its held messages may already have paused reading. So they are checked here, right
 * after the welcome, when at most a handful of messages can be ahead of the answer.
 */
export async function checkAutoJoins(
  fetch: (group: string) => Promise<unknown>,
  join: readonly AutoJoin[],
): Promise<void> {
  const check = new ContractCheck(fetch);
  const contracts = join
    .map((entry) => (typeof entry === 'object' && 'group' in entry ? entry.group : entry))
    .filter((target): target is AnyGroupContract => typeof target !== 'string');
  await Promise.all(contracts.map((contract) => check.beforeJoin(contract)));
}

/** The checks of one bus connection (see the top of this file). */
export class ContractCheck {
  readonly #fetch: (group: string) => Promise<unknown>;
  readonly #published = new Map<string, Promise<Published | undefined>>();

  constructor(fetch: (group: string) => Promise<unknown>) {
    this.#fetch = fetch;
  }

  /** Forgets the fetched schemas: all of them (a new connection), or one group's. */
  forget(group?: string): void {
    if (group === undefined) this.#published.clear();
    else this.#published.delete(group);
  }

  /** Throws IncompatibleContractError when the group's publisher may send what `contract` refuses. */
  async beforeJoin(contract: AnyGroupContract): Promise<void> {
    // The bus's own group is the SDK's own contract (and fetching its schema is itself a call).
    if (contract.name === BUS_NAME) return;
    const published = await this.#load(contract.name, true);
    if (published === undefined) return;
    // [GUARANTEE: compatibility] a typed join is refused when a payload the group's publisher
    // may send could fail this contract.
    const issues = compareJoin(published.schema, comparableSchema(contract));
    if (issues.length > 0) throw new IncompatibleContractError(contract.name, issues);
  }

  /** Throws IncompatibleContractError when `method` as published does not fit `contract`'s. */
  async beforeCall(contract: AnyGroupContract, method: string): Promise<void> {
    if (contract.name === BUS_NAME) return;
    const published = await this.#load(contract.name, false);
    if (published === undefined) return;
    let verdicts = published.calls.get(contract);
    if (verdicts === undefined) {
      verdicts = new Map();
      published.calls.set(contract, verdicts);
    }
    let issues = verdicts.get(method);
    if (issues === undefined) {
      // [GUARANTEE: compatibility] caller input ⊆ service input, service output ⊆ caller output.
      issues = compareCall(published.schema, comparableSchema(contract), method);
      verdicts.set(method, issues);
    }
    if (issues.length > 0) throw new IncompatibleContractError(contract.name, issues, method);
  }

  /** A call failed: when its service went away, the next one may publish another contract. */
  callFailed(group: string, error: unknown): void {
    if (isChorusError(error, ErrorCode.SERVICE_UNKNOWN) || isChorusError(error, ErrorCode.NO_REPLY)) {
      this.forget(group);
    }
  }

  #load(group: string, fresh: boolean): Promise<Published | undefined> {
    const known = fresh ? undefined : this.#published.get(group);
    if (known !== undefined) return known;
    const loading = this.#fetch(group).then(
      (schema): Published | undefined =>
        schema === null || schema === undefined ? undefined : { schema, calls: new WeakMap() },
      (error: unknown) => {
        if (isChorusError(error) && NOTHING_TO_COMPARE.includes(error.code)) return undefined;
        // Not an answer about the group (a lost connection, a timeout): ask again next time.
        if (this.#published.get(group) === loading) this.#published.delete(group);
        throw error;
      },
    );
    this.#published.set(group, loading);
    return loading;
  }
}
