import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type AnyGroupContract,
  type Bus,
  type ContractIssue,
  compareContract,
  ErrorCode,
  isChorusError,
} from '@chorus/client';
import type { Command } from '../command.js';
import { CliErrorCode, ExitCode, UsageError } from '../errors.js';

/** What `chorus check` found for one group. */
export interface GroupCheck {
  readonly group: string;
  readonly result: 'compatible' | 'incompatible' | 'missing' | 'untyped';
  readonly issues: readonly ContractIssue[];
}

/** `chorus check MODULE [--group G]...`: an app's contracts against what a running bus publishes. */
export const check: Command = {
  name: 'check',
  args: [{ name: 'MODULE' }],
  summary: "Check an app's contracts against the ones the bus publishes",
  description: `Imports MODULE (a .js or .mjs file exporting contracts made with defineGroup), and
compares each contract with the schema its group publishes on the running bus, by the rules a
typed join and a typed call use: every signal the contract handles must be declared by the
group, and each payload the group may send must pass the contract; for each method, the
contract's input must pass the service's and the service's output must pass the contract's.
Prints each group's result and, for each incompatibility, its path and reason.

--json prints {module, groups: [{group, result, issues: [{path, reason}]}]}, result being
compatible, incompatible, missing (no such group on the bus) or untyped (published without
a schema: nothing to compare with).

Exit status 0 when every group is compatible, 1 otherwise (for CI pipelines), 2 when MODULE
cannot be loaded or exports no contract (or --group names none of them).`,
  options: { group: { type: 'string', multiple: true } },
  optionHelp: [['--group G', 'Check only the contract of group G (repeat for several)']],
  async run(context, line) {
    const path = line.positionals[0] ?? '';
    const contracts = selected(await contractsOf(path), line.values['group'], path);
    const bus = await context.connect();
    const checks: GroupCheck[] = [];
    for (const contract of contracts) checks.push(await checkOne(bus, contract));
    if (context.json) {
      context.printJson({ module: path, groups: checks });
    } else {
      const { style } = context;
      for (const { group, result, issues } of checks) {
        const colour = result === 'compatible' ? style.green : style.red;
        context.print(`${style.bold(group)}  ${colour(describe(result))}`);
        for (const issue of issues) context.print(`  ${issue.path || '(value)'}: ${issue.reason}`);
      }
    }
    return checks.every((one) => one.result === 'compatible') ? ExitCode.OK : ExitCode.FAILED;
  },
};

function describe(result: GroupCheck['result']): string {
  switch (result) {
    case 'missing':
      return 'not on the bus (no such group: is its service running?)';
    case 'untyped':
      return 'published without a schema: nothing to compare with';
    default:
      return result;
  }
}

async function checkOne(bus: Bus, contract: AnyGroupContract): Promise<GroupCheck> {
  let published: unknown;
  try {
    published = await bus.getGroupSchema(contract.name);
  } catch (error) {
    if (isChorusError(error, ErrorCode.UNKNOWN_GROUP))
      return { group: contract.name, result: 'missing', issues: [] };
    throw error;
  }
  if (published === null || published === undefined)
    return { group: contract.name, result: 'untyped', issues: [] };
  const issues = compareContract(contract, published);
  return { group: contract.name, result: issues.length === 0 ? 'compatible' : 'incompatible', issues };
}

/** The contracts a module exports (directly, or as properties of its default export). */
async function contractsOf(path: string): Promise<AnyGroupContract[]> {
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new UsageError(`cannot load ${path}: ${why}`, CliErrorCode.BAD_MODULE, 'check');
  }
  const found = new Map<string, AnyGroupContract>();
  const candidates = [...Object.values(exports)];
  const fallback = exports['default'];
  if (typeof fallback === 'object' && fallback !== null) candidates.push(...Object.values(fallback));
  for (const value of candidates) if (isContract(value)) found.set(value.name, value);
  if (found.size === 0) {
    throw new UsageError(
      `${path} exports no contract (export the values defineGroup returns)`,
      CliErrorCode.BAD_MODULE,
      'check',
    );
  }
  return [...found.values()];
}

function selected(contracts: AnyGroupContract[], groups: unknown, path: string): AnyGroupContract[] {
  if (!Array.isArray(groups) || groups.length === 0) return contracts;
  return groups.map((group) => {
    const contract = contracts.find((one) => one.name === group);
    if (contract === undefined) {
      const names = contracts.map((one) => one.name).join(', ');
      throw new UsageError(
        `${path} has no contract for ${String(group)} (it has ${names})`,
        CliErrorCode.BAD_MODULE,
        'check',
      );
    }
    return contract;
  });
}

// Duck-typed: the module may hold another copy of @chorus/client than this CLI.
function isContract(value: unknown): value is AnyGroupContract {
  if (typeof value !== 'object' || value === null) return false;
  const contract = value as Partial<Record<keyof AnyGroupContract, unknown>>;
  return (
    typeof contract.name === 'string' &&
    typeof contract.signals === 'object' &&
    typeof contract.methods === 'object' &&
    typeof contract.schemaFor === 'function' &&
    typeof contract.methodFor === 'function'
  );
}
